using System.Diagnostics;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;

namespace QcPipeline.Phantoms.Tests;

internal static class TestSupport
{
    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "qc-phantoms-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Modality values as the toolkit decodes them (MONOCHROME1 normalised to MONOCHROME2 sense).</summary>
    public static float[] Decode(string path)
    {
        using var file = DicomFile.Open(path);
        return DicomPixelData.Create(file.Dataset).GetModalityFrame(0, file.TransferSyntax);
    }

    public static (int ExitCode, string Output) Run(string tool, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(); throw new TimeoutException(tool); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Independent ROI mean: scans the whole image with its own membership test (centre inside the circle).</summary>
    public static double CircleMean(float[] px, int w, double cx, double cy, double r)
    {
        double sum = 0; long n = 0;
        for (int i = 0; i < px.Length; i++)
        {
            int x = i % w, y = i / w;
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) { sum += px[i]; n++; }
        }
        return sum / n;
    }

    public static double RectMean(float[] px, int w, TruthRoi roi)
    {
        double sum = 0; long n = 0;
        for (int i = 0; i < px.Length; i++)
        {
            int x = i % w, y = i / w;
            if (x >= roi.X && x < roi.X + roi.Width && y >= roi.Y && y < roi.Y + roi.Height) { sum += px[i]; n++; }
        }
        return sum / n;
    }
}
