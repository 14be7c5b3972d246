using System.Globalization;

namespace QcPipeline.Analysis.Phantoms.Dr;

/// <summary>How a detector's pixel value depends on air kerma (configured per device).</summary>
public enum DetectorResponse
{
    /// <summary>PV = a + b·K.</summary>
    Linear,
    /// <summary>PV = a + b·ln K.</summary>
    Logarithmic,
}

public sealed record DrSignalTransferOptions
{
    public DetectorResponse Response { get; init; } = DetectorResponse.Linear;
    /// <summary>Detector air kerma (µGy) per image, keyed by SOP Instance UID or by the image's index in the input list
    /// ("0", "1", ...); the UID is tried first. Null or empty: air kerma is taken as proportional to mAs.</summary>
    public IReadOnlyDictionary<string, double>? AirKermaMicroGray { get; init; }
    /// <summary>Side of the central square ROI as a fraction of the shorter image side.</summary>
    public double RoiSideFraction { get; init; } = 0.10;
}

/// <summary>DR signal transfer characteristic (STANDARDS.md §2, 信号传递特性): mean pixel value of a central ROI in ≥ 4
/// flat-field images at different detector air kerma, least-squares line of PV against K (linear detector) or ln K
/// (logarithmic detector); R² ≥ 0.95. When no dosimeter readings are supplied, K ∝ mAs: R² and the linear slope's shape
/// do not depend on the unknown factor, but slope and intercept are then in units of mAs (ln mAs), and a warning says so.
/// Images without a usable air kerma are left out with a warning rather than guessed.</summary>
public static class DrSignalTransfer
{
    public const string Profile = "dr-stp";
    public const string AlgorithmVersion = "1.0";
    public const string R2Metric = MetricNames.DrStpR2;
    public const string SlopeMetric = "dr.stp_slope";
    public const string InterceptMetric = "dr.stp_intercept";
    public const int MinImages = 4;

    public static AnalysisResult Analyze(IReadOnlyList<AnalysisImage> images, DrSignalTransferOptions? options = null, LimitSet? limits = null)
    {
        options ??= new DrSignalTransferOptions();
        limits ??= LimitSet.Default;
        var limit = limits.For(R2Metric);
        var warnings = new List<string>();
        if (images is null || images.Count == 0)
            return Inconclusive(limits, limit, "no images", warnings, []);

        bool userKerma = options.AirKermaMicroGray is { Count: > 0 };
        if (!userKerma) warnings.Add("air kerma taken as proportional to mAs (no dosimeter readings supplied)");
        string xName = (userKerma, options.Response) switch
        {
            (true, DetectorResponse.Linear) => "µGy",
            (true, _) => "ln(µGy)",
            (false, DetectorResponse.Linear) => "mAs",
            _ => "ln(mAs)",
        };

        var rois = new List<RoiGeometry>();
        var perImage = new List<ImageResult>();
        var xs = new List<double>();
        var ys = new List<double>();
        var kermas = new List<double>();
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i];
            var imageWarnings = new List<string>();
            if (DrInputs.Problem(image, $"image {i}") is { } problem)
            {
                warnings.Add(problem + "; left out");
                continue;
            }
            DrInputs.AddInputWarnings([image], imageWarnings);
            imageWarnings.ForEach(w => warnings.Add($"image {i}: {w}"));

            double? k = null;
            if (userKerma)
            {
                if (image.SopInstanceUid is { } uid && options.AirKermaMicroGray!.TryGetValue(uid, out var ku)) k = ku;
                else if (options.AirKermaMicroGray!.TryGetValue(i.ToString(CultureInfo.InvariantCulture), out var ki)) k = ki;
                if (k is null) { warnings.Add($"image {i}: no air kerma supplied; left out"); continue; }
            }
            else
            {
                k = image.ExposureMas;
                if (k is null) { warnings.Add($"image {i}: no mAs in the header and no air kerma supplied; left out"); continue; }
            }
            if (!double.IsFinite(k.Value) || k.Value < 0 || (options.Response == DetectorResponse.Logarithmic && k.Value <= 0))
            {
                warnings.Add(string.Create(CultureInfo.InvariantCulture, $"image {i}: air kerma {k.Value:G4} unusable{(options.Response == DetectorResponse.Logarithmic ? " (a logarithmic fit needs K > 0)" : "")}; left out"));
                continue;
            }

            int side = DrInputs.RoiSide(image, options.RoiSideFraction);
            if (side < DrInputs.MinRoiSide) { warnings.Add($"image {i}: ROI too small ({side} px); left out"); continue; }
            var (x, y) = DrInputs.SquareAt(image.Width / 2.0 - 0.5, image.Height / 2.0 - 0.5, side);
            var stats = RoiMath.Rectangle(image, x, y, side, side);
            rois.Add(DrInputs.Rect("central ROI", i, x, y, side, side));
            if (stats.Count * 2 < side * side) { warnings.Add($"image {i}: central ROI is mostly padding; left out"); continue; }

            double xv = options.Response == DetectorResponse.Linear ? k.Value : Math.Log(k.Value);
            xs.Add(xv); ys.Add(stats.Mean); kermas.Add(k.Value);
            perImage.Add(new ImageResult(i, image.SopInstanceUid,
            [
                MetricResult.Judge("dr.stp_pixel_value", stats.Mean, "PV", null),
                MetricResult.Judge("dr.stp_air_kerma", k.Value, userKerma ? "µGy" : "mAs", null, userKerma ? null : "proportional to air kerma"),
            ], imageWarnings));
        }

        int distinct = kermas.Distinct().Count();
        if (xs.Count < MinImages)
            return Inconclusive(limits, limit, $"{xs.Count} usable image(s): the signal transfer fit needs at least {MinImages}", warnings, rois, perImage);
        if (distinct < 2)
            return Inconclusive(limits, limit, "all images have the same air kerma: the fit needs at least 2 distinct values", warnings, rois, perImage);
        if (distinct < MinImages)
            warnings.Add($"only {distinct} distinct air kerma values among {xs.Count} images (the method asks for ≥ {MinImages} different exposures)");

        var (intercept, slope) = MathNet.Numerics.Fit.Line([.. xs], [.. ys]);
        double meanY = ys.Average(), ssTot = 0, ssRes = 0;
        for (int i = 0; i < xs.Count; i++)
        {
            double r = ys[i] - (intercept + slope * xs[i]);
            ssRes += r * r;
            ssTot += (ys[i] - meanY) * (ys[i] - meanY);
        }

        string fit = $"least squares PV = a + b·{(options.Response == DetectorResponse.Linear ? "K" : "ln K")} over {xs.Count} images ({options.Response} detector; K in {(userKerma ? "µGy" : "mAs")})";
        MetricResult r2 = ssTot > 0
            ? MetricResult.Judge(R2Metric, 1 - ssRes / ssTot, "", limit, fit)
            : MetricResult.Inconclusive(R2Metric, "", limit, "the pixel value does not change with air kerma (R² undefined): check that the detector responds");
        MetricResult[] metrics =
        [
            r2,
            MetricResult.Judge(SlopeMetric, slope, $"PV/{xName}", null, userKerma ? null : "per mAs: not comparable between kV settings or devices"),
            MetricResult.Judge(InterceptMetric, intercept, "PV", null, !userKerma && options.Response == DetectorResponse.Logarithmic ? "shifted by the unknown mAs-to-kerma factor" : null),
        ];
        return new AnalysisResult
        {
            Profile = Profile,
            AlgorithmVersion = AlgorithmVersion,
            Verdict = AnalysisResult.Combine(metrics),
            Metrics = metrics,
            Warnings = warnings,
            Rois = rois,
            Images = perImage,
            LimitSet = limits.Reference,
            InconclusiveReason = r2.Verdict == Verdict.Inconclusive ? r2.Note : null,
        };
    }

    private static AnalysisResult Inconclusive(LimitSet limits, Limit? limit, string reason, List<string> warnings, List<RoiGeometry> rois, List<ImageResult>? images = null) =>
        AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, limits.Reference, reason, warnings) with
        {
            Metrics = [MetricResult.Inconclusive(R2Metric, "", limit, reason)],
            Rois = rois,
            Images = images ?? [],
        };
}
