using QcPipeline.Analysis.Phantoms.Ct;
using QcPipeline.Phantoms;
using QcPipeline.Phantoms.Ct;
using Xunit.Abstractions;
using static QcPipeline.Analysis.Tests.Truth.TruthSupport;
using AnalysisOptions = QcPipeline.Analysis.Phantoms.Ct.CtWaterOptions;
using SimOptions = QcPipeline.Phantoms.Ct.CtWaterOptions;

namespace QcPipeline.Analysis.Tests.Truth;

/// <summary>The proof for CT: simulator slices → Part 10 bytes → read back → <see cref="CtWaterAnalysis"/>,
/// compared with the manifest truth (water ±0.3 HU, noise ±5 % relative, uniformity ±0.5 HU).</summary>
public class CtTruthTests(ITestOutputHelper output)
{
    /// <summary>720 views is the simulator default; 360 keeps the angular sampling well above what the 200/320 mm
    /// cylinder needs inside the phantom and halves the back-projection cost on the loaded test machine.</summary>
    internal static readonly SimOptions Base = new() { Views = 360, SliceCount = 2 };

    public static TheoryData<string, double, double, int, int, bool, double, double> Cases => new()
    {
        // name, diameter, offset x, matrix, intercept, signed, cupping, CT-number offset
        { "200 centred 512", 200, 0, 512, -1024, false, 0, 0 },
        { "200 off-centre 30 mm 512", 200, 30, 512, -1024, false, 0, 0 },
        { "200 centred 768", 200, 0, 768, -1024, false, 0, 0 },
        { "320 centred 512", 320, 0, 512, -1024, false, 0, 0 },
        { "320 off-centre 30 mm 768", 320, 30, 768, -1024, false, 0, 0 },
        { "intercept -1024 signed", 200, 0, 512, -1024, true, 0, 0 },
        { "intercept -1000 unsigned", 200, 0, 512, -1000, false, 0, 0 },
        { "intercept -1000 signed", 200, 0, 512, -1000, true, 0, 0 },
        { "intercept 0 signed", 200, 0, 512, 0, true, 0, 0 },
        // intercept 0 with unsigned storage is not valid for CT: every value below 0 HU (air, half the water noise)
        // clamps to stored 0, so the simulator's own truth is clipped; it is not a case.
        { "cupping 3 %", 200, 0, 512, -1024, false, 0.03, 0 },
        { "cupping 320", 320, 0, 512, -1024, false, 0.02, 0 },
        { "CT-number offset +4 HU", 200, 0, 512, -1024, false, 0, 4 },
        { "CT-number offset -8 HU signed", 200, 30, 512, -1000, true, 0, -8 },
    };

    /// <summary>The scan for a phantom: the 200 mm phantom 30 mm off centre needs a 320 mm display FOV (at the default
    /// 250 mm its edge lies 5 mm outside the image — that case is the cut-off robustness test). The 320 mm phantom is
    /// scanned at a body dose (1000 mAs) over 3 slices: at 250 mAs its noise is ≈ 14 HU and the centre ROI mean of a
    /// realisation scatters by ≈ 0.3 HU around the noiseless truth — as much as the ±0.3 HU tolerance, which is about the
    /// analysis, not about the noise of one realisation.</summary>
    internal static SimOptions Sim(double diameter, double offsetX) => diameter > 250
        ? Base with { PhantomDiameterMm = diameter, OffsetXMm = offsetX, TubeCurrentMa = 500, ExposureTimeMs = 2000, SliceCount = 3 }
        : Base with { PhantomDiameterMm = diameter, OffsetXMm = offsetX, FovMm = offsetX != 0 ? 320 : null };

    internal static AnalysisOptions AnalysisFor(double diameter) =>
        new() { Phantom = diameter > 250 ? CtPhantomDefinition.Water320 : CtPhantomDefinition.Water200 };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Water_noise_and_uniformity_match_the_truth(string name, double diameter, double offsetX, int matrix, int intercept, bool signed, double cupping, double ctOffset)
    {
        var sim = Sim(diameter, offsetX) with
        {
            Matrix = matrix, RescaleIntercept = intercept, SignedPixels = signed, CuppingFraction = cupping, CtNumberOffsetHu = ctOffset,
        };
        var series = CtWaterPhantom.Generate(sim);
        var images = RoundTrip(series);
        var r = CtWaterAnalysis.Analyze(images, AnalysisFor(diameter), LimitSet.Default);
        Assert.Null(r.InconclusiveReason);

        var water = TruthOf(series, CtWaterPhantom.WaterHu);
        var noise = TruthOf(series, CtWaterPhantom.NoisePercent);
        var uniformity = TruthOf(series, CtWaterPhantom.UniformityHu);
        double w = Value(r, CtWaterAnalysis.WaterMetric), n = Value(r, CtWaterAnalysis.NoiseMetric), u = Value(r, CtWaterAnalysis.UniformityMetric);
        output.WriteLine($"{name}: water {w:F3} vs {water.Value:F3} (Δ {w - water.Value:+0.000;-0.000} HU, tol 0.3); noise {n:F4} vs {noise.Value:F4} % (Δ {100 * (n / noise.Value - 1):+0.00;-0.00} %, tol 5 %); uniformity {u:F3} vs {uniformity.Value:F3} (Δ {u - uniformity.Value:+0.000;-0.000} HU, tol 0.5)");

        Assert.InRange(w, water.Value - 0.3, water.Value + 0.3);
        Assert.InRange(n, noise.Value * 0.95, noise.Value * 1.05);
        Assert.InRange(u, uniformity.Value - 0.5, uniformity.Value + 0.5);

        // Per slice, the analysis reproduces the manifest's perImage values (same ROI definition on the same stored values).
        for (int i = 0; i < images.Count; i++)
        {
            var m = r.Images[i].Metrics.Single(x => x.Name == CtWaterAnalysis.WaterMetric).Value!.Value;
            output.WriteLine($"  slice {i}: water {m:F4} vs perImage {water.PerImage![i]:F4}");
            Assert.InRange(m, water.PerImage[i] - 0.05, water.PerImage[i] + 0.05);
        }
    }
}

/// <summary>MTF10 measured by <see cref="CtMtfAnalysis"/> on the cylinder edge vs the simulator's model value
/// (<c>ct.mtf10_lpcm</c>, approximate, tolerance in the manifest).</summary>
public class CtMtfTruthTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(CtKernel.Standard, 512)]
    [InlineData(CtKernel.Soft, 512)]
    [InlineData(CtKernel.Sharp, 768)]
    public void Mtf10_matches_the_model_within_its_tolerance(CtKernel kernel, int matrix)
    {
        var series = CtWaterPhantom.Generate(CtTruthTests.Base with { Kernel = kernel, Matrix = matrix, SliceCount = 1, Views = 720 });
        var r = CtMtfAnalysis.Analyze(RoundTrip(series), new CtMtfOptions(), LimitSet.Default);
        var truth = TruthOf(series, CtWaterPhantom.Mtf10);
        Assert.True(truth.Approximate);
        double m = Value(r, CtMtfAnalysis.Mtf10Metric);
        output.WriteLine($"{kernel} {matrix}: MTF10 {m:F3} vs model {truth.Value:F3} lp/cm (Δ {m - truth.Value:+0.000;-0.000}, tol {truth.Tolerance})");
        Assert.InRange(m, truth.Value - truth.Tolerance!.Value, truth.Value + truth.Tolerance.Value);
    }
}
