using System.Globalization;

namespace QcPipeline.Analysis.Phantoms.Dr;

/// <summary>Options of <see cref="DrUniformity"/>; every default is a STANDARDS.md §2 *default*.</summary>
public sealed record DrUniformityOptions
{
    /// <summary>Side of each of the 5 square ROIs as a fraction of the shorter image side (≈ 1/10).</summary>
    public double RoiSideFraction { get; init; } = 0.10;
    /// <summary>Artefact tile side in pixels; null: 10 mm from the pixel spacing, else 32 px.</summary>
    public int? TileSizePixels { get; init; }
    /// <summary>A tile is flagged when its mean differs from its neighbours' median by more than this fraction.</summary>
    public double TileRelativeThreshold { get; init; } = 0.03;
    /// <summary>A pixel is defective when it differs from its tile mean by more than this fraction (and 6 noise SDs).</summary>
    public double DefectRelativeThreshold { get; init; } = 0.25;
    public double DefectNoiseSigmas { get; init; } = 6;
    /// <summary>Turn the artefact scan off (the CV alone).</summary>
    public bool ScanArtefacts { get; init; } = true;
    /// <summary>How many flagged tiles/pixels a warning names before "and N more".</summary>
    public int MaxListed { get; init; } = 10;
}

/// <summary>DR response uniformity (STANDARDS.md §2, 响应均匀性, WS 76-2020): 5 square ROIs — the image centre and the
/// centres of the four quadrants — and CV = SD(ROI means) / mean(ROI means) × 100 %, with SD the sample standard
/// deviation (n − 1) of the 5 means. Local non-uniformity (tiles vs neighbours), defective pixels and defective lines are
/// warnings for review: the standard's artefact item is "none", judged by a person.</summary>
public static class DrUniformity
{
    public const string Profile = "dr-uniformity";
    public const string AlgorithmVersion = "1.0";
    public const string CvMetric = MetricNames.DrUniformityCv;

    private static readonly (string Label, double Fx, double Fy)[] Positions =
    [
        ("centre", 0.5, 0.5), ("upper left", 0.25, 0.25), ("upper right", 0.75, 0.25), ("lower left", 0.25, 0.75), ("lower right", 0.75, 0.75),
    ];

    public static AnalysisResult Analyze(AnalysisImage image, DrUniformityOptions? options = null, LimitSet? limits = null)
    {
        options ??= new DrUniformityOptions();
        limits ??= LimitSet.Default;
        var limit = limits.For(CvMetric);
        if (DrInputs.Problem(image, "flat-field image") is { } problem)
            return Inconclusive(limits, limit, problem, []);

        var warnings = new List<string>();
        DrInputs.AddInputWarnings([image], warnings);
        var rois = new List<RoiGeometry>();
        int side = DrInputs.RoiSide(image, options.RoiSideFraction);
        if (side < DrInputs.MinRoiSide)
            return Inconclusive(limits, limit, $"ROIs too small: side {side} px (needs ≥ {DrInputs.MinRoiSide} px; image {image.Width}×{image.Height})", warnings);

        var means = new double[Positions.Length];
        for (int i = 0; i < Positions.Length; i++)
        {
            var (label, fx, fy) = Positions[i];
            var (x, y) = DrInputs.SquareAt(fx * image.Width - 0.5, fy * image.Height - 0.5, side);
            var stats = RoiMath.Rectangle(image, x, y, side, side);
            rois.Add(DrInputs.Rect(label, 0, x, y, side, side));
            if (stats.Count * 2 < side * side)
                return Inconclusive(limits, limit, $"{label} ROI is mostly padding ({stats.Count} of {side * side} pixels valid)", warnings, rois);
            means[i] = stats.Mean;
        }

        double mean = means.Average();
        double sd = Math.Sqrt(means.Sum(m => (m - mean) * (m - mean)) / (means.Length - 1));
        MetricResult cv;
        if (!(mean > 0))
            cv = MetricResult.Inconclusive(CvMetric, "%", limit, string.Create(CultureInfo.InvariantCulture, $"mean of the ROI means is {mean:G4}: a CV needs a positive signal (is this a flat, exposed image?)"));
        else
            cv = MetricResult.Judge(CvMetric, 100 * sd / mean, "%", limit,
                string.Create(CultureInfo.InvariantCulture, $"ROI means {string.Join(", ", means.Select(m => m.ToString("G6", CultureInfo.InvariantCulture)))}; ROI side {side} px"));

        if (options.ScanArtefacts)
        {
            var scan = DrArtefacts.Scan(image, 0, new ArtefactScanSettings(
                DrArtefacts.TileSizeFor(image, options.TileSizePixels), options.TileRelativeThreshold, 0,
                options.DefectRelativeThreshold, options.DefectNoiseSigmas, options.MaxListed));
            warnings.AddRange(scan.Warnings);
            rois.AddRange(scan.Rois);
        }

        MetricResult[] metrics = [cv];
        return new AnalysisResult
        {
            Profile = Profile,
            AlgorithmVersion = AlgorithmVersion,
            Verdict = AnalysisResult.Combine(metrics),
            Metrics = metrics,
            Warnings = warnings,
            Rois = rois,
            LimitSet = limits.Reference,
            InconclusiveReason = cv.Verdict == Verdict.Inconclusive ? cv.Note : null,
        };
    }

    private static AnalysisResult Inconclusive(LimitSet limits, Limit? limit, string reason, List<string> warnings, List<RoiGeometry>? rois = null) =>
        AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, limits.Reference, reason, warnings) with
        {
            Metrics = [MetricResult.Inconclusive(CvMetric, "%", limit, reason)],
            Rois = rois ?? [],
        };
}
