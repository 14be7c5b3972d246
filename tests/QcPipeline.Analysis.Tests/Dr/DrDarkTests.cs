using QcPipeline.Analysis.Phantoms.Dr;

namespace QcPipeline.Analysis.Tests.Dr;

public class DrDarkTests
{
    [Fact]
    public void Mean_and_sd_are_judged_against_the_baseline()
    {
        var img = DrImages.Flat(400, 100, noiseSd: 4, seed: 5);
        var r = DrDark.Analyze(img, new DrDarkOptions { BaselineMean = 100, BaselineSd = 4 });
        var mean = r.Metrics.Single(m => m.Name == DrDark.MeanMetric);
        var sd = r.Metrics.Single(m => m.Name == DrDark.SdMetric);
        Assert.Equal(100, mean.Value!.Value, 0.5);
        Assert.Equal(4, sd.Value!.Value, 0.2);
        Assert.Equal(new Limit(50, 150), mean.Limit);
        Assert.Equal(Verdict.Pass, r.Verdict);
        Assert.Empty(r.Warnings);
    }

    [Theory]
    [InlineData(149.9, Verdict.Pass)]
    [InlineData(150.1, Verdict.Fail)]
    [InlineData(50.1, Verdict.Pass)]
    [InlineData(49.9, Verdict.Fail)]
    public void Verdict_flips_at_plus_minus_50_percent_of_baseline(double level, Verdict expected)
    {
        var r = DrDark.Analyze(DrImages.Flat(100, level), new DrDarkOptions { BaselineMean = 100 });
        Assert.Equal(expected, r.Metrics.Single(m => m.Name == DrDark.MeanMetric).Verdict);
    }

    [Fact]
    public void Without_a_baseline_values_are_reported_and_inconclusive()
    {
        var r = DrDark.Analyze(DrImages.Flat(200, 30, noiseSd: 2), new DrDarkOptions { Region = DarkRegion.WholeImage });
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Equal(DrDark.NoBaseline, r.InconclusiveReason);
        Assert.All(r.Metrics, m => { Assert.NotNull(m.Value); Assert.Equal(DrDark.NoBaseline, m.Note); });
        Assert.Equal(30, r.Metrics[0].Value!.Value, 0.1);
    }

    [Fact]
    public void A_specified_value_in_the_limit_set_is_used_when_there_is_no_baseline()
    {
        var limits = LimitSet.Default.With("site", 1, new Dictionary<string, Limit> { [DrDark.MeanMetric] = Limit.AtMost(40) });
        var r = DrDark.Analyze(DrImages.Flat(200, 30), new DrDarkOptions(), limits);
        Assert.Equal(Verdict.Pass, r.Metrics[0].Verdict);
    }

    [Fact]
    public void A_non_uniform_dark_image_is_warned_about()
    {
        var img = DrImages.Make(256, 256, (x, y) => x is >= 96 and < 128 && y is >= 64 and < 96 ? 40 : 30, noiseSd: 2);
        var r = DrDark.Analyze(img, new DrDarkOptions { BaselineMean = 30, BaselineSd = 2 });
        Assert.Contains("dark image is not uniform (see the flagged tiles)", r.Warnings);
        Assert.Contains(r.Rois, x => x.Label.StartsWith("artefact tile", StringComparison.Ordinal));
    }

    [Fact]
    public void Wrong_modality_and_empty_images_are_inconclusive()
    {
        Assert.Contains("wrong modality", DrDark.Analyze(DrImages.Flat(50, 0) with { Modality = "MR" }).InconclusiveReason);
        Assert.Equal(Verdict.Inconclusive, DrDark.Analyze(new AnalysisImage { Width = 0, Height = 0, Pixels = [] }).Verdict);
        Assert.Equal(Verdict.Inconclusive, DrDark.Analyze(DrImages.Flat(10, 0), new DrDarkOptions { BaselineMean = 0 }).Verdict);
    }
}
