using System.Globalization;

namespace QcPipeline.Analysis.Phantoms.Mr;

public enum MrSnrMethod
{
    /// <summary>The difference method when a second image of the same slice is given, else the single-image method.</summary>
    Auto,
    /// <summary>NEMA MS 1 single image: 0.655 × mean(signal) / SD(background air).</summary>
    SingleImage,
    /// <summary>NEMA MS 1 two images: (mean of the sum image / 2) / (SD of the difference image / √2), same ROI.</summary>
    Difference,
}

public sealed record MrUniformOptions
{
    /// <summary>Phantom mask: pixels at or above this fraction of the robust maximum (99th percentile).</summary>
    public double PhantomThresholdFraction { get; init; } = 0.5;
    /// <summary>The large ROI's area as a fraction of the phantom's (ACR: ≈ 75 %, ≈ 200 cm² for the large phantom).</summary>
    public double LargeRoiAreaFraction { get; init; } = 0.75;
    /// <summary>Area of the sliding PIU ROI (ACR: 1 cm²).</summary>
    public double SmallRoiAreaMm2 { get; init; } = 100;
    /// <summary>Ghost ROIs: ACR asks for ≈ 10 cm² ellipses of 4:1; we use rectangles of this size, shrunk to fit.</summary>
    public double GhostRoiLengthMm { get; init; } = 63;
    public double GhostRoiWidthMm { get; init; } = 16;
    /// <summary>Side of the square background (noise) ROIs in the image corners.</summary>
    public double NoiseRoiSideMm { get; init; } = 20;
    /// <summary>Gap kept between the phantom, the ROIs outside it and the image edge.</summary>
    public double MarginMm { get; init; } = 4;
    public MrSnrMethod SnrMethod { get; init; } = MrSnrMethod.Auto;
    /// <summary>The device's stored SNR baseline; judged within ±<see cref="SnrTolerance"/> of it.</summary>
    public double? SnrBaseline { get; init; }
    public double SnrTolerance { get; init; } = 0.10;
    /// <summary>SD of magnitude noise in air / SD of the underlying Gaussian noise: √(2 − π/2) ≈ 0.655 (Rayleigh).</summary>
    public double RayleighFactor { get; init; } = 0.655;
}

/// <summary>MR uniform-slice QC (STANDARDS.md §3, ACR defaults): SNR, percent integral uniformity and percent-signal
/// ghosting on one image of a uniform phantom slice, plus an optional second image of the same slice for the
/// difference-method SNR.
/// <list type="bullet">
/// <item>Phantom: pixels ≥ 50 % of the 99th percentile, largest component, centroid and equivalent-disc radius.</item>
/// <item>SNR: single-image = 0.655 × S / SD(air) (the Rayleigh correction, NEMA MS 1), where S is the large ROI's mean and
/// SD(air) pools the variances of up to four corner ROIs; difference = (mean of the sum / 2) / (SD of the difference / √2)
/// in the large ROI. Both estimate A/σ (signal amplitude over the per-channel Gaussian noise). With two images the
/// difference value is <c>mr.snr</c> and the single-image value is reported as <c>mr.snr_single</c>.</item>
/// <item>PIU: the 1 cm² sliding ROI is approximated by a square (summed-area table, every position whose corner pixels lie
/// inside the large ROI); PIU = 100 × (1 − (high − low) / (high + low)). Limit: <c>mr.piu_percent</c> below 2.9 T;
/// at ≥ 2.9 T the limit set's <c>mr.piu_percent@3T</c>, else ≥ 82.0 % (ACR).</item>
/// <item>Ghosting: rectangles above, below, left and right of the phantom; |((T + B) − (L + R)) / (2 S)| × 100.</item>
/// </list>
/// SNR has no absolute limit: it is judged against the device's baseline (±10 %), else its verdict is Inconclusive with
/// the note "no baseline stored" and the value is still reported.</summary>
public static class MrUniform
{
    public const string Profile = "mr-uniform";
    public const string AlgorithmVersion = "1.0";
    public const string SnrMetric = MetricNames.MrSnr;
    public const string SnrSingleMetric = "mr.snr_single";
    public const string SnrMethodMetric = "mr.snr_method";
    public const string PiuMetric = MetricNames.MrPiu;
    public const string Piu3TMetric = "mr.piu_percent@3T";
    public const string GhostingMetric = MetricNames.MrGhosting;
    public const string NoBaseline = "no baseline stored";
    /// <summary>ACR value at 3 T, used when the limit set has no <see cref="Piu3TMetric"/>.</summary>
    public static readonly Limit Piu3TDefault = Limit.AtLeast(82.0);
    /// <summary>Inside diameter of the ACR large phantom (mm), used for scale when the image has no pixel spacing.</summary>
    public const double AcrPhantomDiameterMm = 190;

    public static AnalysisResult Analyze(AnalysisImage image, AnalysisImage? secondImage = null, MrUniformOptions? options = null, LimitSet? limits = null)
    {
        options ??= new MrUniformOptions();
        limits ??= LimitSet.Default;
        var warnings = new List<string>();
        var piuLimit = PiuLimit(image, limits, warnings);
        if (Problem(image, "image") is { } problem) return Inconclusive(limits, piuLimit, problem, warnings, []);

        // Phantom detection.
        double robustMax = PlanarImageOps.Percentile(image.Pixels, 0.99);
        if (!(robustMax > 0)) return Inconclusive(limits, piuLimit, "no phantom: the image has no signal", warnings, []);
        double threshold = options.PhantomThresholdFraction * robustMax;
        var mask = new bool[image.Width * image.Height];
        for (int i = 0; i < mask.Length; i++) mask[i] = image.Pixels[i] >= threshold;
        var found = PlanarImageOps.LargestComponent(mask, image.Width, image.Height);
        if (found is not { } phantom || phantom.Count < 50 || phantom.Count < mask.Length / 200)
            return Inconclusive(limits, piuLimit, "no phantom found (no bright region of at least 0.5 % of the image)", warnings, []);
        double cx = phantom.CentroidX, cy = phantom.CentroidY, radius = Math.Sqrt(phantom.Count / Math.PI);
        var rois = new List<RoiGeometry> { new CircleRoi("phantom", 0, cx, cy, radius) };
        if (phantom.TouchesEdge(image.Width, image.Height))
            return Inconclusive(limits, piuLimit, "the phantom touches the image edge (field of view too small or phantom off centre)", warnings, rois);

        double mm = PixelSize(image, radius, warnings);
        int margin = Math.Max(2, (int)Math.Round(options.MarginMm / mm));

        // Large ROI.
        double largeRadius = radius * Math.Sqrt(Math.Clamp(options.LargeRoiAreaFraction, 0.05, 1));
        var large = RoiMath.Circle(image, cx, cy, largeRadius);
        rois.Add(new CircleRoi("large ROI", 0, cx, cy, largeRadius));
        var metrics = new List<MetricResult>();
        if (!(large.Mean > 0) || large.Count < 4)
            return Inconclusive(limits, piuLimit, "the large ROI has no signal", warnings, rois);

        metrics.AddRange(Snr(image, secondImage, options, limits, warnings, rois, cx, cy, radius, largeRadius, large, mm, margin));
        metrics.Add(Piu(image, options, piuLimit, rois, cx, cy, largeRadius, mm));
        metrics.Add(Ghosting(image, options, limits, rois, phantom, cx, cy, large.Mean, mm, margin));

        var verdict = AnalysisResult.Combine(metrics);
        var why = metrics.Where(m => m.Verdict == Verdict.Inconclusive).Select(m => $"{m.Name}: {m.Note}").ToList();
        return new AnalysisResult
        {
            Profile = Profile,
            AlgorithmVersion = AlgorithmVersion,
            Verdict = verdict,
            Metrics = metrics,
            Warnings = warnings,
            Rois = rois,
            LimitSet = limits.Reference,
            InconclusiveReason = verdict == Verdict.Inconclusive && why.Count > 0 ? string.Join("; ", why) : null,
        };
    }

    private static string? Problem(AnalysisImage? image, string role)
    {
        if (image is null) return $"{role}: no image";
        if (image.Width <= 0 || image.Height <= 0 || image.Pixels is null || image.Pixels.Length < (long)image.Width * image.Height)
            return $"{role}: empty image (no pixels)";
        if (!string.IsNullOrEmpty(image.Modality) && !string.Equals(image.Modality, "MR", StringComparison.OrdinalIgnoreCase))
            return $"{role}: wrong modality {image.Modality} (mr-uniform needs MR)";
        return null;
    }

    private static Limit? PiuLimit(AnalysisImage? image, LimitSet limits, List<string> warnings)
    {
        if (image?.MagneticFieldStrength is { } b0)
            return b0 >= 2.9 ? limits.For(Piu3TMetric) ?? Piu3TDefault : limits.For(PiuMetric);
        if (image is not null) warnings.Add("no Magnetic Field Strength: PIU judged by the below-3 T limit");
        return limits.For(PiuMetric);
    }

    /// <summary>Mean pixel size in mm; without Pixel Spacing, the phantom is taken to be the ACR large phantom.</summary>
    private static double PixelSize(AnalysisImage image, double radiusPx, List<string> warnings)
    {
        if (image.PixelSpacingX is > 0 && image.PixelSpacingY is > 0)
        {
            double sx = image.PixelSpacingX.Value, sy = image.PixelSpacingY.Value;
            if (Math.Abs(sx - sy) > 0.01 * Math.Max(sx, sy))
                warnings.Add(string.Create(CultureInfo.InvariantCulture, $"non-square pixels ({sx:G4} × {sy:G4} mm): ROI sizes use their geometric mean"));
            return Math.Sqrt(sx * sy);
        }
        warnings.Add($"no Pixel Spacing: scale taken from the phantom as the ACR large phantom ({AcrPhantomDiameterMm} mm across)");
        return AcrPhantomDiameterMm / (2 * radiusPx);
    }

    private static IEnumerable<MetricResult> Snr(AnalysisImage image, AnalysisImage? second, MrUniformOptions o, LimitSet limits,
        List<string> warnings, List<RoiGeometry> rois, double cx, double cy, double radius, double largeRadius, RoiStatistics large, double mm, int margin)
    {
        Limit? limit = o.SnrBaseline is { } b ? LimitSet.AroundBaseline(b, o.SnrTolerance) : limits.For(SnrMetric);
        string? limitNote = o.SnrBaseline is { } bb ? string.Create(CultureInfo.InvariantCulture, $"baseline {bb:G5} ± {o.SnrTolerance * 100:G3} %") : null;

        // Single-image estimate (always attempted: it is the fallback and, with two images, a cross-check).
        var (single, singleWhy) = SingleImageSnr(image, o, rois, cx, cy, radius, large.Mean, mm, margin);

        string? secondWhy = null;
        if (second is not null)
        {
            if (Problem(second, "second image") is { } p) secondWhy = p;
            else if (second.Width != image.Width || second.Height != image.Height) secondWhy = "second image differs in size";
            else if (image.SlicePosition is { } z1 && second.SlicePosition is { } z2 && Math.Abs(z1 - z2) > 0.01)
                secondWhy = string.Create(CultureInfo.InvariantCulture, $"second image is another slice ({z1:G5} vs {z2:G5} mm)");
            if (secondWhy is not null) warnings.Add(secondWhy + ": the difference method is not used");
        }
        bool useDifference = o.SnrMethod == MrSnrMethod.Difference || (o.SnrMethod == MrSnrMethod.Auto && second is not null && secondWhy is null);

        if (!useDifference)
        {
            yield return new MetricResult(SnrMethodMetric, null, "", null, Verdict.Pass, "single image (NEMA MS 1): 0.655 × mean(large ROI) / SD(background corners)");
            yield return single is { } s ? JudgeSnr(SnrMetric, s, limit, limitNote) : MetricResult.Inconclusive(SnrMetric, "", limit, singleWhy!);
            yield break;
        }

        yield return new MetricResult(SnrMethodMetric, null, "", null, Verdict.Pass, "difference of two images (NEMA MS 1): (mean of sum / 2) / (SD of difference / √2) in the large ROI");
        if (second is null || secondWhy is not null)
        {
            yield return MetricResult.Inconclusive(SnrMetric, "", limit, secondWhy ?? "the difference method needs a second image of the same slice");
            yield break;
        }
        var diff = new RoiMath.Accumulator();
        var sum = new RoiMath.Accumulator();
        int x0 = Math.Max(0, (int)Math.Floor(cx - largeRadius)), x1 = Math.Min(image.Width - 1, (int)Math.Ceiling(cx + largeRadius));
        int y0 = Math.Max(0, (int)Math.Floor(cy - largeRadius)), y1 = Math.Min(image.Height - 1, (int)Math.Ceiling(cy + largeRadius));
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                double dx = x - cx, dy = y - cy;
                if (dx * dx + dy * dy > largeRadius * largeRadius) continue;
                float a = image.Pixels[y * image.Width + x], c = second.Pixels[y * image.Width + x];
                if (float.IsNaN(a) || float.IsNaN(c)) continue;
                diff.Add(a - c);
                sum.Add(a + c);
            }
        var d = diff.Result;
        if (!(d.StandardDeviation > 0))
            yield return MetricResult.Inconclusive(SnrMetric, "", limit, "the two images are identical in the large ROI (no noise in their difference)");
        else
            yield return JudgeSnr(SnrMetric, sum.Result.Mean / 2 / (d.StandardDeviation / Math.Sqrt(2)), limit, limitNote);
        if (single is { } sv) yield return MetricResult.Judge(SnrSingleMetric, sv, "", null, "single-image estimate on the first image (cross-check)");
    }

    private static MetricResult JudgeSnr(string name, double value, Limit? limit, string? note) =>
        limit is null ? new MetricResult(name, value, "", null, Verdict.Inconclusive, NoBaseline) : MetricResult.Judge(name, value, "", limit, note);

    private static (double? Snr, string? Why) SingleImageSnr(AnalysisImage image, MrUniformOptions o, List<RoiGeometry> rois,
        double cx, double cy, double radius, double signal, double mm, int margin)
    {
        int target = Math.Max(4, (int)Math.Round(o.NoiseRoiSideMm / mm));
        double clearance = radius + margin;
        double pooledVariance = 0;
        int used = 0;
        foreach (var (label, right, bottom) in new[] { ("noise upper left", false, false), ("noise upper right", true, false), ("noise lower left", false, true), ("noise lower right", true, true) })
        {
            for (int side = target; side >= 4; side--)
            {
                int x = right ? image.Width - margin - side : margin, y = bottom ? image.Height - margin - side : margin;
                if (x < 0 || y < 0) continue;
                // Nearest point of the square to the phantom centre must stay clear of the phantom disc.
                double nx = Math.Clamp(cx, x, x + side - 1), ny = Math.Clamp(cy, y, y + side - 1);
                if (Math.Sqrt((nx - cx) * (nx - cx) + (ny - cy) * (ny - cy)) < clearance) continue;
                var s = RoiMath.Rectangle(image, x, y, side, side);
                if (s.Count < 16) break;
                if (s.Mean > 0.1 * signal) break; // not air (wrap-around, another object)
                pooledVariance += s.StandardDeviation * s.StandardDeviation;
                used++;
                rois.Add(new RectangleRoi(label, 0, x - 0.5, y - 0.5, side, side));
                break;
            }
        }
        if (used < 2) return (null, "no background room for noise ROIs (needs at least two image corners clear of the phantom)");
        double sd = Math.Sqrt(pooledVariance / used);
        if (!(sd > 0)) return (null, "background SD is zero (noise-free or zero-filled background): use the two-image difference method");
        return (o.RayleighFactor * signal / sd, null);
    }

    private static MetricResult Piu(AnalysisImage image, MrUniformOptions o, Limit? limit, List<RoiGeometry> rois, double cx, double cy, double largeRadius, double mm)
    {
        int k = Math.Max(1, (int)Math.Round(Math.Sqrt(o.SmallRoiAreaMm2) / mm));
        int bx = (int)Math.Floor(cx - largeRadius), by = (int)Math.Floor(cy - largeRadius);
        int bw = (int)Math.Ceiling(2 * largeRadius) + 2;
        var table = SummedAreaTable.Build(image, bx, by, bw, bw, 0);
        double r2 = largeRadius * largeRadius;
        bool Inside(int x, int y) => (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r2;
        double high = double.NegativeInfinity, low = double.PositiveInfinity;
        int hx = 0, hy = 0, lx = 0, ly = 0, positions = 0;
        for (int y = table.Y0; y + k <= table.Y0 + table.Height; y++)
            for (int x = table.X0; x + k <= table.X0 + table.Width; x++)
            {
                // The square's corner pixels inside the large ROI ⇒ every pixel is (the disc is convex).
                if (!Inside(x, y) || !Inside(x + k - 1, y) || !Inside(x, y + k - 1) || !Inside(x + k - 1, y + k - 1)) continue;
                var s = table.Query(x, y, k, k);
                if (s.Count * 10 < k * k * 9) continue;
                positions++;
                if (s.Mean > high) { high = s.Mean; hx = x; hy = y; }
                if (s.Mean < low) { low = s.Mean; lx = x; ly = y; }
            }
        if (positions == 0) return MetricResult.Inconclusive(PiuMetric, "%", limit, "the 1 cm² ROI does not fit inside the large ROI");
        if (!(high + low > 0)) return MetricResult.Inconclusive(PiuMetric, "%", limit, "no signal in the large ROI");
        rois.Add(new RectangleRoi("PIU high", 0, hx - 0.5, hy - 0.5, k, k));
        rois.Add(new RectangleRoi("PIU low", 0, lx - 0.5, ly - 0.5, k, k));
        return MetricResult.Judge(PiuMetric, 100 * (1 - (high - low) / (high + low)), "%", limit,
            string.Create(CultureInfo.InvariantCulture, $"high {high:G6}, low {low:G6}; {k}×{k} px square ≈ {o.SmallRoiAreaMm2:G3} mm² over {positions} positions"));
    }

    private static MetricResult Ghosting(AnalysisImage image, MrUniformOptions o, LimitSet limits, List<RoiGeometry> rois,
        MaskComponent phantom, double cx, double cy, double signal, double mm, int margin)
    {
        var limit = limits.For(GhostingMetric);
        int len = Math.Max(4, (int)Math.Round(o.GhostRoiLengthMm / mm)), wid = Math.Max(2, (int)Math.Round(o.GhostRoiWidthMm / mm));
        int w = image.Width, h = image.Height;
        var missing = new List<string>();
        double Band(string label, bool vertical, int lo, int hi, double along)
        {
            // lo..hi: the free band across the readout/phase axis (exclusive hi); along: the ROI centre on the other axis.
            int room = hi - lo, thick = Math.Min(wid, room);
            int extent = Math.Min(len, (vertical ? h : w) - 2 * margin);
            if (thick < 2 || extent < 4) { missing.Add(label); return double.NaN; }
            int start = lo + (room - thick) / 2;
            int a = Math.Clamp((int)Math.Round(along - extent / 2.0), margin, (vertical ? h : w) - margin - extent);
            var (x, y, rw, rh) = vertical ? (start, a, thick, extent) : (a, start, extent, thick);
            var s = RoiMath.Rectangle(image, x, y, rw, rh);
            if (s.Count < 4) { missing.Add(label); return double.NaN; }
            rois.Add(new RectangleRoi($"ghost {label}", 0, x - 0.5, y - 0.5, rw, rh));
            return s.Mean;
        }
        double top = Band("top", false, margin, phantom.MinY - margin, cx);
        double bottom = Band("bottom", false, phantom.MaxY + 1 + margin, h - margin, cx);
        double left = Band("left", true, margin, phantom.MinX - margin, cy);
        double right = Band("right", true, phantom.MaxX + 1 + margin, w - margin, cy);
        if (missing.Count > 0)
            return MetricResult.Inconclusive(GhostingMetric, "%", limit, $"no background room for ghost ROIs ({string.Join(", ", missing)} of the phantom)");
        double ratio = Math.Abs((top + bottom - (left + right)) / (2 * signal)) * 100;
        return MetricResult.Judge(GhostingMetric, ratio, "%", limit,
            string.Create(CultureInfo.InvariantCulture, $"top {top:G5}, bottom {bottom:G5}, left {left:G5}, right {right:G5}, large ROI {signal:G6}"));
    }

    private static AnalysisResult Inconclusive(LimitSet limits, Limit? piuLimit, string reason, List<string> warnings, List<RoiGeometry> rois) =>
        AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, limits.Reference, reason, warnings) with
        {
            Metrics =
            [
                MetricResult.Inconclusive(SnrMetric, "", null, reason),
                MetricResult.Inconclusive(PiuMetric, "%", piuLimit, reason),
                MetricResult.Inconclusive(GhostingMetric, "%", limits.For(GhostingMetric), reason),
            ],
            Rois = rois,
        };
}
