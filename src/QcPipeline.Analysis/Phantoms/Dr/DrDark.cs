using System.Globalization;

namespace QcPipeline.Analysis.Phantoms.Dr;

public enum DarkRegion
{
    /// <summary>A central square ROI (side <see cref="DrDarkOptions.RoiSideFraction"/> of the shorter image side).</summary>
    CentralRoi,
    WholeImage,
}

public sealed record DrDarkOptions
{
    public DarkRegion Region { get; init; } = DarkRegion.CentralRoi;
    public double RoiSideFraction { get; init; } = 0.10;
    /// <summary>The device's stored baseline dark mean / SD (pixel values), from its acceptance or first constancy test.</summary>
    public double? BaselineMean { get; init; }
    public double? BaselineSd { get; init; }
    /// <summary>Relative tolerance around the baseline (STANDARDS.md §2: ±50.0 %).</summary>
    public double BaselineTolerance { get; init; } = 0.5;
    /// <summary>Non-uniformity: a tile is flagged when its mean differs from its neighbours' median by more than this many
    /// image SDs (a dark image has no signal to be relative to, so the threshold is in noise units).</summary>
    public double TileThresholdInSd { get; init; } = 0.5;
    public int? TileSizePixels { get; init; }
    public int MaxListed { get; init; } = 10;
}

/// <summary>DR dark noise (STANDARDS.md §2, 暗噪声): mean and SD of an unexposed image, each judged within ±50 % of the
/// device's stored baseline. Which limit applies, in order: a baseline in the options (±tolerance); else a limit of that
/// name in the limit set (the manufacturer's "specified value" a site enters); else no judgement — the value is reported
/// and the metric is Inconclusive with the note "no baseline stored", so that a first run can become the baseline.
/// The image must also be uniform: tiles, defective pixels and lines are warnings (as for flat fields).</summary>
public static class DrDark
{
    public const string Profile = "dr-dark";
    public const string AlgorithmVersion = "1.0";
    public const string MeanMetric = MetricNames.DrDarkMean;
    public const string SdMetric = "dr.dark_sd";
    public const string NoBaseline = "no baseline stored";

    public static AnalysisResult Analyze(AnalysisImage image, DrDarkOptions? options = null, LimitSet? limits = null)
    {
        options ??= new DrDarkOptions();
        limits ??= LimitSet.Default;
        if (DrInputs.Problem(image, "dark image") is { } problem)
            return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, limits.Reference, problem) with
            {
                Metrics = [MetricResult.Inconclusive(MeanMetric, "PV", null, problem), MetricResult.Inconclusive(SdMetric, "PV", null, problem)],
            };

        var warnings = new List<string>();
        DrInputs.AddInputWarnings([image], warnings);
        var rois = new List<RoiGeometry>();
        RoiStatistics stats;
        if (options.Region == DarkRegion.WholeImage)
        {
            stats = RoiMath.Rectangle(image, 0, 0, image.Width, image.Height);
            rois.Add(DrInputs.Rect("whole image", 0, 0, 0, image.Width, image.Height));
        }
        else
        {
            int side = DrInputs.RoiSide(image, options.RoiSideFraction);
            if (side < DrInputs.MinRoiSide)
            {
                string reason = $"ROI too small: side {side} px (needs ≥ {DrInputs.MinRoiSide} px)";
                return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, limits.Reference, reason, warnings) with
                {
                    Metrics = [MetricResult.Inconclusive(MeanMetric, "PV", null, reason), MetricResult.Inconclusive(SdMetric, "PV", null, reason)],
                };
            }
            var (x, y) = DrInputs.SquareAt(image.Width / 2.0 - 0.5, image.Height / 2.0 - 0.5, side);
            stats = RoiMath.Rectangle(image, x, y, side, side);
            rois.Add(DrInputs.Rect("central ROI", 0, x, y, side, side));
        }

        var mean = Judge(MeanMetric, stats.Mean, options.BaselineMean, options.BaselineTolerance, limits, warnings);
        var sd = Judge(SdMetric, stats.Count > 1 ? stats.StandardDeviation : double.NaN, options.BaselineSd, options.BaselineTolerance, limits, warnings);

        // Uniformity of the dark image: thresholds in units of the image's own SD (a relative threshold means nothing
        // near zero signal).
        var whole = RoiMath.Rectangle(image, 0, 0, image.Width, image.Height);
        double imageSd = double.IsNaN(whole.StandardDeviation) ? 0 : whole.StandardDeviation;
        var scan = DrArtefacts.Scan(image, 0, new ArtefactScanSettings(
            DrArtefacts.TileSizeFor(image, options.TileSizePixels), 0, options.TileThresholdInSd * imageSd, 0, 6, options.MaxListed));
        if (scan.FlaggedTiles > 0) warnings.Add("dark image is not uniform (see the flagged tiles)");
        warnings.AddRange(scan.Warnings);
        rois.AddRange(scan.Rois);

        MetricResult[] metrics = [mean, sd];
        var verdict = AnalysisResult.Combine(metrics);
        return new AnalysisResult
        {
            Profile = Profile,
            AlgorithmVersion = AlgorithmVersion,
            Verdict = verdict,
            InconclusiveReason = verdict == Verdict.Inconclusive ? metrics.First(m => m.Verdict == Verdict.Inconclusive).Note : null,
            Metrics = metrics,
            Warnings = warnings,
            Rois = rois,
            LimitSet = limits.Reference,
        };
    }

    private static MetricResult Judge(string name, double value, double? baseline, double tolerance, LimitSet limits, List<string> warnings)
    {
        if (double.IsNaN(value)) return MetricResult.Inconclusive(name, "PV", null, "too few valid pixels");
        if (baseline is { } b)
        {
            if (b == 0) warnings.Add($"{name}: baseline is 0, so ±{tolerance:P0} of it is the single value 0; store a specified-value limit instead");
            return MetricResult.Judge(name, value, "PV", LimitSet.AroundBaseline(b, tolerance),
                string.Create(CultureInfo.InvariantCulture, $"baseline {b:G6} ± {tolerance * 100:G3} %"));
        }
        if (limits.For(name) is { } specified)
            return MetricResult.Judge(name, value, "PV", specified, "specified value from the limit set (no baseline given)");
        return new MetricResult(name, value, "PV", null, Verdict.Inconclusive, NoBaseline);
    }
}
