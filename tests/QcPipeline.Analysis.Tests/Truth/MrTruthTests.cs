using QcPipeline.Analysis.Phantoms.Mr;
using QcPipeline.Phantoms.Mr;
using Xunit.Abstractions;
using static QcPipeline.Analysis.Tests.Truth.TruthSupport;

namespace QcPipeline.Analysis.Tests.Truth;

/// <summary>MR uniform-phantom analysis on MrPhantom images read back from Part 10 bytes, against the manifest truth.</summary>
/// <remarks>SNR: the manifest's truth is A/σ — the noiseless large-ROI mean over the per-channel Gaussian σ — and both
/// analysis methods estimate exactly that quantity: the single-image method multiplies by 0.655 = √(2 − π/2), the SD
/// of Rayleigh-distributed magnitude noise in air per unit σ (NEMA MS 1), and the two-image method divides the SD of
/// the difference by √2. In the phantom (SNR ≈ 100) the Rician magnitude is Gaussian to within σ²/(2A) ≈ 0.05 of σ in
/// the mean, so no further Rician correction is needed on either side, and the comparison is against the truth value
/// (the two-image estimate also against the manifest's perImage, which applies the same estimator).</remarks>
public class MrTruthTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(0.06, 10.0)]
    [InlineData(0.25, 10.0)]
    [InlineData(0.06, 25.0)]
    [InlineData(0.06, 2.0)] // ghost (10) well above σ: the Rician floor cancels and the ghosting reads close to the noiseless truth
    public void Piu_snr_and_ghosting_match_the_truth(double shading, double sigma)
    {
        var s = MrPhantom.Generate(new MrOptions { ShadingQuadratic = shading, NoiseSigma = sigma });
        var a = RoundTrip(s.Images[0]);
        var b = RoundTrip(s.Images[1]);
        var two = MrUniform.Analyze(a, b);
        var single = MrUniform.Analyze(a, null, new MrUniformOptions { SnrMethod = MrSnrMethod.SingleImage });

        var piu = TruthOf(s, MrPhantom.Piu);
        var snr = TruthOf(s, MrPhantom.Snr);
        var ghost = TruthOf(s, MrPhantom.Ghosting);
        double p = Value(two, MrUniform.PiuMetric), snr2 = Value(two, MrUniform.SnrMetric), snr1 = Value(single, MrUniform.SnrMetric), g = Value(two, MrUniform.GhostingMetric);
        output.WriteLine($"shading {shading}, σ {sigma}: PIU {p:F3} vs {piu.Value:F3} (Δ {p - piu.Value:+0.000;-0.000} pp, tol 1; perImage {piu.PerImage![0]:F3}); " +
            $"SNR two-image {snr2:F3} / single {snr1:F3} vs {snr.Value:F3} (Δ {100 * (snr2 / snr.Value - 1):+0.00;-0.00} % / {100 * (snr1 / snr.Value - 1):+0.00;-0.00} %, tol 5 %; perImage {snr.PerImage![0]:F3}); " +
            $"ghosting {g:F4} vs {ghost.Value:F4} (Δ {g - ghost.Value:+0.0000;-0.0000}, manifest tol {ghost.Tolerance}; perImage {ghost.PerImage![0]:F4})");
        Assert.InRange(p, piu.Value - 1, piu.Value + 1);
        Assert.InRange(snr2, snr.Value * 0.95, snr.Value * 1.05);
        Assert.InRange(snr1, snr.Value * 0.95, snr.Value * 1.05);
        Assert.InRange(snr2, snr.PerImage[0] * 0.999, snr.PerImage[0] * 1.001);
        Assert.InRange(g, ghost.Value - ghost.Tolerance!.Value, ghost.Value + ghost.Tolerance.Value);
    }
}
