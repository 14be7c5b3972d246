using QcPipeline.Dicom;
using QcPipeline.Phantoms.Dr;

namespace QcPipeline.Phantoms.Tests;

public class DrPhantomTests
{
    private static readonly DrOptions Small = new() { Width = 200, Height = 160, PixelSpacingMm = 2 };

    [Fact]
    public void Files_pass_dcmftest_and_read_back()
    {
        var series = DrPhantom.Generate(Small with { Photometric = "MONOCHROME1", PresentationIntent = DrPresentationIntent.ForPresentation });
        var dir = TestSupport.TempDir("dr");
        series.WriteTo(dir, QcPipeline.Dicom.IO.TransferSyntax.RleLossless);
        var files = series.Images.Select(i => Path.Combine(dir, i.FileName)).ToArray();
        var (code, output) = TestSupport.Run("dcmftest", files);
        Assert.True(code == 0 && !output.Contains("no:"), output);
        for (int i = 0; i < files.Length; i++) Assert.Equal(series.Images[i].Noisy, TestSupport.Decode(files[i]));
        using var f = DicomFile.Open(files[0]);
        Assert.Equal(DicomUids.DigitalXRayImageStorageForPresentation, f.Dataset.GetString(DicomTags.SOPClassUID));
        Assert.Equal("FOR PRESENTATION", f.Dataset.GetString(DicomTags.PresentationIntentType));
        Assert.Equal(["flat", "signal-transfer", "signal-transfer", "signal-transfer", "signal-transfer", "signal-transfer", "dark", "lag-attenuator", "lag-flat"], series.Images.Select(i => i.Role).ToArray());
    }

    [Fact]
    public void Monochrome1_after_toolkit_normalisation_equals_monochrome2()
    {
        var m2 = DrPhantom.Generate(Small);
        var m1 = DrPhantom.Generate(Small with { Photometric = "MONOCHROME1" });
        for (int i = 0; i < m2.Images.Count; i++)
        {
            var d1 = QcPipeline.Dicom.Imaging.DicomPixelData.Create(m1.Datasets[i]).GetModalityFrame(0, QcPipeline.Dicom.IO.TransferSyntax.ExplicitVRLittleEndian);
            var d2 = QcPipeline.Dicom.Imaging.DicomPixelData.Create(m2.Datasets[i]).GetModalityFrame(0, QcPipeline.Dicom.IO.TransferSyntax.ExplicitVRLittleEndian);
            Assert.Equal(d2, d1);
            Assert.Equal(m2.Images[i].Noisy, d1);
        }
        Assert.Equal(m2.Manifest.Truth[DrPhantom.UniformityCv].Value, m1.Manifest.Truth[DrPhantom.UniformityCv].Value);
    }

    [Fact]
    public void Truth_matches_an_independent_computation()
    {
        var series = DrPhantom.Generate(Small with { Quadratic = 5 });
        var t = series.Manifest.Truth;
        int w = 200, s = 16;
        TruthRoi Sq(double cx, double cy) => TruthRoi.Rect("", (int)Math.Round(cx - s / 2.0), (int)Math.Round(cy - s / 2.0), s, s);
        var flat = series.Images[0].Noiseless;
        var means = new[] { Sq(100, 80), Sq(50, 40), Sq(150, 40), Sq(50, 120), Sq(150, 120) }.Select(r => TestSupport.RectMean(flat, w, r)).ToArray();
        double mean = means.Average(), sd = Math.Sqrt(means.Sum(m => (m - mean) * (m - mean)) / 4);
        Assert.Equal(sd / mean * 100, t[DrPhantom.UniformityCv].Value, 9);
        Assert.InRange(t[DrPhantom.UniformityCv].Value, 0.3, 5);

        // Signal transfer: with a quadratic term the fit is not perfect, and the truth says by how much.
        var stp = series.Images.Select((im, i) => (im, i)).Where(p => p.im.Role == "signal-transfer").ToArray();
        var x = stp.Select(p => series.Manifest.Files[p.i].AirKermaUgy!.Value).ToArray();
        var y = stp.Select(p => TestSupport.RectMean(p.im.Noiseless, w, Sq(100, 80))).ToArray();
        var fit = MathNet.Numerics.Fit.Line(x, y);
        double r2 = MathNet.Numerics.GoodnessOfFit.RSquared(x.Select(k => fit.A + fit.B * k), y);
        Assert.Equal(r2, t[DrPhantom.StpR2].Value, 9);
        Assert.True(r2 is < 0.9999 and > 0.95);

        var dark = series.Images.Single(i => i.Role == "dark").Noiseless;
        Assert.Equal(100, t[DrPhantom.DarkMean].Value, 9);
        Assert.Equal(TestSupport.RectMean(dark, w, Sq(100, 80)), t[DrPhantom.DarkMean].Value, 9);

        // Lag: residual 2 % of the first exposure's signal, 5 % transmission → about 2 % × 0.95 × S/(S + 2 % S) ≈ 1.8 %.
        var lag = series.Images.Single(i => i.Role == "lag-flat").Noiseless;
        double inner = TestSupport.RectMean(lag, w, Sq(100, 80));
        double outer = new[] { Sq(60, 80), Sq(140, 80), Sq(100, 40), Sq(100, 120) }.Average(r => TestSupport.RectMean(lag, w, r));
        Assert.Equal(Math.Abs(inner - outer) / outer * 100, t[DrPhantom.LagPercent].Value, 9);
        Assert.InRange(t[DrPhantom.LagPercent].Value, 0.3, 2.0); // the fall-off makes the surround darker and cancels part of it

        // On an ideal flat field: 1100 PV everywhere, + 2 % of (1150 − 100) inside and of (1100 − 100) outside → |1101 − 1120| / 1120.
        var ideal = DrPhantom.Generate(Small with { HeelGradient = 0, GainNonUniformity = 0, SidMm = 1e7 });
        Assert.Equal(19.0 / 1120 * 100, ideal.Manifest.Truth[DrPhantom.LagPercent].Value, 2);
    }

    [Fact]
    public void Logarithmic_detector_fits_against_ln_kerma()
    {
        var series = DrPhantom.Generate(Small with { Response = DrResponse.Logarithmic });
        Assert.True(series.Manifest.Truth[DrPhantom.StpR2].Value > 0.9999);
        Assert.Equal("LOG", series.Datasets[0].GetString(DicomTags.PixelIntensityRelationship));
    }

    [Fact]
    public void Headers_carry_exposure_proportional_to_kerma()
    {
        var series = DrPhantom.Generate(Small);
        foreach (var (ds, file) in series.Datasets.Zip(series.Manifest.Files))
            Assert.Equal(file.AirKermaUgy!.Value * 1000, ds.GetDoubleOrDefault(DicomTags.ExposureInuAs), 0.5);
        Assert.Equal("2\\2", series.Datasets[0].GetString(DicomTags.ImagerPixelSpacing));
    }
}
