using System.Diagnostics;
using System.Text;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Phantoms;

namespace QcPipeline.Analysis.Tests.Truth;

/// <summary>The real DICOM path for simulator output: dataset → Part 10 bytes → <see cref="DicomFile.Read(byte[], DicomReadOptions?)"/>
/// → <see cref="AnalysisImage.FromDicom"/>. Nothing here reads the simulator's float arrays: the analyses see only what a
/// file carries.</summary>
internal static class TruthSupport
{
    public static byte[] ToBytes(DicomDataset dataset, TransferSyntax? syntax = null)
    {
        var file = new DicomFile(dataset);
        syntax ??= TransferSyntax.ExplicitVRLittleEndian;
        if (syntax.IsEncapsulated) file = DicomTranscoder.Transcode(file, syntax);
        return file.ToBytes(syntax);
    }

    public static AnalysisImage FromBytes(byte[] bytes)
    {
        using var file = DicomFile.Read(bytes);
        return AnalysisImage.FromDicom(file);
    }

    public static AnalysisImage RoundTrip(DicomDataset dataset, TransferSyntax? syntax = null) => FromBytes(ToBytes(dataset, syntax));

    public static AnalysisImage RoundTrip(SimulatedImage image) => RoundTrip(image.Dataset);

    public static List<AnalysisImage> RoundTrip(PhantomSeries series) => series.Images.Select(RoundTrip).ToList();

    public static MetricResult Metric(AnalysisResult r, string name) =>
        r.Metrics.SingleOrDefault(m => m.Name == name) ?? throw new Xunit.Sdk.XunitException($"no metric {name} in {r.Profile} (inconclusive: {r.InconclusiveReason})");

    public static double Value(AnalysisResult r, string name) =>
        Metric(r, name).Value ?? throw new Xunit.Sdk.XunitException($"{name} has no value: {Metric(r, name).Note}");

    public static TruthValue TruthOf(PhantomSeries s, string name) => s.Manifest.Truth[name];
}

/// <summary>Runs a DCMTK command-line tool (dcmcrle, dcmcjpeg, dcmcjpls) or opj_compress as a subprocess with a
/// timeout (the same small approach as the Dicom tests' corpus helper).</summary>
internal static class Tool
{
    public sealed record Result(string Name, int ExitCode, string Output)
    {
        public override string ToString() => $"{Name} exit {ExitCode}\n{Output}";
    }

    public static bool Exists(string tool)
    {
        try { return Run(tool, ["--version"]).ExitCode is >= 0; }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    public static Result Run(string tool, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {tool}");
        p.StandardInput.Close();
        var outTask = p.StandardOutput.ReadToEndAsync();
        var errTask = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* already gone */ }
            throw new TimeoutException($"{tool} {string.Join(' ', psi.ArgumentList)} did not finish in time");
        }
        string output = outTask.GetAwaiter().GetResult() + errTask.GetAwaiter().GetResult();
        p.WaitForExit();
        return new Result(tool, p.ExitCode, output);
    }
}
