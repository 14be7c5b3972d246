using QcPipeline.Dicom;
using QcPipeline.Phantoms.Mr;

namespace QcPipeline.Phantoms.Tests;

public class MrPhantomTests
{
    [Fact]
    public void Files_pass_dcmftest_and_read_back()
    {
        var series = MrPhantom.Generate(new MrOptions());
        var dir = TestSupport.TempDir("mr");
        series.WriteTo(dir);
        var files = series.Images.Select(i => Path.Combine(dir, i.FileName)).ToArray();
        var (code, output) = TestSupport.Run("dcmftest", files);
        Assert.True(code == 0 && !output.Contains("no:"), output);
        for (int i = 0; i < files.Length; i++) Assert.Equal(series.Images[i].Noisy, TestSupport.Decode(files[i]));
        using var f = DicomFile.Open(files[0]);
        Assert.Equal(1.5, f.Dataset.GetDoubleOrDefault(DicomTags.MagneticFieldStrength));
        Assert.Equal(DicomUids.MRImageStorage, f.Dataset.GetString(DicomTags.SOPClassUID));
    }

    [Fact]
    public void Truth_matches_an_independent_computation_and_the_noisy_estimates()
    {
        var o = new MrOptions { GhostAmplitude = 0.03 };
        var series = MrPhantom.Generate(o);
        var t = series.Manifest.Truth;
        var img = series.Images[0].Noiseless;
        int n = 256;
        double ps = 250.0 / n, c = 127.5, large = Math.Sqrt(0.75) * 95 / ps;
        double mean = TestSupport.CircleMean(img, n, c, c, large);
        Assert.Equal(mean / 10, t[MrPhantom.Snr].Value, 9);
        Assert.InRange(t[MrPhantom.Snr].PerImage![0], t[MrPhantom.Snr].Value * 0.95, t[MrPhantom.Snr].Value * 1.05);

        // PIU from the reported high/low ROIs, recomputed independently.
        var rois = t[MrPhantom.Piu].Rois!;
        double hi = TestSupport.CircleMean(img, n, rois[1].X, rois[1].Y, rois[1].Radius), lo = TestSupport.CircleMean(img, n, rois[2].X, rois[2].Y, rois[2].Radius);
        Assert.Equal(100 * (1 - (hi - lo) / (hi + lo)), t[MrPhantom.Piu].Value, 9);
        Assert.InRange(t[MrPhantom.Piu].Value, 87.5, 99.5);

        // Ghosting: the N/2 ghost sits in the top and bottom background bands.
        var bg = t[MrPhantom.Ghosting].Rois!.Skip(1).Select(r => TestSupport.RectMean(img, n, r)).ToArray();
        Assert.Equal(Math.Abs((bg[0] + bg[1] - bg[2] - bg[3]) / (2 * mean)) * 100, t[MrPhantom.Ghosting].Value, 9);
        Assert.InRange(t[MrPhantom.Ghosting].Value, 1.5, 3.5);
        Assert.Equal(0, bg[2]);
    }

    [Fact]
    public void Shading_lowers_piu()
    {
        double Piu(double q) => MrPhantom.Generate(new MrOptions { ShadingQuadratic = q, ImageCount = 1 }).Manifest.Truth[MrPhantom.Piu].Value;
        Assert.True(Piu(0.15) < Piu(0.02));
    }
}
