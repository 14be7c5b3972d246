using QcPipeline.Analysis.Phantoms.Ct;

namespace QcPipeline.Analysis.Tests.Ct;

public class CtMtfAnalysisTests
{
    /// <summary>Gaussian PSF of σ (mm): MTF(f) = exp(−2π²σ²f²), so MTF10 = sqrt(ln 10 / (2π²σ²)) cycles/mm.</summary>
    private static double AnalyticMtf10LpCm(double sigmaMm) => Math.Sqrt(Math.Log(10) / (2 * Math.PI * Math.PI * sigmaMm * sigmaMm)) * 10;
    private static double AnalyticMtf50LpCm(double sigmaMm) => Math.Sqrt(Math.Log(2) / (2 * Math.PI * Math.PI * sigmaMm * sigmaMm)) * 10;

    [Theory]
    [InlineData(0.35, 512, 250, 200, 0)]
    [InlineData(0.5, 512, 250, 200, 0)]
    [InlineData(0.75, 512, 250, 200, 20)]
    [InlineData(1.0, 512, 400, 320, 0)]
    [InlineData(0.5, 768, 250, 200, -20)]
    public void Mtf10_matches_the_analytic_gaussian(double sigmaMm, int matrix, double fov, double diameter, double offset)
    {
        var synth = new CtSynth { EdgeSigmaMm = sigmaMm, Matrix = matrix, FovMm = fov, DiameterMm = diameter, OffsetXMm = offset, NoiseSd = 5 };
        var r = CtMtfAnalysis.Analyze(synth.Series(3), new CtMtfOptions(), LimitSet.Default);
        Assert.Null(r.InconclusiveReason);
        Assert.Equal("ct-mtf", r.Profile);
        double truth = AnalyticMtf10LpCm(sigmaMm);
        var m10 = r.Metrics.Single(m => m.Name == "ct.mtf10_lpcm").Value!.Value;
        Assert.InRange(m10, truth * 0.97, truth * 1.03);
        var m50 = r.Metrics.Single(m => m.Name == "ct.mtf50_lpcm").Value!.Value;
        Assert.InRange(m50, AnalyticMtf50LpCm(sigmaMm) * 0.97, AnalyticMtf50LpCm(sigmaMm) * 1.03);
        Assert.Equal(3, r.Images.Count);
    }

    [Theory]
    [InlineData(0.6, Verdict.Pass)]   // 5.69 lp/cm
    [InlineData(0.75, Verdict.Fail)]  // 4.55 lp/cm
    public void Verdict_follows_the_5_lp_per_cm_limit(double sigmaMm, Verdict expected)
    {
        var r = CtMtfAnalysis.Analyze(new CtSynth { EdgeSigmaMm = sigmaMm }.Series(1), new CtMtfOptions(), LimitSet.Default);
        Assert.Equal(expected, r.Verdict);
    }

    [Fact]
    public void Low_edge_contrast_is_inconclusive()
    {
        // Background of −200 HU (found with a −100 HU threshold): 200 HU of edge contrast, below the 300 HU minimum.
        var synth = new CtSynth { AirHu = -200, EdgeSigmaMm = 0.5, NoiseSd = 2, AirNoiseSd = 2, Table = false };
        var options = new CtMtfOptions { Detection = new CtDetectionOptions { ThresholdHu = -100 } };
        var r = CtMtfAnalysis.Analyze([synth.Build()], options, LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("edge contrast", r.InconclusiveReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_very_noisy_edge_is_inconclusive()
    {
        var synth = new CtSynth { EdgeSigmaMm = 0.5, NoiseSd = 400, AirNoiseSd = 400, Table = false };
        var r = CtMtfAnalysis.Analyze([synth.Build()], new CtMtfOptions { Detection = new CtDetectionOptions { MaxCircleRmsMm = 100, MinInlierFraction = 0 } }, LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.NotNull(r.InconclusiveReason);
    }

    [Fact]
    public void A_perfectly_sharp_edge_is_inconclusive_rather_than_a_made_up_number()
    {
        var r = CtMtfAnalysis.Analyze([new CtSynth { EdgeSigmaMm = 0, NoiseSd = 0, AirNoiseSd = 0 }.Build()], new CtMtfOptions(), LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("too sharp", r.InconclusiveReason, StringComparison.Ordinal);
    }
}
