using QcPipeline.Analysis.Phantoms.Ct;

namespace QcPipeline.Analysis.Tests.Ct;

/// <summary>Bad input is inconclusive with a reason, never an exception and never a silent pass or fail.</summary>
public class CtRobustnessTests
{
    private static readonly CtWaterOptions Options = new();

    private static AnalysisImage Filled(float value, int n = 512) => new()
    {
        Width = n, Height = n, Pixels = Enumerable.Repeat(value, n * n).ToArray(), PixelSpacingX = 0.5, PixelSpacingY = 0.5, Modality = "CT",
    };

    public static TheoryData<string, string> Cases => new()
    {
        { "empty", "empty image" },
        { "constant", "constant image" },
        { "air only", "no phantom" },
        { "cut off by the border", "cut off" },
        { "cut off by the FOV", "cut off" },
        { "wrong modality", "not CT" },
        { "no pixel spacing", "no pixel spacing" },
        { "too small", "too small" },
        { "square", "not circular" },
        { "no slices", "no images" },
        { "pixel array mismatch", "does not match" },
    };

    private static IReadOnlyList<AnalysisImage> Input(string name) => name switch
    {
        "empty" => [Filled(float.NaN)],
        "constant" => [Filled(0)],
        "air only" => [new CtSynth { DiameterMm = 0.0001, Table = false }.Build()],
        "cut off by the border" => [new CtSynth { OffsetXMm = 60 }.Build()],
        "cut off by the FOV" => [new CtSynth { OffsetXMm = 20, FovRadiusMm = 115, FovMm = 320 }.Build()],
        "wrong modality" => [new CtSynth { Modality = "MR" }.Build()],
        "no pixel spacing" => [new CtSynth { NoSpacing = true }.Build()],
        "too small" => [new CtSynth { DiameterMm = 60 }.Build()],
        "square" => [new CtSynth { Square = true, DiameterMm = 160 }.Build()],
        "no slices" => [],
        "pixel array mismatch" => [Filled(0) with { Width = 100 }],
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Water_analysis_is_inconclusive_with_a_reason(string name, string reason)
    {
        var r = CtWaterAnalysis.Analyze(Input(name), Options, LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains(reason, r.InconclusiveReason, StringComparison.Ordinal);
        Assert.DoesNotContain(r.Metrics, m => m.Verdict != Verdict.Inconclusive);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Mtf_analysis_is_inconclusive_with_a_reason(string name, string reason)
    {
        var r = CtMtfAnalysis.Analyze(Input(name), new CtMtfOptions(), LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains(reason, r.InconclusiveReason, StringComparison.Ordinal);
    }

    [Fact]
    public void One_pixel_rois_make_the_metrics_inconclusive()
    {
        var options = Options with { Phantom = CtPhantomDefinition.Water200 with { RoiDiameterFraction = 0.001 } };
        var r = CtWaterAnalysis.Analyze([new CtSynth().Build()], options, LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        foreach (var name in new[] { "ct.water_hu", "ct.noise_percent", "ct.uniformity_hu" })
        {
            var m = r.Metrics.Single(x => x.Name == name);
            Assert.Equal(Verdict.Inconclusive, m.Verdict);
            Assert.Matches(@"ROI has [01] pixel\(s\), fewer than", m.Note);
        }
        // Even the documented minimum of 2 pixels holds when the site lowers the option.
        var r2 = CtWaterAnalysis.Analyze([new CtSynth().Build()], options with { MinRoiPixels = 2 }, LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r2.Metrics.Single(x => x.Name == "ct.noise_percent").Verdict);
    }

    [Fact]
    public void Zero_variance_makes_the_noise_inconclusive_but_keeps_water_and_uniformity()
    {
        var r = CtWaterAnalysis.Analyze(new CtSynth { NoiseSd = 0, AirNoiseSd = 0, WaterHu = 2 }.Series(3), Options, LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Null(r.InconclusiveReason);
        var noise = r.Metrics.Single(x => x.Name == "ct.noise_percent");
        Assert.Equal(Verdict.Inconclusive, noise.Verdict);
        Assert.Contains("zero variance", noise.Note, StringComparison.Ordinal);
        Assert.Equal(2, r.Metrics.Single(x => x.Name == "ct.water_hu").Value!.Value, 0.01);
        Assert.Equal(Verdict.Pass, r.Metrics.Single(x => x.Name == "ct.uniformity_hu").Verdict);
    }

    [Fact]
    public void Slices_without_phantom_at_the_ends_of_the_series_do_not_spoil_the_central_ones()
    {
        var good = new CtSynth { NoiseSd = 1 };
        var slices = new List<AnalysisImage>
        {
            (good with { DiameterMm = 0.0001, Table = false, SlicePosition = 0 }).Build(),
            (good with { SlicePosition = 5, Seed = 2 }).Build(),
            (good with { SlicePosition = 10, Seed = 3 }).Build(),
            (good with { SlicePosition = 15, Seed = 4 }).Build(),
            (good with { DiameterMm = 0.0001, Table = false, SlicePosition = 20 }).Build(),
        };
        var r = CtWaterAnalysis.Analyze(slices, Options, LimitSet.Default);
        Assert.Equal(Verdict.Pass, r.Verdict);
        Assert.Contains(r.Warnings, w => w.Contains("2 of 5 slices could not be measured", StringComparison.Ordinal));
        Assert.Equal(Verdict.Inconclusive, r.Images[0].Metrics[0].Verdict);
        Assert.Contains("no phantom", r.Images[0].Metrics[0].Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_garbage_never_throws()
    {
        var rng = new Random(7);
        for (int k = 0; k < 20; k++)
        {
            int w = rng.Next(1, 64), h = rng.Next(1, 64);
            var px = new float[w * h];
            for (int i = 0; i < px.Length; i++)
                px[i] = rng.Next(10) switch { 0 => float.NaN, 1 => float.PositiveInfinity, 2 => float.NegativeInfinity, _ => (float)(rng.NextDouble() * 4000 - 2000) };
            var img = new AnalysisImage { Width = w, Height = h, Pixels = px, PixelSpacingX = 0.5, PixelSpacingY = 0.5, Modality = "CT" };
            var r = CtWaterAnalysis.Analyze([img], Options, LimitSet.Default);
            Assert.Equal(Verdict.Inconclusive, r.Verdict);
            Assert.Equal(Verdict.Inconclusive, CtMtfAnalysis.Analyze([img], new CtMtfOptions(), LimitSet.Default).Verdict);
        }
    }
}
