namespace QcPipeline.Analysis.Tests.Core;

public class LimitTests
{
    [Theory]
    [InlineData(-6.0, Verdict.Pass)]
    [InlineData(6.0, Verdict.Pass)]
    [InlineData(6.0001, Verdict.Fail)]
    [InlineData(-6.0001, Verdict.Fail)]
    public void Water_within_plus_minus_6_is_inclusive(double hu, Verdict expected) =>
        Assert.Equal(expected, LimitSet.Default.For("ct.water_hu")!.Judge(hu));

    [Theory]
    [InlineData(0.4499, Verdict.Pass)]
    [InlineData(0.45, Verdict.Fail)]
    public void Noise_below_0_45_percent_is_exclusive(double noise, Verdict expected) =>
        Assert.Equal(expected, LimitSet.Default.For("ct.noise_percent")!.Judge(noise));

    [Fact]
    public void Missing_or_non_finite_values_are_inconclusive()
    {
        var l = Limit.AtMost(5);
        Assert.Equal(Verdict.Inconclusive, l.Judge(null));
        Assert.Equal(Verdict.Inconclusive, l.Judge(double.NaN));
    }

    [Fact]
    public void A_limits_file_overrides_some_metrics_and_keeps_the_rest()
    {
        var set = LimitSet.Load("""{"id":"ct-acceptance-siteA","version":3,"kind":"acceptance","limits":{"ct.water_hu":{"min":-4,"max":4}}}""");
        Assert.Equal(new LimitSetReference("ct-acceptance-siteA", 3, LimitKind.Acceptance), set.Reference);
        Assert.Equal(Verdict.Fail, set.For("ct.water_hu")!.Judge(5));
        Assert.Equal(Verdict.Pass, set.For("ct.uniformity_hu")!.Judge(5));
        Assert.Throws<FormatException>(() => LimitSet.Load("""{"version":1}"""));
    }

    [Fact]
    public void Combined_verdict_fail_beats_inconclusive_beats_pass()
    {
        var pass = MetricResult.Judge("a", 1, "", Limit.AtMost(2));
        var fail = MetricResult.Judge("b", 3, "", Limit.AtMost(2));
        var unknown = MetricResult.Inconclusive("c", "", null, "no phantom");
        Assert.Equal(Verdict.Fail, AnalysisResult.Combine([pass, unknown, fail]));
        Assert.Equal(Verdict.Inconclusive, AnalysisResult.Combine([pass, unknown]));
        Assert.Equal(Verdict.Pass, AnalysisResult.Combine([pass]));
        Assert.Equal(Verdict.Inconclusive, AnalysisResult.Combine([]));
    }
}
