using QcPipeline.Analysis.Phantoms.Mr;

namespace QcPipeline.Analysis.Tests.Mr;

public class MrUniformTests
{
    private static MetricResult Metric(AnalysisResult r, string name) => r.Metrics.Single(m => m.Name == name);

    [Fact]
    public void Single_image_snr_matches_truth_within_5_percent()
    {
        var img = MrImages.Make(MrImages.Disc(1000), sigma: 20, seed: 3);
        var r = MrUniform.Analyze(img);
        var snr = Metric(r, MrUniform.SnrMetric);
        Assert.InRange(snr.Value!.Value, 50 * 0.95, 50 * 1.05);
        Assert.Contains("single image", Metric(r, MrUniform.SnrMethodMetric).Note);
        Assert.Equal(4, r.Rois.Count(x => x.Label.StartsWith("noise", StringComparison.Ordinal)));
        var phantom = Assert.IsType<CircleRoi>(r.Rois[0]);
        Assert.Equal(MrImages.Centre, phantom.CenterX, 0.5);
        Assert.Equal(MrImages.Radius, phantom.Radius, 1.0);
    }

    [Fact]
    public void Difference_snr_matches_truth_within_5_percent_and_reports_the_single_estimate()
    {
        var a = MrImages.Make(MrImages.Disc(1000), sigma: 25, seed: 5);
        var b = MrImages.Make(MrImages.Disc(1000), sigma: 25, seed: 6);
        var r = MrUniform.Analyze(a, b);
        Assert.InRange(Metric(r, MrUniform.SnrMetric).Value!.Value, 40 * 0.95, 40 * 1.05);
        Assert.InRange(Metric(r, MrUniform.SnrSingleMetric).Value!.Value, 40 * 0.95, 40 * 1.05);
        Assert.Contains("difference", Metric(r, MrUniform.SnrMethodMetric).Note);
    }

    [Theory]
    [InlineData(50.0, Verdict.Pass)]
    [InlineData(60.0, Verdict.Fail)]   // measured ≈ 50 is 16.7 % below
    [InlineData(42.0, Verdict.Fail)]   // measured ≈ 50 is 19 % above
    public void Snr_is_judged_against_the_baseline_within_10_percent(double baseline, Verdict expected)
    {
        var img = MrImages.Make(MrImages.Disc(1000), sigma: 20, seed: 3);
        var r = MrUniform.Analyze(img, options: new MrUniformOptions { SnrBaseline = baseline });
        Assert.Equal(expected, Metric(r, MrUniform.SnrMetric).Verdict);
    }

    [Fact]
    public void Without_a_baseline_snr_is_reported_and_inconclusive()
    {
        var r = MrUniform.Analyze(MrImages.Make(MrImages.Disc(1000), sigma: 20));
        var snr = Metric(r, MrUniform.SnrMetric);
        Assert.NotNull(snr.Value);
        Assert.Equal(Verdict.Inconclusive, snr.Verdict);
        Assert.Equal(MrUniform.NoBaseline, snr.Note);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains(MrUniform.NoBaseline, r.InconclusiveReason);
        Assert.Equal(Verdict.Pass, Metric(r, MrUniform.PiuMetric).Verdict);
        Assert.Equal(Verdict.Pass, Metric(r, MrUniform.GhostingMetric).Verdict);
    }

    [Fact]
    public void Piu_matches_truth_within_1_point_with_noise()
    {
        var r = MrUniform.Analyze(MrImages.Make(MrImages.HotCold(1100, 900), sigma: 10, seed: 9));
        Assert.Equal(90.0, Metric(r, MrUniform.PiuMetric).Value!.Value, 1.0);
        Assert.Contains(r.Rois, x => x.Label == "PIU high");
        Assert.Contains(r.Rois, x => x.Label == "PIU low");
    }

    [Theory]
    [InlineData(1124, 876, 87.6, Verdict.Pass)]
    [InlineData(1125, 875, 87.5, Verdict.Pass)]
    [InlineData(1126, 874, 87.4, Verdict.Fail)]
    public void Piu_verdict_flips_at_87_5_percent_below_3T(double high, double low, double piu, Verdict expected)
    {
        var m = Metric(MrUniform.Analyze(MrImages.Make(MrImages.HotCold(high, low))), MrUniform.PiuMetric);
        Assert.Equal(piu, m.Value!.Value, 1e-6);
        Assert.Equal(expected, m.Verdict);
    }

    [Fact]
    public void At_3T_the_82_percent_limit_or_the_limit_set_override_applies()
    {
        var img15 = MrImages.Make(MrImages.HotCold(1150, 850), fieldT: 1.5); // PIU 85 %
        var img3 = img15 with { MagneticFieldStrength = 3.0 };
        Assert.Equal(Verdict.Fail, Metric(MrUniform.Analyze(img15), MrUniform.PiuMetric).Verdict);
        var at3 = Metric(MrUniform.Analyze(img3), MrUniform.PiuMetric);
        Assert.Equal(Verdict.Pass, at3.Verdict);
        Assert.Equal(MrUniform.Piu3TDefault, at3.Limit);
        var site = LimitSet.Default.With("site", 2, new Dictionary<string, Limit> { [MrUniform.Piu3TMetric] = Limit.AtLeast(86) });
        Assert.Equal(Verdict.Fail, Metric(MrUniform.Analyze(img3, limits: site), MrUniform.PiuMetric).Verdict);
    }

    /// <summary>Ghost signal G in the rows above and below the phantom: T = B = G, L = R = 0, so the ratio is G / 1000 × 100.</summary>
    private static AnalysisImage Ghosted(double g) =>
        MrImages.Make((x, y) => MrImages.InDisc(x, y, MrImages.Centre, MrImages.Centre, MrImages.Radius) ? 1000 : y < 30 || y > 226 ? g : 0);

    [Theory]
    [InlineData(24.9, Verdict.Pass)]
    [InlineData(25.0, Verdict.Pass)]
    [InlineData(25.1, Verdict.Fail)]
    public void Ghosting_verdict_flips_at_2_5_percent(double g, Verdict expected)
    {
        var r = MrUniform.Analyze(Ghosted(g));
        var m = Metric(r, MrUniform.GhostingMetric);
        Assert.Equal(g / 10, m.Value!.Value, 1e-4);
        Assert.Equal(expected, m.Verdict);
        Assert.Equal(4, r.Rois.Count(x => x.Label.StartsWith("ghost", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_phantom_touching_the_edge_is_inconclusive()
    {
        var r = MrUniform.Analyze(MrImages.Make(MrImages.Disc(1000, cx: 60), sigma: 10));
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("touches the image edge", r.InconclusiveReason);
        Assert.Equal(3, r.Metrics.Count);
    }

    [Fact]
    public void No_background_room_makes_ghosting_inconclusive_but_keeps_piu()
    {
        var r = MrUniform.Analyze(MrImages.Make(MrImages.Disc(1000, r: 125), sigma: 10));
        var ghost = Metric(r, MrUniform.GhostingMetric);
        Assert.Equal(Verdict.Inconclusive, ghost.Verdict);
        Assert.Contains("no background room", ghost.Note);
        Assert.NotNull(Metric(r, MrUniform.PiuMetric).Value);
    }

    [Fact]
    public void Noise_free_background_makes_single_image_snr_inconclusive_not_infinite()
    {
        var snr = Metric(MrUniform.Analyze(MrImages.Make(MrImages.Disc(1000))), MrUniform.SnrMetric);
        Assert.Equal(Verdict.Inconclusive, snr.Verdict);
        Assert.Null(snr.Value);
        Assert.Contains("background SD is zero", snr.Note);
    }

    [Fact]
    public void A_second_image_that_does_not_match_falls_back_to_the_single_image_method()
    {
        var a = MrImages.Make(MrImages.Disc(1000), sigma: 20, seed: 3);
        var other = MrImages.Make(MrImages.Disc(1000), sigma: 20, seed: 4, slice: 10);
        var r = MrUniform.Analyze(a, other);
        Assert.Contains(r.Warnings, w => w.Contains("another slice"));
        Assert.Contains("single image", Metric(r, MrUniform.SnrMethodMetric).Note);
        var identical = MrUniform.Analyze(a, a, new MrUniformOptions { SnrMethod = MrSnrMethod.Difference });
        Assert.Contains("identical", Metric(identical, MrUniform.SnrMetric).Note);
    }

    [Fact]
    public void Missing_pixel_spacing_is_warned_and_scaled_from_the_phantom()
    {
        var r = MrUniform.Analyze(MrImages.Make(MrImages.HotCold(1100, 900), spacing: null));
        Assert.Contains(r.Warnings, w => w.Contains("no Pixel Spacing"));
        Assert.Equal(90.0, Metric(r, MrUniform.PiuMetric).Value!.Value, 1.0);
    }

    public static TheoryData<string, AnalysisImage, string> Unusable => new()
    {
        { "empty", new AnalysisImage { Width = 0, Height = 0, Pixels = [], Modality = "MR" }, "empty" },
        { "wrong modality", MrImages.Make(MrImages.Disc(1000)) with { Modality = "CT" }, "wrong modality" },
        { "no signal", MrImages.Make((_, _) => 0), "no phantom" },
        { "all padding", MrImages.Make((_, _) => double.NaN), "no phantom" },
        { "noise only", MrImages.Make((_, _) => 0, sigma: 10), "no phantom" },
        { "tiny", MrImages.Make((_, _) => 1, size: 1), "no phantom" },
    };

    [Theory]
    [MemberData(nameof(Unusable))]
    public void Unusable_input_is_inconclusive_with_a_reason(string why, AnalysisImage image, string reason)
    {
        var r = MrUniform.Analyze(image);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains(reason, r.InconclusiveReason);
        Assert.All(r.Metrics, m => Assert.Equal(Verdict.Inconclusive, m.Verdict));
        Assert.False(string.IsNullOrEmpty(why));
    }
}
