using QcPipeline.Analysis.Phantoms.Dr;
using QcPipeline.Phantoms;
using QcPipeline.Phantoms.Dr;
using Xunit.Abstractions;
using static QcPipeline.Analysis.Tests.Truth.TruthSupport;

namespace QcPipeline.Analysis.Tests.Truth;

/// <summary>DR analyses on DrPhantom sessions read back from Part 10 bytes, against the manifest truth.</summary>
public class DrTruthTests(ITestOutputHelper output)
{
    internal static readonly DrOptions Base = new() { Width = 768, Height = 768 };

    internal static List<AnalysisImage> Role(PhantomSeries s, string role) =>
        s.Images.Where(i => i.Role == role).Select(RoundTrip).ToList();

    /// <summary>The true air kerma per file, keyed by SOP Instance UID (as a session's dosimeter readings would be).</summary>
    internal static Dictionary<string, double> Kerma(PhantomSeries s) =>
        s.Manifest.Files.Where(f => f.Role == "signal-transfer").ToDictionary(f => f.SopInstanceUid, f => f.AirKermaUgy!.Value);

    [Theory]
    [InlineData(0.06)]
    [InlineData(0.25)]
    public void Uniformity_cv_within_0_1_pp_of_the_truth(double heel)
    {
        var s = DrPhantom.Generate(Base with { HeelGradient = heel, IncludeSignalTransfer = false, IncludeDark = false, IncludeLag = false });
        var r = DrUniformity.Analyze(Role(s, "flat")[0]);
        var truth = TruthOf(s, DrPhantom.UniformityCv);
        double cv = Value(r, DrUniformity.CvMetric);
        output.WriteLine($"heel {heel}: CV {cv:F4} vs truth {truth.Value:F4} % (Δ {cv - truth.Value:+0.0000;-0.0000} pp, tol 0.1); perImage {truth.PerImage![0]:F4}");
        Assert.InRange(cv, truth.Value - 0.1, truth.Value + 0.1);
    }

    [Theory]
    [InlineData(DrResponse.Linear, 0.0)]
    [InlineData(DrResponse.Linear, 25.0)]
    [InlineData(DrResponse.Logarithmic, 0.0)]
    public void Signal_transfer_r2_within_0_002_with_true_kerma_and_with_kerma_from_mas(DrResponse response, double quadratic)
    {
        var s = DrPhantom.Generate(Base with { Response = response, Quadratic = quadratic, BitsStored = 16, IncludeDark = false, IncludeLag = false });
        var images = Role(s, "signal-transfer");
        var truth = TruthOf(s, DrPhantom.StpR2);
        var detector = response == DrResponse.Linear ? DetectorResponse.Linear : DetectorResponse.Logarithmic;

        var withKerma = DrSignalTransfer.Analyze(images, new DrSignalTransferOptions { Response = detector, AirKermaMicroGray = Kerma(s) });
        var fromMas = DrSignalTransfer.Analyze(images, new DrSignalTransferOptions { Response = detector });
        double a = Value(withKerma, DrSignalTransfer.R2Metric), b = Value(fromMas, DrSignalTransfer.R2Metric);
        output.WriteLine($"{response} q={quadratic}: R² {a:F6} (kerma) / {b:F6} (mAs) vs truth {truth.Value:F6} (Δ {a - truth.Value:+0.000000;-0.000000}, tol 0.002)");
        Assert.InRange(a, truth.Value - 0.002, truth.Value + 0.002);
        Assert.InRange(b, truth.Value - 0.002, truth.Value + 0.002);
        Assert.DoesNotContain(withKerma.Warnings, w => w.Contains("proportional to mAs", StringComparison.Ordinal));
        Assert.Contains(fromMas.Warnings, w => w.Contains("proportional to mAs", StringComparison.Ordinal));
    }

    [Fact]
    public void Dark_mean_matches_the_truth()
    {
        var s = DrPhantom.Generate(Base with { IncludeSignalTransfer = false, IncludeLag = false });
        var r = DrDark.Analyze(Role(s, "dark")[0]);
        var truth = TruthOf(s, DrPhantom.DarkMean);
        double m = Value(r, DrDark.MeanMetric);
        output.WriteLine($"dark mean {m:F4} vs truth {truth.Value:F4} (Δ {m - truth.Value:+0.0000;-0.0000}, manifest tol {truth.Tolerance}); perImage {truth.PerImage![0]:F4}");
        Assert.InRange(m, truth.Value - truth.Tolerance!.Value, truth.Value + truth.Tolerance.Value);
    }

    [Theory]
    [InlineData(0.02)]
    [InlineData(0.06)]
    public void Lag_within_0_2_pp_of_the_truth(double lagFraction)
    {
        var s = DrPhantom.Generate(Base with { LagFraction = lagFraction, IncludeSignalTransfer = false, IncludeDark = false });
        var r = DrLag.Analyze(Role(s, "lag-attenuator")[0], Role(s, "lag-flat")[0]);
        var truth = TruthOf(s, DrPhantom.LagPercent);
        double lag = Value(r, DrLag.LagMetric);
        output.WriteLine($"lag fraction {lagFraction}: lag {lag:F4} vs truth {truth.Value:F4} % (Δ {lag - truth.Value:+0.0000;-0.0000} pp, tol 0.2)");
        Assert.InRange(lag, truth.Value - 0.2, truth.Value + 0.2);
    }

    [Fact]
    public void For_presentation_images_are_flagged()
    {
        var s = DrPhantom.Generate(Base with { PresentationIntent = DrPresentationIntent.ForPresentation, IncludeSignalTransfer = false, IncludeDark = false });
        var flat = Role(s, "flat")[0];
        Assert.True(flat.IsForPresentation);
        Assert.Contains(DrUniformity.Analyze(flat).Warnings, w => w.Contains("For Presentation", StringComparison.Ordinal));
        Assert.Contains(DrLag.Analyze(Role(s, "lag-attenuator")[0], Role(s, "lag-flat")[0]).Warnings, w => w.Contains("For Presentation", StringComparison.Ordinal));
    }

    [Fact]
    public void Monochrome1_gives_the_same_results_as_monochrome2()
    {
        // Same seed and options: the simulator stores 2^BitsStored − 1 − PV for MONOCHROME1, so after the toolkit's
        // inversion to MONOCHROME2 sense the analyses must see exactly the same values.
        var m2 = DrPhantom.Generate(Base);
        var m1 = DrPhantom.Generate(Base with { Photometric = "MONOCHROME1" });
        Assert.Equal("MONOCHROME1", m1.Images[0].Dataset.GetString(QcPipeline.Dicom.DicomTags.PhotometricInterpretation));
        var results = new[] { m2, m1 }.Select(s => new[]
        {
            DrUniformity.Analyze(Role(s, "flat")[0]),
            DrSignalTransfer.Analyze(Role(s, "signal-transfer"), new DrSignalTransferOptions { AirKermaMicroGray = Kerma(s) }),
            DrDark.Analyze(Role(s, "dark")[0]),
            DrLag.Analyze(Role(s, "lag-attenuator")[0], Role(s, "lag-flat")[0]),
        }).ToList();
        for (int k = 0; k < results[0].Length; k++)
        {
            Assert.Equal(results[0][k].Verdict, results[1][k].Verdict);
            Assert.Equal(results[0][k].Metrics.Select(m => (m.Name, m.Value)), results[1][k].Metrics.Select(m => (m.Name, m.Value)));
        }
    }
}
