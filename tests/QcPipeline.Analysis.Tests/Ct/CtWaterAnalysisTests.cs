using QcPipeline.Analysis.Phantoms.Ct;

namespace QcPipeline.Analysis.Tests.Ct;

public class CtWaterAnalysisTests
{
    private static readonly CtWaterOptions Water200 = new();
    private static readonly CtWaterOptions Water320 = new() { Phantom = CtPhantomDefinition.Water320 };

    internal static MetricResult Metric(AnalysisResult r, string name) => r.Metrics.Single(m => m.Name == name);

    public static TheoryData<double, int, double, double, double> Geometries => new()
    {
        // diameter, matrix, FOV, offset x, offset y
        { 200, 512, 250, 0, 0 },
        { 200, 768, 250, 0, 0 },
        { 200, 512, 320, 30, 0 },
        { 200, 512, 320, -21.2, 21.2 },
        { 200, 768, 320, 0, -30 },
        { 320, 512, 400, 0, 0 },
        { 320, 768, 420, 30, 0 },
        { 320, 512, 420, -21.2, -21.2 },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Measures_water_noise_and_uniformity_against_the_truth(double diameter, int matrix, double fov, double ox, double oy)
    {
        const double cup = 4;
        var synth = new CtSynth { DiameterMm = diameter, Matrix = matrix, FovMm = fov, OffsetXMm = ox, OffsetYMm = oy, WaterHu = 3, NoiseSd = 5, CupHu = cup };
        var options = diameter > 250 ? Water320 : Water200;
        var r = CtWaterAnalysis.Analyze(synth.Series(3), options, LimitSet.Default);

        Assert.Null(r.InconclusiveReason);
        Assert.Equal("ct-water", r.Profile);
        Assert.Equal(CtWaterAnalysis.AlgorithmVersion, r.AlgorithmVersion);
        // Truth: ROI means of 3 + 4·(r/R)²; centre ROI of radius a = 0.05 D: mean 3 + 4·a²/(2R²).
        double R = diameter / 2, a = 0.05 * diameter, d = R - 10 - a;
        double trueWater = 3 + cup * a * a / 2 / (R * R);
        double trueUniformity = cup * d * d / (R * R);
        double trueNoise = 5 / (trueWater + 1000) * 100;
        Assert.InRange(Metric(r, "ct.water_hu").Value!.Value, trueWater - 0.3, trueWater + 0.3);
        Assert.InRange(Metric(r, "ct.uniformity_hu").Value!.Value, trueUniformity - 0.5, trueUniformity + 0.5);
        Assert.InRange(Metric(r, "ct.noise_percent").Value!.Value, trueNoise * 0.95, trueNoise * 1.05);
        foreach (var k in new[] { "12", "3", "6", "9" })
            Assert.InRange(Metric(r, $"ct.uniformity_{k}_hu").Value!.Value, trueUniformity - 0.5, trueUniformity + 0.5);
        Assert.InRange(Metric(r, "ct.diameter_mm").Value!.Value, diameter - 0.5, diameter + 0.5);
        Assert.InRange(Metric(r, "ct.centring_mm").Value!.Value, Math.Sqrt(ox * ox + oy * oy) - 0.3, Math.Sqrt(ox * ox + oy * oy) + 0.3);
        Assert.InRange(Metric(r, "ct.air_hu").Value!.Value, -1000.5, -999.5);
        Assert.Contains("measured", Metric(r, "ct.noise_percent").Note, StringComparison.Ordinal);
        Assert.Equal(Verdict.Fail, r.Verdict); // noise 0.5 % is above 0.45 %
        Assert.Equal(Verdict.Fail, Metric(r, "ct.noise_percent").Verdict);
        Assert.Equal(Verdict.Pass, Metric(r, "ct.water_hu").Verdict);
        Assert.Equal(3, r.Images.Count);
        Assert.All(r.Images, i => Assert.Contains(i.Metrics, m => m.Name == "ct.water_hu" && m.Value is not null));
        if (Math.Abs(ox) + Math.Abs(oy) > 20) Assert.Contains(r.Warnings, w => w.Contains("not centred", StringComparison.Ordinal));
        else Assert.DoesNotContain(r.Warnings, w => w.Contains("not centred", StringComparison.Ordinal));
    }

    [Fact]
    public void Rois_follow_the_standard_and_are_labelled_for_drawing()
    {
        var synth = new CtSynth { OffsetXMm = 30, FovMm = 320 };
        var r = CtWaterAnalysis.Analyze([synth.Build()], Water200, LimitSet.Default);
        Assert.Null(r.InconclusiveReason);
        var s = synth.Spacing;
        double cx = (511 / 2.0) + 30 / s, cy = 511 / 2.0;
        var rois = r.Rois.OfType<CircleRoi>().ToList();
        var centre = rois.Single(x => x.Label == "centre");
        Assert.Equal(cx, centre.CenterX, 0.1);
        Assert.Equal(cy, centre.CenterY, 0.1);
        Assert.Equal(10 / s, centre.Radius, 0.05); // 10 % of 200 mm → 20 mm diameter
        var twelve = rois.Single(x => x.Label == "12 o'clock");
        // Edge of the ROI 10 mm inside the phantom edge: centre at 100 − 10 − 10 = 80 mm above the centre.
        Assert.Equal(cy - 80 / s, twelve.CenterY, 0.1);
        Assert.Equal(cx + 80 / s, rois.Single(x => x.Label == "3 o'clock").CenterX, 0.1);
        Assert.Equal(cy + 80 / s, rois.Single(x => x.Label == "6 o'clock").CenterY, 0.1);
        Assert.Equal(cx - 80 / s, rois.Single(x => x.Label == "9 o'clock").CenterX, 0.1);
        Assert.Equal(100 / s, rois.Single(x => x.Label == "phantom edge").Radius, 0.1);
        Assert.Contains(rois, x => x.Label == "air");
        Assert.All(rois, x => Assert.Equal(0, x.Frame));
    }

    [Theory]
    [InlineData(5.9, Verdict.Pass)]
    [InlineData(6.1, Verdict.Fail)]
    [InlineData(-5.9, Verdict.Pass)]
    [InlineData(-6.1, Verdict.Fail)]
    public void Water_verdict_changes_where_the_truth_crosses_6_HU(double water, Verdict expected)
    {
        var synth = new CtSynth { WaterHu = water, NoiseSd = 1, AirNoiseSd = 1 };
        var r = CtWaterAnalysis.Analyze(synth.Series(3), Water200, LimitSet.Default);
        Assert.Equal(expected, Metric(r, "ct.water_hu").Verdict);
        Assert.Equal(water, Metric(r, "ct.water_hu").Value!.Value, 0.05);
    }

    [Theory]
    [InlineData(5.9, Verdict.Pass)]
    [InlineData(6.1, Verdict.Fail)]
    [InlineData(-6.1, Verdict.Fail)]
    public void Uniformity_verdict_changes_where_the_truth_crosses_6_HU(double offset, Verdict expected)
    {
        // Everything right of x = 50 mm is offset: only the 3 o'clock ROI (70..90 mm right of the centre) sees it.
        var synth = new CtSynth { NoiseSd = 1, AirNoiseSd = 1, Extra = (x, _) => x > 50 ? offset : 0 };
        var r = CtWaterAnalysis.Analyze(synth.Series(3), Water200, LimitSet.Default);
        Assert.Equal(expected, Metric(r, "ct.uniformity_hu").Verdict);
        Assert.Equal(Math.Abs(offset), Metric(r, "ct.uniformity_hu").Value!.Value, 0.05);
        Assert.Equal(offset, Metric(r, "ct.uniformity_3_hu").Value!.Value, 0.05);
        Assert.Equal(0, Metric(r, "ct.uniformity_9_hu").Value!.Value, 0.05);
        Assert.Contains("3 o'clock", Metric(r, "ct.uniformity_hu").Note, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.445, Verdict.Pass)]
    [InlineData(0.455, Verdict.Fail)]
    public void Noise_verdict_changes_where_the_truth_crosses_0_45_percent(double noise, Verdict expected)
    {
        // Checkerboard ±a has sample σ = a (to 0.1 %); water 0, air exactly −1000: noise = a / 1000 × 100 %.
        var synth = new CtSynth { Checkerboard = true, NoiseSd = noise * 10, AirNoiseSd = 0 };
        var r = CtWaterAnalysis.Analyze(synth.Series(3), Water200, LimitSet.Default);
        Assert.Equal(expected, Metric(r, "ct.noise_percent").Verdict);
        Assert.Equal(noise, Metric(r, "ct.noise_percent").Value!.Value, 0.001);
    }

    [Fact]
    public void Aggregate_is_the_mean_over_the_central_slices_and_every_slice_has_its_own_result()
    {
        // 7 slices; the water value differs per slice: 1, 2, …, 7 HU. The central three are 3, 4, 5 → 4.
        var slices = Enumerable.Range(0, 7).Select(k => new CtSynth { WaterHu = k + 1, NoiseSd = 1, Seed = k, SlicePosition = 2.5 * k }.Build()).ToList();
        var r = CtWaterAnalysis.Analyze(slices, Water200, LimitSet.Default);
        Assert.Equal(4, Metric(r, "ct.water_hu").Value!.Value, 0.05);
        Assert.Equal(7, r.Images.Count);
        for (int k = 0; k < 7; k++)
        {
            Assert.Equal(k, r.Images[k].Frame);
            Assert.Equal(k + 1, r.Images[k].Metrics.Single(m => m.Name == "ct.water_hu").Value!.Value, 0.1);
        }
        var all = CtWaterAnalysis.Analyze(slices, Water200 with { CentralSlices = 10 }, LimitSet.Default);
        Assert.Equal(4, Metric(all, "ct.water_hu").Value!.Value, 0.05);
        var one = CtWaterAnalysis.Analyze(slices, Water200 with { CentralSlices = 1 }, LimitSet.Default);
        Assert.Equal(4, Metric(one, "ct.water_hu").Value!.Value, 0.1);
    }

    [Fact]
    public void A_single_slice_beyond_the_uniformity_limit_is_a_warning_when_the_mean_passes()
    {
        var slices = new List<AnalysisImage>
        {
            new CtSynth { NoiseSd = 1, Seed = 1, SlicePosition = 0 }.Build(),
            new CtSynth { NoiseSd = 1, Seed = 2, SlicePosition = 5, Extra = (x, _) => x > 50 ? 9 : 0 }.Build(),
            new CtSynth { NoiseSd = 1, Seed = 3, SlicePosition = 10 }.Build(),
        };
        var r = CtWaterAnalysis.Analyze(slices, Water200, LimitSet.Default);
        Assert.Equal(Verdict.Pass, Metric(r, "ct.uniformity_hu").Verdict);
        Assert.Equal(3, Metric(r, "ct.uniformity_hu").Value!.Value, 0.1);
        Assert.Contains(r.Warnings, w => w.StartsWith("frame 1: uniformity", StringComparison.Ordinal));
        Assert.Equal(Verdict.Fail, r.Images[1].Metrics.Single(m => m.Name == "ct.uniformity_hu").Verdict);
    }

    [Fact]
    public void A_table_touching_the_phantom_does_not_move_the_circle()
    {
        var synth = new CtSynth { TableGapMm = -2, WaterHu = 2, NoiseSd = 3 };
        var r = CtWaterAnalysis.Analyze(synth.Series(1), Water200, LimitSet.Default);
        Assert.Null(r.InconclusiveReason);
        Assert.InRange(Metric(r, "ct.diameter_mm").Value!.Value, 199.5, 200.5);
        Assert.InRange(Metric(r, "ct.centring_mm").Value!.Value, 0, 0.3);
        Assert.Equal(2, Metric(r, "ct.water_hu").Value!.Value, 0.3);
    }

    [Fact]
    public void CT_air_is_assumed_when_the_field_of_view_has_no_air_and_the_result_says_so()
    {
        // 320 mm phantom in a 330 mm circular reconstruction FOV: no room for an air ROI.
        var synth = new CtSynth { DiameterMm = 320, FovMm = 340, FovRadiusMm = 168, Table = false, NoiseSd = 4 };
        var r = CtWaterAnalysis.Analyze(synth.Series(3), Water320, LimitSet.Default);
        Assert.Null(r.InconclusiveReason);
        var noise = Metric(r, "ct.noise_percent");
        Assert.Contains("assumed", noise.Note, StringComparison.Ordinal);
        Assert.Contains(r.Warnings, w => w.Contains("CT_air assumed", StringComparison.Ordinal));
        Assert.DoesNotContain(r.Metrics, m => m.Name == "ct.air_hu");
        Assert.InRange(noise.Value!.Value, 0.4 * 0.95, 0.4 * 1.05);
        Assert.DoesNotContain(r.Rois, x => x.Label == "air");
    }

    [Fact]
    public void Air_rois_avoid_the_table_and_padding()
    {
        // Tight circular FOV: only some air ROIs fit; none may contain the table or NaN.
        var synth = new CtSynth { FovRadiusMm = 124, AirNoiseSd = 0, NoiseSd = 2 };
        var r = CtWaterAnalysis.Analyze([synth.Build()], Water200, LimitSet.Default);
        Assert.Equal(-1000, Metric(r, "ct.air_hu").Value!.Value, 0.01);
    }

    [Fact]
    public void Series_rules_warn_on_small_matrix_disorder_and_missing_slices()
    {
        var small = new CtSynth { Matrix = 256 };
        var r = CtWaterAnalysis.Analyze(small.Series(3), Water200, LimitSet.Default);
        Assert.Contains(r.Warnings, w => w.Contains("below 512×512", StringComparison.Ordinal));
        Assert.Null(r.InconclusiveReason);

        var s = new CtSynth { NoiseSd = 1 };
        var shuffled = new[] { 10.0, 0.0, 5.0, 20.0 }.Select((p, k) => (s with { Seed = k, SlicePosition = p }).Build()).ToList();
        var r2 = CtWaterAnalysis.Analyze(shuffled, Water200, LimitSet.Default);
        Assert.Contains(r2.Warnings, w => w.Contains("not in anatomical order", StringComparison.Ordinal));
        Assert.Contains(r2.Warnings, w => w.Contains("spacing irregular", StringComparison.Ordinal));
        Assert.DoesNotContain(r.Warnings, w => w.Contains("irregular", StringComparison.Ordinal));
    }

    [Fact]
    public void Inserts_from_the_definition_are_measured_and_judged()
    {
        var def = CtPhantomDefinition.Water200 with { Inserts = [new CtInsert("Bone 1", 50, 0, 20, 500, 20)] };
        var synth = new CtSynth { NoiseSd = 2, Extra = (x, y) => (x - 50) * (x - 50) + y * y < 12 * 12 ? 505 : 0 };
        var r = CtWaterAnalysis.Analyze([synth.Build()], Water200 with { Phantom = def }, LimitSet.Default);
        var m = Metric(r, "ct.insert_bone_1_hu");
        Assert.Equal(505, m.Value!.Value, 0.5);
        Assert.Equal(Verdict.Pass, m.Verdict);
        Assert.Contains(r.Rois, x => x.Label == "Bone 1");
    }
}
