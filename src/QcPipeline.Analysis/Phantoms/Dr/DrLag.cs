using System.Globalization;

namespace QcPipeline.Analysis.Phantoms.Dr;

/// <summary>A rectangle of pixel indices [X, X+Width) × [Y, Y+Height).</summary>
public readonly record struct PixelRectangle(int X, int Y, int Width, int Height)
{
    public PixelRectangle Grow(int by) => new(X - by, Y - by, Width + 2 * by, Height + 2 * by);
}

public sealed record DrLagOptions
{
    /// <summary>The attenuator's footprint in the first image; null: detected from the first image.</summary>
    public PixelRectangle? AttenuatorRegion { get; init; }
    /// <summary>Margin kept inside and outside the footprint (blurred edge, scatter), as a fraction of its shorter side; at least 2 px.</summary>
    public double MarginFraction { get; init; } = 0.10;
    /// <summary>Width of the surrounding frame as a fraction of the footprint's shorter side; at least 4 px.</summary>
    public double SurroundWidthFraction { get; init; } = 0.5;
    /// <summary>Detection needs (open − block) / open of at least this much in the first image.</summary>
    public double MinimumContrast { get; init; } = 0.10;
}

/// <summary>DR residual image / lag (STANDARDS.md §2, 残影): an exposure with an attenuator block, then a flat image.
/// On the flat image, lag = |mean(former attenuator region) − mean(surround)| / mean(surround) × 100 %; ≤ 5.0 %.
/// The block is found in the first image by an intermeans threshold (the midpoint between the mean of the block and the
/// mean of the open field, iterated), the largest low-signal component and its bounding box. The measured region is
/// that box shrunk by a margin; the surround is a frame around the box starting one margin outside it.</summary>
public static class DrLag
{
    public const string Profile = "dr-lag";
    public const string AlgorithmVersion = "1.0";
    public const string LagMetric = MetricNames.DrLagPercent;

    public static AnalysisResult Analyze(AnalysisImage attenuatorImage, AnalysisImage flatImage, DrLagOptions? options = null, LimitSet? limits = null)
    {
        options ??= new DrLagOptions();
        limits ??= LimitSet.Default;
        var limit = limits.For(LagMetric);
        var warnings = new List<string>();
        var rois = new List<RoiGeometry>();
        if (DrInputs.Problem(attenuatorImage, "first (attenuator) image") is { } p1) return Inconclusive(limits, limit, p1, warnings, rois);
        if (DrInputs.Problem(flatImage, "second (flat) image") is { } p2) return Inconclusive(limits, limit, p2, warnings, rois);
        if (attenuatorImage.Width != flatImage.Width || attenuatorImage.Height != flatImage.Height)
            return Inconclusive(limits, limit, $"the two images differ in size ({attenuatorImage.Width}×{attenuatorImage.Height} vs {flatImage.Width}×{flatImage.Height})", warnings, rois);
        DrInputs.AddInputWarnings([attenuatorImage, flatImage], warnings);

        PixelRectangle box;
        if (options.AttenuatorRegion is { } given)
        {
            box = given;
            rois.Add(DrInputs.Rect("attenuator (given)", 0, box.X, box.Y, box.Width, box.Height));
        }
        else
        {
            var (found, why) = Detect(attenuatorImage, options, warnings);
            if (found is not { } b) return Inconclusive(limits, limit, why!, warnings, rois);
            box = b;
            rois.Add(DrInputs.Rect("attenuator (detected)", 0, box.X, box.Y, box.Width, box.Height));
        }

        int shorter = Math.Min(box.Width, box.Height);
        int margin = Math.Max(2, (int)Math.Round(options.MarginFraction * shorter));
        int ring = Math.Max(4, (int)Math.Round(options.SurroundWidthFraction * shorter));
        var inner = box.Grow(-margin);
        if (inner.Width < 2 || inner.Height < 2)
            return Inconclusive(limits, limit, $"attenuator region {box.Width}×{box.Height} px is too small to keep a {margin} px margin", warnings, rois);

        var region = RoiMath.Rectangle(flatImage, inner.X, inner.Y, inner.Width, inner.Height);
        var gap = box.Grow(margin);
        var outer = box.Grow(margin + ring);
        var o = RoiMath.Rectangle(flatImage, outer.X, outer.Y, outer.Width, outer.Height);
        var g = RoiMath.Rectangle(flatImage, gap.X, gap.Y, gap.Width, gap.Height);
        long ringCount = o.Count - (long)g.Count;
        rois.Add(DrInputs.Rect("former attenuator region", 1, inner.X, inner.Y, inner.Width, inner.Height));
        rois.Add(DrInputs.Rect("surround (outer edge)", 1, outer.X, outer.Y, outer.Width, outer.Height));
        rois.Add(DrInputs.Rect("surround (inner edge)", 1, gap.X, gap.Y, gap.Width, gap.Height));
        if (region.Count < 4)
            return Inconclusive(limits, limit, "the former attenuator region has no valid pixels in the second image", warnings, rois);
        if (ringCount < 16)
            return Inconclusive(limits, limit, "no room around the attenuator region for the surround", warnings, rois);
        double ringMean = (o.Mean * o.Count - (g.Count > 0 ? g.Mean * g.Count : 0)) / ringCount;
        if (!(ringMean > 0))
            return Inconclusive(limits, limit, string.Create(CultureInfo.InvariantCulture, $"surround mean {ringMean:G4} in the second image: lag needs an exposed flat image"), warnings, rois);

        double lag = Math.Abs(region.Mean - ringMean) / ringMean * 100;
        var metric = MetricResult.Judge(LagMetric, lag, "%", limit,
            string.Create(CultureInfo.InvariantCulture, $"region mean {region.Mean:G6}, surround mean {ringMean:G6} ({ringCount} px); margin {margin} px"));
        MetricResult[] metrics = [metric];
        return new AnalysisResult
        {
            Profile = Profile,
            AlgorithmVersion = AlgorithmVersion,
            Verdict = AnalysisResult.Combine(metrics),
            Metrics = metrics,
            Warnings = warnings,
            Rois = rois,
            LimitSet = limits.Reference,
        };
    }

    /// <summary>The block's bounding box in the first image, or the reason there is none.</summary>
    internal static (PixelRectangle? Box, string? Why) Detect(AnalysisImage image, DrLagOptions options, List<string> warnings)
    {
        var (t, low, high) = PlanarImageOps.IntermeansThreshold(image.Pixels);
        if (double.IsNaN(t) || !(high > 0) || (high - low) / high < options.MinimumContrast)
            return (null, "no attenuator found in the first image (no low-signal region with enough contrast); give the region");
        var mask = new bool[image.Width * image.Height];
        for (int i = 0; i < mask.Length; i++) mask[i] = image.Pixels[i] < t; // NaN compares false: padding is never the block
        var c = PlanarImageOps.LargestComponent(mask, image.Width, image.Height);
        if (c is not { } comp || comp.Count < 16)
            return (null, "no attenuator found in the first image (largest low-signal region under 16 px); give the region");
        double fill = comp.Count / ((double)comp.BoxWidth * comp.BoxHeight);
        if (fill < 0.7)
            warnings.Add(string.Create(CultureInfo.InvariantCulture, $"the detected attenuator is not rectangular (fills {fill:P0} of its bounding box); check the region"));
        if (comp.TouchesEdge(image.Width, image.Height))
            warnings.Add("the detected attenuator touches the image edge; the surround is measured on the remaining sides");
        return (new PixelRectangle(comp.MinX, comp.MinY, comp.BoxWidth, comp.BoxHeight), null);
    }

    private static AnalysisResult Inconclusive(LimitSet limits, Limit? limit, string reason, List<string> warnings, List<RoiGeometry> rois) =>
        AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, limits.Reference, reason, warnings) with
        {
            Metrics = [MetricResult.Inconclusive(LagMetric, "%", limit, reason)],
            Rois = rois,
        };
}
