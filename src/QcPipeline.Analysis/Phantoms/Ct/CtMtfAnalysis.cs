using System.Globalization;

namespace QcPipeline.Analysis.Phantoms.Ct;

/// <summary>High-contrast resolution (STANDARDS.md §1: MTF at 10 % &gt; 5.0 lp/cm) from the phantom's outer edge:
/// the radial edge-spread function, oversampled by binning pixels by their distance from the fitted centre,
/// differentiated to the line-spread function, Fourier-transformed to the MTF. Pure, like every analysis.</summary>
/// <remarks>Decisions of ours: the sector of ±45° around 6 o'clock is left out (the table); the LSF is windowed with a
/// Tukey window (flat half, cosine tapers) around the edge, which leaves a Gaussian LSF practically untouched; the
/// MTF is divided by the transfer of the binning and of the central difference, both known exactly.</remarks>
public static class CtMtfAnalysis
{
    public const string Profile = "ct-mtf";
    public const string AlgorithmVersion = "ct-mtf/1.0.0";
    public const string Mtf10Metric = MetricNames.CtMtf10;
    public const string Mtf50Metric = "ct.mtf50_lpcm";

    public static AnalysisResult Analyze(IReadOnlyList<AnalysisImage> slices, CtMtfOptions options, LimitSet limits)
    {
        ArgumentNullException.ThrowIfNull(slices);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(limits);
        var reference = limits.Reference;
        if (slices.Count == 0) return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, reference, "no images");
        for (int i = 0; i < slices.Count; i++)
        {
            if (slices[i] is null) return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, reference, $"frame {i} is missing");
            if (!string.Equals(slices[i].Modality, "CT", StringComparison.OrdinalIgnoreCase))
                return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, reference, $"modality '{slices[i].Modality}' is not CT (frame {i})");
        }
        var warnings = new List<string>();
        var order = CtSeries.Order(slices, options.SliceSpacingTolerance, warnings);
        var ws = new CtWorkspace();
        var rois = new List<RoiGeometry>();
        var images = new List<ImageResult>();
        var limit10 = limits.For(Mtf10Metric);
        var limit50 = limits.For(Mtf50Metric);
        double sum10 = 0, sum50 = 0; int n10 = 0, n50 = 0;
        string? firstProblem = null;
        var frames = new List<string>();
        // Only the central slices: the edge is the same on every slice of a water phantom, and this is the costly part.
        foreach (int i in CtSeries.Central(order, options.CentralSlices))
        {
            var image = slices[i];
            var metrics = new List<MetricResult>(2);
            var fit = CtPhantomDetector.Detect(image, options.Detection, ws, out var problem);
            EdgeMtf? mtf = null;
            if (fit is { } f)
            {
                rois.Add(new CircleRoi("phantom edge", i, f.CenterX, f.CenterY, f.RadiusPixels));
                mtf = Measure(image, f, options, ws, out problem);
            }
            if (mtf is { } m)
            {
                metrics.Add(MetricResult.Judge(Mtf10Metric, m.Mtf10LpCm, "lp/cm", limit10, $"edge contrast {m.ContrastHu:F0} HU"));
                sum10 += m.Mtf10LpCm; n10++;
                frames.Add(i.ToString(CultureInfo.InvariantCulture));
                if (m.Mtf50LpCm is { } m50) { metrics.Add(MetricResult.Judge(Mtf50Metric, m50, "lp/cm", limit50)); sum50 += m50; n50++; }
            }
            else
            {
                problem ??= "MTF not measured";
                firstProblem ??= $"frame {i}: {problem}";
                metrics.Add(MetricResult.Inconclusive(Mtf10Metric, "lp/cm", limit10, problem));
            }
            images.Add(new ImageResult(i, image.SopInstanceUid, metrics, []));
        }
        if (n10 == 0)
            return AnalysisResult.InconclusiveBecause(Profile, AlgorithmVersion, reference, firstProblem ?? "MTF not measured", warnings) with { Images = images, Rois = rois };
        if (firstProblem is not null) warnings.Add($"MTF measured on {n10} of {images.Count} central slices ({firstProblem})");
        string over = $"mean over frames {string.Join(", ", frames)}";
        var result = new List<MetricResult> { MetricResult.Judge(Mtf10Metric, sum10 / n10, "lp/cm", limit10, over) };
        if (n50 > 0) result.Add(MetricResult.Judge(Mtf50Metric, sum50 / n50, "lp/cm", limit50, over));
        return new AnalysisResult
        {
            Profile = Profile,
            AlgorithmVersion = AlgorithmVersion,
            Verdict = AnalysisResult.Combine(result),
            Metrics = result,
            Warnings = warnings,
            Rois = rois,
            LimitSet = reference,
            Images = images,
        };
    }

    internal readonly record struct EdgeMtf(double Mtf10LpCm, double? Mtf50LpCm, double ContrastHu);

    internal static EdgeMtf? Measure(AnalysisImage image, PhantomFit f, CtMtfOptions o, CtWorkspace ws, out string? problem)
    {
        problem = null;
        double s = f.Spacing;
        if (Math.Abs(f.SpacingX - f.SpacingY) > 0.01 * s) { problem = "pixels not square: radial edge sampling needs square pixels"; return null; }
        double r0 = f.RadiusPixels;
        double hw = Math.Min(o.EdgeHalfWidthMm / s, 0.5 * r0);
        double bin = o.BinWidthPixels;
        if (!(bin > 0) || hw < 4) { problem = "edge window too small"; return null; }
        int nb = (int)Math.Ceiling(2 * hw / bin);
        ws.EnsureBins(nb);
        var sum = ws.BinSum.AsSpan(0, nb); var cnt = ws.BinCount.AsSpan(0, nb);
        sum.Clear(); cnt.Clear();
        double rin = r0 - hw, rout = r0 + hw;
        double tanHalf = Math.Tan(Math.Clamp(o.ExcludedTableSectorDegrees, 0, 179) / 2 * Math.PI / 180);
        int w = image.Width, h = image.Height;
        var px = image.Pixels;
        int y0 = Math.Max(0, (int)Math.Floor(f.CenterY - rout)), y1 = Math.Min(h - 1, (int)Math.Ceiling(f.CenterY + rout));
        for (int y = y0; y <= y1; y++)
        {
            double dy = y - f.CenterY, dy2 = dy * dy;
            if (dy2 > rout * rout) continue;
            double xo = Math.Sqrt(rout * rout - dy2);
            double xi = dy2 < rin * rin ? Math.Sqrt(rin * rin - dy2) : 0;
            // Two spans of the annulus on this row: [−xo, −xi] and [xi, xo].
            for (int side = -1; side <= 1; side += 2)
            {
                double a = side < 0 ? f.CenterX - xo : f.CenterX + xi, b = side < 0 ? f.CenterX - xi : f.CenterX + xo;
                int xa = Math.Max(0, (int)Math.Ceiling(a)), xb = Math.Min(w - 1, (int)Math.Floor(b));
                int row = y * w;
                for (int x = xa; x <= xb; x++)
                {
                    double dx = x - f.CenterX;
                    if (dy > 0 && Math.Abs(dx) < dy * tanHalf) continue; // table sector around 6 o'clock
                    float v = px[row + x];
                    if (float.IsNaN(v)) continue;
                    double d = Math.Sqrt(dx * dx + dy2);
                    int k = (int)((d - rin) / bin);
                    if ((uint)k >= (uint)nb) continue;
                    sum[k] += v; cnt[k]++;
                }
            }
        }
        var esf = ws.Esf.AsSpan(0, nb);
        int empty = 0;
        for (int k = 0; k < nb; k++) { if (cnt[k] > 0) esf[k] = sum[k] / cnt[k]; else { esf[k] = double.NaN; empty++; } }
        if (empty > nb / 10) { problem = $"too few edge samples ({empty} of {nb} radial bins empty)"; return null; }
        FillGaps(esf);

        int tail = Math.Max(3, nb * 15 / 100);
        double inside = 0, outside = 0;
        for (int k = 0; k < tail; k++) { inside += esf[k]; outside += esf[nb - 1 - k]; }
        inside /= tail; outside /= tail;
        double contrast = inside - outside;
        if (!(Math.Abs(contrast) >= o.MinEdgeContrastHu)) { problem = $"edge contrast {Math.Abs(contrast):F0} HU is below {o.MinEdgeContrastHu:G4} HU"; return null; }

        // LSF = −d(ESF)/dr of the normalised ESF (1 inside, 0 outside), central differences.
        var lsf = ws.Lsf.AsSpan(0, nb);
        lsf[0] = lsf[nb - 1] = 0;
        double peak = 0, centroid = 0, area = 0;
        for (int k = 1; k < nb - 1; k++)
        {
            double v = -(esf[k + 1] - esf[k - 1]) / contrast / (2 * bin);
            lsf[k] = v;
            if (v > peak) peak = v;
            centroid += v * k; area += v;
        }
        if (!(peak > 0) || !(area > 0)) { problem = "no edge in the radial profile"; return null; }
        centroid /= area;
        double tailSs = 0; int tailN = 0;
        for (int k = 1; k < tail; k++) { tailSs += lsf[k] * lsf[k] + lsf[nb - 1 - k] * lsf[nb - 1 - k]; tailN += 2; }
        double tailRms = Math.Sqrt(tailSs / tailN);
        if (tailRms > o.MaxLsfTailNoiseRatio * peak) { problem = $"edge-spread function too noisy (LSF tail RMS {tailRms / peak:P1} of its peak)"; return null; }

        // Tukey window centred on the edge: flat over the inner half, cosine tapers over the outer half.
        double half = Math.Min(centroid, nb - 1 - centroid);
        if (half < 10) { problem = "edge too close to the end of the sampled profile"; return null; }
        for (int k = 0; k < nb; k++)
        {
            double u = Math.Abs(k - centroid) / half;
            double win = u <= 0.5 ? 1 : u >= 1 ? 0 : 0.5 * (1 + Math.Cos(Math.PI * (u - 0.5) / 0.5));
            lsf[k] *= win;
        }

        // MTF by a direct Fourier sum at 0.005 cycles/pixel steps up to 1 cycle/pixel (the ESF is oversampled).
        double dc = 0;
        for (int k = 0; k < nb; k++) dc += lsf[k];
        if (!(dc > 0)) { problem = "no edge in the radial profile"; return null; }
        const double df = 0.005;
        double prevF = 0, prevM = 1;
        double? f50 = null, f10 = null;
        for (int j = 1; j <= 200 && f10 is null; j++)
        {
            double freq = j * df;
            double re = 0, im = 0;
            double step = 2 * Math.PI * freq * bin;
            double c = Math.Cos(-step * centroid), sn = Math.Sin(-step * centroid);
            double cs = Math.Cos(step), ss = Math.Sin(step);
            for (int k = 0; k < nb; k++)
            {
                re += lsf[k] * c; im += lsf[k] * sn;
                double nc = c * cs - sn * ss; sn = sn * cs + c * ss; c = nc;
            }
            double mtf = Math.Sqrt(re * re + im * im) / dc;
            // Divide out the known transfer of the central difference (sin(2πfΔ)/(2πfΔ)) and of the bin average (sinc(fΔ)).
            double x1 = 2 * Math.PI * freq * bin, x2 = Math.PI * freq * bin;
            mtf /= Math.Sin(x1) / x1 * (Math.Sin(x2) / x2);
            if (f50 is null && mtf <= 0.5) f50 = Interpolate(prevF, prevM, freq, mtf, 0.5);
            if (mtf <= 0.1) f10 = Interpolate(prevF, prevM, freq, mtf, 0.1);
            prevF = freq; prevM = mtf;
        }
        if (f10 is not { } f10v) { problem = "MTF stays above 10 % up to 1 cycle/pixel: edge too sharp to measure"; return null; }
        // cycles/pixel → cycles/mm (÷ spacing) → lp/cm (× 10)
        return new EdgeMtf(f10v / s * 10, f50 is { } f50v ? f50v / s * 10 : null, Math.Abs(contrast));
    }

    private static double Interpolate(double f0, double m0, double f1, double m1, double level) =>
        m0 == m1 ? f1 : f0 + (m0 - level) / (m0 - m1) * (f1 - f0);

    private static void FillGaps(Span<double> v)
    {
        int n = v.Length;
        int first = 0;
        while (first < n && double.IsNaN(v[first])) first++;
        for (int k = 0; k < first; k++) v[k] = v[first];
        int last = first;
        for (int k = first + 1; k < n; k++)
        {
            if (double.IsNaN(v[k])) continue;
            for (int g = last + 1; g < k; g++) v[g] = v[last] + (v[k] - v[last]) * (g - last) / (k - last);
            last = k;
        }
        for (int k = last + 1; k < n; k++) v[k] = v[last];
    }
}
