using QcPipeline.Analysis.Phantoms.Dr;
using QcPipeline.Analysis.Phantoms.Mr;

namespace QcPipeline.Analysis;

/// <summary>The metrics judged against the device's own baseline rather than an absolute limit (STANDARDS.md §2 DR dark
/// noise: within ±50.0 % of baseline; §3 MR SNR: within ±10 % of baseline, default), with their relative tolerance. A
/// baseline set from a chosen result is stored as the limit <see cref="LimitSet.AroundBaseline"/> of that value in the
/// device's limit set, which is where the analyses look when no baseline is passed in their options.</summary>
public static class BaselineLimits
{
    /// <summary>Metric name → relative tolerance (0.5 = ±50 %). The tolerances are the analyses' own defaults.</summary>
    public static IReadOnlyDictionary<string, double> Tolerances { get; } = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        [DrDark.MeanMetric] = new DrDarkOptions().BaselineTolerance,
        [DrDark.SdMetric] = new DrDarkOptions().BaselineTolerance,
        [MrUniform.SnrMetric] = new MrUniformOptions().SnrTolerance,
    };

    /// <summary>The limit of <paramref name="metric"/> around <paramref name="baseline"/>; null when the metric is not judged
    /// against a baseline.</summary>
    public static Limit? Around(string metric, double baseline) =>
        Tolerances.TryGetValue(metric, out var t) ? LimitSet.AroundBaseline(baseline, t) : null;
}
