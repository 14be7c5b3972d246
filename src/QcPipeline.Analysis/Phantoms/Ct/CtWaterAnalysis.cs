using System.Globalization;

namespace QcPipeline.Analysis.Phantoms.Ct;

/// <summary>CT number of water, noise and uniformity on a water phantom series (STANDARDS.md §1), pylinac-shaped:
/// slices + options → <see cref="Analyze"/> → an immutable <see cref="AnalysisResult"/> with per-slice detail,
/// warnings and the ROI geometry to draw. Pure: no I/O, no shared state.</summary>
/// <remarks>Decisions where the standard is silent (all configurable through <see cref="CtWaterOptions"/>):
/// ROIs are sized from the <em>measured</em> diameter; every slice is measured, the verdict comes from the mean
/// over the central slices; aggregate uniformity is the largest |mean over the central slices of
/// (peripheral − centre)|, per position, so that noise averages out as for the other metrics (a single slice
/// beyond the limit is a warning); zero variance or too few pixels in the centre ROI make the noise inconclusive.</remarks>
public static class CtWaterAnalysis
{
    public const string Profile = "ct-water";
    public const string AlgorithmVersion = "ct-water/1.0.0";

    public const string WaterMetric = MetricNames.CtWaterHu;
    public const string NoiseMetric = MetricNames.CtNoisePercent;
    public const string UniformityMetric = MetricNames.CtUniformityHu;
    public const string AirMetric = "ct.air_hu";
    public const string CentringMetric = "ct.centring_mm";
    public const string DiameterMetric = "ct.diameter_mm";

    /// <summary>Peripheral positions, clockwise from 12 o'clock; image y runs down, so 12 o'clock is −y.</summary>
    public static IReadOnlyList<string> PeripheralLabels { get; } = ["12 o'clock", "3 o'clock", "6 o'clock", "9 o'clock"];
    private static readonly string[] DiffMetrics = ["ct.uniformity_12_hu", "ct.uniformity_3_hu", "ct.uniformity_6_hu", "ct.uniformity_9_hu"];
    private static readonly (double X, double Y)[] PeripheralDirections = [(0, -1), (1, 0), (0, 1), (-1, 0)];
    /// <summary>Air ROI directions: left, right, up and the upper diagonals; never down, where the table is.</summary>
    private static readonly (double X, double Y)[] AirDirections = [(-1, 0), (1, 0), (0, -1), (-Math.Sqrt(0.5), -Math.Sqrt(0.5)), (Math.Sqrt(0.5), -Math.Sqrt(0.5))];

    public static string DifferenceMetric(int position) => DiffMetrics[position];

    public static AnalysisResult Analyze(IReadOnlyList<AnalysisImage> slices, CtWaterOptions options, LimitSet limits)
    {
        ArgumentNullException.ThrowIfNull(slices);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(limits);
        var reference = limits.Reference;
        if (slices.Count == 0) return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, reference, "no images");
        try { options.Phantom.Validate(); }
        catch (FormatException e) { return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, reference, e.Message); }
        for (int i = 0; i < slices.Count; i++)
        {
            if (slices[i] is null) return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, reference, $"frame {i} is missing");
            if (!string.Equals(slices[i].Modality, "CT", StringComparison.OrdinalIgnoreCase))
                return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, reference, $"modality '{slices[i].Modality}' is not CT (frame {i})");
        }

        var warnings = new List<string>();
        CtSeries.CheckMatrix(slices, options.MinMatrix, warnings);
        var order = CtSeries.Order(slices, options.SliceSpacingTolerance, warnings);
        var central = new HashSet<int>(CtSeries.Central(order, options.CentralSlices).ToArray());

        var ws = new CtWorkspace();
        var rois = new List<RoiGeometry>();
        var images = new ImageResult[slices.Count];
        var measures = new SliceMeasure[slices.Count];
        int failed = 0; string? firstFailure = null;
        foreach (int i in order)
        {
            var m = MeasureSlice(slices[i], i, options, limits, ws, rois);
            measures[i] = m;
            images[i] = new ImageResult(i, slices[i].SopInstanceUid, m.Metrics, m.Warnings);
            if (m.Problem is not null) { failed++; firstFailure ??= $"frame {i}: {m.Problem}"; }
        }
        if (failed > 0) warnings.Add($"{failed} of {slices.Count} slices could not be measured (first: {firstFailure})");

        // Aggregate over the central slices that could be measured.
        var used = new List<SliceMeasure>();
        foreach (int i in CtSeries.Central(order, options.CentralSlices))
        {
            var m = measures[i];
            if (m.Problem is null) used.Add(m);
            foreach (var w in m.Warnings) warnings.Add($"frame {i}: {w}");
        }
        if (used.Count == 0)
        {
            int mid = CtSeries.Central(order, 1)[0];
            return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, reference, measures[mid].Problem ?? "no central slice could be measured", warnings)
                with { Images = images, Rois = rois };
        }
        var metrics = Aggregate(used, options, limits, warnings);
        return new AnalysisResult
        {
            Profile = Profile,
            AlgorithmVersion = AlgorithmVersion,
            Verdict = AnalysisResult.Combine(metrics),
            Metrics = metrics,
            Warnings = warnings,
            Rois = rois,
            LimitSet = reference,
            Images = images,
        };
    }

    private sealed class SliceMeasure
    {
        public int Frame;
        public string? Problem;
        public PhantomFit Fit;
        public double Centring;
        public double? Water, Sigma, Noise, Air, Uniformity;
        public readonly double?[] Diff = new double?[4];
        public bool AirMeasured;
        public string? WaterProblem, NoiseProblem, UniformityProblem;
        public readonly List<(string Metric, double Value, CtInsert Insert)> Inserts = [];
        public List<MetricResult> Metrics = [];
        public readonly List<string> Warnings = [];
    }

    private static SliceMeasure MeasureSlice(AnalysisImage image, int frame, CtWaterOptions o, LimitSet limits, CtWorkspace ws, List<RoiGeometry> rois)
    {
        var m = new SliceMeasure { Frame = frame };
        var fit = CtPhantomDetector.Detect(image, o.Detection, ws, out var problem);
        if (fit is not { } f)
        {
            m.Problem = problem ?? "no phantom";
            m.Metrics =
            [
                MetricResult.Inconclusive(WaterMetric, "HU", limits.For(WaterMetric), m.Problem),
                MetricResult.Inconclusive(NoiseMetric, "%", limits.For(NoiseMetric), m.Problem),
                MetricResult.Inconclusive(UniformityMetric, "HU", limits.For(UniformityMetric), m.Problem),
            ];
            return m;
        }
        m.Fit = f;
        var def = o.Phantom;
        double s = f.Spacing;
        if (Math.Abs(f.SpacingX - f.SpacingY) > 0.01 * s)
            m.Warnings.Add($"pixels not square ({f.SpacingX:G4} × {f.SpacingY:G4} mm): circular ROIs use the mean spacing");
        rois.Add(new CircleRoi("phantom edge", frame, f.CenterX, f.CenterY, f.RadiusPixels));

        double offX = (f.CenterX - (image.Width - 1) / 2.0) * f.SpacingX, offY = (f.CenterY - (image.Height - 1) / 2.0) * f.SpacingY;
        double centring = Math.Sqrt(offX * offX + offY * offY);
        m.Centring = centring;
        if (centring > o.MaxCentringOffsetMm)
            m.Warnings.Add($"phantom not centred: centre {centring:F1} mm from the image centre (> {o.MaxCentringOffsetMm:G3} mm, STANDARDS.md §1 image rules)");
        if (Math.Abs(f.DiameterMm - def.NominalDiameterMm) > o.DiameterTolerance * def.NominalDiameterMm)
            m.Warnings.Add($"measured diameter {f.DiameterMm:F1} mm differs from the nominal {def.NominalDiameterMm:G4} mm of {def.Name}");

        // ROIs of STANDARDS.md §1, in mm through the pixel spacing.
        double roiRadiusMm = def.RoiDiameterFraction * f.DiameterMm / 2;
        double roiRadius = roiRadiusMm / s;
        double ringMm = f.RadiusMm - def.EdgeInsetMm - roiRadiusMm;
        var centre = RoiMath.Circle(image, f.CenterX, f.CenterY, roiRadius);
        rois.Add(new CircleRoi("centre", frame, f.CenterX, f.CenterY, roiRadius));
        if (centre.Count < o.MinRoiPixels)
        {
            m.WaterProblem = m.NoiseProblem = m.UniformityProblem = $"central ROI has {centre.Count} pixel(s), fewer than {o.MinRoiPixels}";
        }
        else
        {
            m.Water = centre.Mean;
            m.Sigma = centre.StandardDeviation;
            if (!(centre.StandardDeviation > 0))
                m.NoiseProblem = "zero variance in the central ROI (a noise-free or synthetic image): noise cannot be judged";
        }

        if (ringMm < roiRadiusMm)
        {
            m.UniformityProblem ??= $"phantom too small for peripheral ROIs {def.EdgeInsetMm:G3} mm inside its edge";
        }
        else
        {
            double ring = ringMm / s;
            for (int k = 0; k < 4; k++)
            {
                double x = f.CenterX + PeripheralDirections[k].X * ring, y = f.CenterY + PeripheralDirections[k].Y * ring;
                var p = RoiMath.Circle(image, x, y, roiRadius);
                rois.Add(new CircleRoi(PeripheralLabels[k], frame, x, y, roiRadius));
                if (p.Count < o.MinRoiPixels) { m.UniformityProblem ??= $"{PeripheralLabels[k]} ROI has {p.Count} pixel(s), fewer than {o.MinRoiPixels}"; continue; }
                if (m.Water is { } w) m.Diff[k] = p.Mean - w;
            }
            if (m.UniformityProblem is null && m.Water is not null)
            {
                double worst = 0;
                foreach (var d in m.Diff) worst = Math.Max(worst, Math.Abs(d!.Value));
                m.Uniformity = worst;
            }
        }

        // CT_air: measured beside the phantom when the field of view allows, else assumed (STANDARDS.md §1).
        double airRadius = o.AirRoiDiameterMm / 2 / s;
        double airDistance = (f.RadiusMm + o.AirGapMm + o.AirRoiDiameterMm / 2) / s;
        double airSum = 0; int airRois = 0;
        foreach (var (dx, dy) in AirDirections)
        {
            double x = f.CenterX + dx * airDistance, y = f.CenterY + dy * airDistance;
            if (AirMean(image, x, y, airRadius, o.MinAirPixels, o.Detection.ThresholdHu) is { } mean)
            {
                airSum += mean; airRois++;
                rois.Add(new CircleRoi("air", frame, x, y, airRadius));
            }
        }
        m.AirMeasured = airRois > 0;
        m.Air = m.AirMeasured ? airSum / airRois : o.AssumedAirHu;
        if (!m.AirMeasured) m.Warnings.Add($"CT_air assumed {o.AssumedAirHu:G5} HU: no air region outside the phantom in the field of view");
        if (m.NoiseProblem is null && m.Water is { } water && m.Sigma is { } sigma)
        {
            double contrast = water - m.Air.Value;
            if (contrast > 0) m.Noise = sigma / contrast * 100;
            else m.NoiseProblem = $"CT_water − CT_air = {contrast:F1} HU is not positive";
        }

        foreach (var insert in def.Inserts)
        {
            double x = f.CenterX + insert.XMm / f.SpacingX, y = f.CenterY + insert.YMm / f.SpacingY;
            double r = insert.DiameterMm / 2 / s;
            var st = RoiMath.Circle(image, x, y, r);
            rois.Add(new CircleRoi(insert.Name, frame, x, y, r));
            if (st.Count >= o.MinRoiPixels) m.Inserts.Add((InsertMetric(insert), st.Mean, insert));
        }

        m.Metrics = SliceMetrics(m, limits, centring);
        return m;
    }

    private static List<MetricResult> SliceMetrics(SliceMeasure m, LimitSet limits, double centring)
    {
        var list = new List<MetricResult>(12)
        {
            Value(WaterMetric, m.Water, "HU", limits, m.WaterProblem),
            Value(NoiseMetric, m.Noise, "%", limits, m.NoiseProblem, AirNote(m.AirMeasured, m.Air!.Value)),
            Value(UniformityMetric, m.Uniformity, "HU", limits, m.UniformityProblem),
        };
        for (int k = 0; k < 4; k++)
            if (m.Diff[k] is { } d) list.Add(MetricResult.Judge(DiffMetrics[k], d, "HU", limits.For(DiffMetrics[k]), $"mean({PeripheralLabels[k]}) − mean(centre)"));
        if (m.AirMeasured) list.Add(MetricResult.Judge(AirMetric, m.Air, "HU", limits.For(AirMetric), "mean of the air ROIs"));
        list.Add(MetricResult.Judge(CentringMetric, centring, "mm", limits.For(CentringMetric), "phantom centre to image centre"));
        list.Add(MetricResult.Judge(DiameterMetric, m.Fit.DiameterMm, "mm", limits.For(DiameterMetric)));
        foreach (var (name, value, insert) in m.Inserts) list.Add(MetricResult.Judge(name, value, "HU", InsertLimit(name, insert, limits)));
        return list;
    }

    private static List<MetricResult> Aggregate(List<SliceMeasure> used, CtWaterOptions o, LimitSet limits, List<string> warnings)
    {
        string frames = string.Join(", ", used.ConvertAll(u => u.Frame.ToString(CultureInfo.InvariantCulture)));
        string over = used.Count == 1 ? $"frame {frames}" : $"mean over frames {frames}";
        var metrics = new List<MetricResult>(12)
        {
            MeanMetric(WaterMetric, "HU", used, u => u.Water, u => u.WaterProblem, limits, over, warnings),
        };

        int measuredAir = 0;
        foreach (var u in used) if (u.AirMeasured) measuredAir++;
        string airNote = measuredAir == used.Count ? "CT_air measured in air outside the phantom"
            : measuredAir == 0 ? $"CT_air assumed {o.AssumedAirHu:G5} HU (no air in the field of view)"
            : $"CT_air measured on {measuredAir} of {used.Count} slices, assumed {o.AssumedAirHu:G5} HU on the others";
        metrics.Add(MeanMetric(NoiseMetric, "%", used, u => u.Noise, u => u.NoiseProblem, limits, $"{over}; {airNote}", warnings));
        if (measuredAir < used.Count) warnings.Add(airNote);

        // Uniformity: per position the mean difference over the slices, then the largest magnitude.
        var diffs = new double?[4];
        string? uniformityProblem = null;
        foreach (var u in used) uniformityProblem ??= u.UniformityProblem;
        if (uniformityProblem is null)
        {
            for (int k = 0; k < 4; k++)
            {
                double sum = 0;
                foreach (var u in used) sum += u.Diff[k]!.Value;
                diffs[k] = sum / used.Count;
            }
            double worst = 0; int at = 0;
            for (int k = 0; k < 4; k++) if (Math.Abs(diffs[k]!.Value) > worst) { worst = Math.Abs(diffs[k]!.Value); at = k; }
            metrics.Add(MetricResult.Judge(UniformityMetric, worst, "HU", limits.For(UniformityMetric), $"{over}; largest at {PeripheralLabels[at]}"));
            for (int k = 0; k < 4; k++) metrics.Add(MetricResult.Judge(DiffMetrics[k], diffs[k], "HU", limits.For(DiffMetrics[k]), $"mean({PeripheralLabels[k]}) − mean(centre), {over}"));
            var ul = limits.For(UniformityMetric);
            foreach (var u in used)
                if (ul is not null && u.Uniformity is { } su && ul.Judge(su) == Verdict.Fail && ul.Judge(worst) == Verdict.Pass)
                    warnings.Add($"frame {u.Frame}: uniformity {su:F2} HU is outside {ul} on this slice alone");
        }
        else
        {
            metrics.Add(MetricResult.Inconclusive(UniformityMetric, "HU", limits.For(UniformityMetric), uniformityProblem));
        }

        if (measuredAir > 0) metrics.Add(MeanMetric(AirMetric, "HU", used, u => u.AirMeasured ? u.Air : null, _ => null, limits, over, null));
        double centring = 0, diameter = 0;
        foreach (var u in used) { centring += u.Centring; diameter += u.Fit.DiameterMm; }
        metrics.Add(MetricResult.Judge(CentringMetric, centring / used.Count, "mm", limits.For(CentringMetric), over));
        metrics.Add(MetricResult.Judge(DiameterMetric, diameter / used.Count, "mm", limits.For(DiameterMetric), over));

        foreach (var insert in o.Phantom.Inserts)
        {
            string name = InsertMetric(insert);
            metrics.Add(MeanMetric(name, "HU", used, u => Find(u, name), _ => "insert ROI too small or outside the image", limits, over, warnings, InsertLimit(name, insert, limits)));
        }
        return metrics;
    }

    private static double? Find(SliceMeasure u, string name)
    {
        foreach (var (n, v, _) in u.Inserts) if (n == name) return v;
        return null;
    }

    private static MetricResult MeanMetric(string name, string unit, List<SliceMeasure> used, Func<SliceMeasure, double?> value,
        Func<SliceMeasure, string?> problem, LimitSet limits, string note, List<string>? warnings, Limit? limit = null)
    {
        limit ??= limits.For(name);
        double sum = 0; int n = 0; string? firstProblem = null;
        foreach (var u in used)
        {
            if (value(u) is { } v && double.IsFinite(v)) { sum += v; n++; }
            else firstProblem ??= $"frame {u.Frame}: {problem(u)}";
        }
        if (n == 0) return MetricResult.Inconclusive(name, unit, limit, firstProblem ?? "not measured");
        if (n < used.Count) warnings?.Add($"{name} measured on {n} of {used.Count} central slices ({firstProblem})");
        return MetricResult.Judge(name, sum / n, unit, limit, note);
    }

    private static MetricResult Value(string name, double? value, string unit, LimitSet limits, string? problem, string? note = null) =>
        value is { } v && problem is null
            ? MetricResult.Judge(name, v, unit, limits.For(name), note)
            : MetricResult.Inconclusive(name, unit, limits.For(name), problem ?? "not measured");

    private static string AirNote(bool measured, double air) =>
        measured ? $"CT_air measured: {air:F1} HU" : $"CT_air assumed: {air:F1} HU";

    public static string InsertMetric(CtInsert insert)
    {
        Span<char> buffer = stackalloc char[Math.Min(insert.Name.Length, 64)];
        int n = 0;
        foreach (char c in insert.Name)
        {
            if (n == buffer.Length) break;
            buffer[n++] = char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_';
        }
        return $"ct.insert_{new string(buffer[..n])}_hu";
    }

    private static Limit? InsertLimit(string name, CtInsert insert, LimitSet limits) =>
        limits.For(name) ?? (insert is { ExpectedHu: { } e, ToleranceHu: { } t } ? Limit.Within(e, t) : null);

    /// <summary>Mean of an air ROI, or null when it leaves the image, touches padding, holds an object pixel
    /// (above the threshold: the table, a cable) or has too few pixels.</summary>
    private static double? AirMean(AnalysisImage image, double cx, double cy, double radius, int minPixels, double threshold)
    {
        int x0 = (int)Math.Floor(cx - radius), x1 = (int)Math.Ceiling(cx + radius);
        int y0 = (int)Math.Floor(cy - radius), y1 = (int)Math.Ceiling(cy + radius);
        if (x0 < 0 || y0 < 0 || x1 >= image.Width || y1 >= image.Height) return null;
        double r2 = radius * radius, sum = 0;
        int n = 0;
        var px = image.Pixels;
        for (int y = y0; y <= y1; y++)
        {
            double dy = y - cy;
            int row = y * image.Width;
            for (int x = x0; x <= x1; x++)
            {
                double dx = x - cx;
                if (dx * dx + dy * dy > r2) continue;
                float v = px[row + x];
                if (float.IsNaN(v) || v > threshold) return null;
                sum += v; n++;
            }
        }
        return n >= minPixels ? sum / n : null;
    }
}
