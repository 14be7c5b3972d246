namespace QcPipeline.Analysis.Phantoms;

/// <summary>A connected region of a mask: pixel count, centroid sums and bounding box (inclusive).</summary>
internal readonly record struct MaskComponent(int Count, double SumX, double SumY, int MinX, int MinY, int MaxX, int MaxY)
{
    public double CentroidX => SumX / Count;
    public double CentroidY => SumY / Count;
    public int BoxWidth => MaxX - MinX + 1;
    public int BoxHeight => MaxY - MinY + 1;
    public bool TouchesEdge(int width, int height) => MinX == 0 || MinY == 0 || MaxX == width - 1 || MaxY == height - 1;
}

/// <summary>Small image operations shared by the planar (DR, MR) analyses. NaN pixels are padding and never count.</summary>
internal static class PlanarImageOps
{
    /// <summary>The p-th percentile (0..1) of the non-NaN pixels, from at most <paramref name="maxSamples"/> evenly
    /// strided samples (a robust level, not an exact order statistic, on very large images). NaN when no pixel is valid.</summary>
    public static double Percentile(float[] pixels, double p, int maxSamples = 1 << 20)
    {
        int stride = Math.Max(1, pixels.Length / Math.Max(1, maxSamples));
        var sample = new List<float>(Math.Min(pixels.Length, maxSamples) + 1);
        for (int i = 0; i < pixels.Length; i += stride)
            if (!float.IsNaN(pixels[i])) sample.Add(pixels[i]);
        if (sample.Count == 0) return double.NaN;
        sample.Sort();
        double pos = Math.Clamp(p, 0, 1) * (sample.Count - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(sample.Count - 1, lo + 1);
        return sample[lo] + (pos - lo) * (sample[hi] - sample[lo]);
    }

    public static double Median(Span<double> values)
    {
        if (values.Length == 0) return double.NaN;
        values.Sort();
        int m = values.Length / 2;
        return values.Length % 2 == 1 ? values[m] : 0.5 * (values[m - 1] + values[m]);
    }

    /// <summary>The largest 4-connected component of <paramref name="mask"/> (iterative flood fill; no recursion on
    /// big images). Null when the mask is empty.</summary>
    public static MaskComponent? LargestComponent(bool[] mask, int width, int height)
    {
        var seen = new bool[mask.Length];
        var stack = new Stack<int>();
        MaskComponent? best = null;
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || seen[start]) continue;
            int count = 0, minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
            double sx = 0, sy = 0;
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int i = stack.Pop();
                int x = i % width, y = i / width;
                count++; sx += x; sy += y;
                if (x < minX) minX = x; if (x > maxX) maxX = x;
                if (y < minY) minY = y; if (y > maxY) maxY = y;
                if (x > 0 && mask[i - 1] && !seen[i - 1]) { seen[i - 1] = true; stack.Push(i - 1); }
                if (x < width - 1 && mask[i + 1] && !seen[i + 1]) { seen[i + 1] = true; stack.Push(i + 1); }
                if (y > 0 && mask[i - width] && !seen[i - width]) { seen[i - width] = true; stack.Push(i - width); }
                if (y < height - 1 && mask[i + width] && !seen[i + width]) { seen[i + width] = true; stack.Push(i + width); }
            }
            if (best is null || count > best.Value.Count) best = new MaskComponent(count, sx, sy, minX, minY, maxX, maxY);
        }
        return best;
    }

    /// <summary>Iterative intermeans (isodata) threshold: the midpoint between the means of the pixels below and above it,
    /// iterated to a fixed point. Returns the threshold and the two class means; NaN when the image has no two classes.</summary>
    public static (double Threshold, double LowMean, double HighMean) IntermeansThreshold(float[] pixels, int maxSamples = 1 << 20)
    {
        int stride = Math.Max(1, pixels.Length / Math.Max(1, maxSamples));
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity, sum = 0;
        long n = 0;
        for (int i = 0; i < pixels.Length; i += stride)
        {
            float v = pixels[i];
            if (float.IsNaN(v)) continue;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            sum += v; n++;
        }
        if (n == 0 || !(hi > lo)) return (double.NaN, double.NaN, double.NaN);
        double t = sum / n, lowMean = double.NaN, highMean = double.NaN;
        for (int iter = 0; iter < 100; iter++)
        {
            double sl = 0, sh = 0;
            long nl = 0, nh = 0;
            for (int i = 0; i < pixels.Length; i += stride)
            {
                float v = pixels[i];
                if (float.IsNaN(v)) continue;
                if (v < t) { sl += v; nl++; } else { sh += v; nh++; }
            }
            if (nl == 0 || nh == 0) return (double.NaN, double.NaN, double.NaN);
            lowMean = sl / nl; highMean = sh / nh;
            double next = 0.5 * (lowMean + highMean);
            if (Math.Abs(next - t) <= 1e-9 * Math.Max(1, Math.Abs(t))) { t = next; break; }
            t = next;
        }
        return (t, lowMean, highMean);
    }
}

/// <summary>Summed-area tables (value, value², valid-pixel count) over a window of an image, so that any axis-aligned
/// rectangle's mean and SD cost four look-ups. Values are shifted by a reference level before summing to keep the
/// variance free of cancellation.</summary>
internal sealed class SummedAreaTable
{
    private readonly double[] _sum, _sumSq;
    private readonly int[] _count;
    private readonly int _stride;
    private readonly double _offset;

    public int X0 { get; }
    public int Y0 { get; }
    public int Width { get; }
    public int Height { get; }

    private SummedAreaTable(int x0, int y0, int width, int height, double offset)
    {
        X0 = x0; Y0 = y0; Width = width; Height = height; _offset = offset;
        _stride = width + 1;
        _sum = new double[(width + 1) * (height + 1)];
        _sumSq = new double[_sum.Length];
        _count = new int[_sum.Length];
    }

    /// <summary>Tables over [x0, x0+width) × [y0, y0+height), clipped to the image.</summary>
    public static SummedAreaTable Build(AnalysisImage image, int x0, int y0, int width, int height, double offset)
    {
        int xa = Math.Clamp(x0, 0, image.Width), ya = Math.Clamp(y0, 0, image.Height);
        int xb = Math.Clamp(x0 + width, 0, image.Width), yb = Math.Clamp(y0 + height, 0, image.Height);
        var t = new SummedAreaTable(xa, ya, xb - xa, yb - ya, offset);
        for (int y = 0; y < t.Height; y++)
        {
            double rs = 0, rss = 0;
            int rc = 0;
            int src = (ya + y) * image.Width + xa;
            int dst = (y + 1) * t._stride + 1, up = y * t._stride + 1;
            for (int x = 0; x < t.Width; x++)
            {
                float v = image.Pixels[src + x];
                if (!float.IsNaN(v)) { double d = v - offset; rs += d; rss += d * d; rc++; }
                t._sum[dst + x] = t._sum[up + x] + rs;
                t._sumSq[dst + x] = t._sumSq[up + x] + rss;
                t._count[dst + x] = t._count[up + x] + rc;
            }
        }
        return t;
    }

    /// <summary>Statistics of the rectangle [x, x+w) × [y, y+h) in image pixel indices, clipped to the table's window.</summary>
    public RoiStatistics Query(int x, int y, int w, int h)
    {
        int xa = Math.Clamp(x - X0, 0, Width), xb = Math.Clamp(x + w - X0, 0, Width);
        int ya = Math.Clamp(y - Y0, 0, Height), yb = Math.Clamp(y + h - Y0, 0, Height);
        if (xb <= xa || yb <= ya) return new RoiStatistics(double.NaN, double.NaN, 0, double.NaN, double.NaN);
        int a = ya * _stride + xa, b = ya * _stride + xb, c = yb * _stride + xa, d = yb * _stride + xb;
        int n = _count[d] - _count[b] - _count[c] + _count[a];
        if (n == 0) return new RoiStatistics(double.NaN, double.NaN, 0, double.NaN, double.NaN);
        double s = _sum[d] - _sum[b] - _sum[c] + _sum[a];
        double ss = _sumSq[d] - _sumSq[b] - _sumSq[c] + _sumSq[a];
        double mean = s / n;
        double sd = n > 1 ? Math.Sqrt(Math.Max(0, (ss - s * mean) / (n - 1))) : double.NaN;
        // Min/Max are not kept by the tables.
        return new RoiStatistics(mean + _offset, sd, n, double.NaN, double.NaN);
    }
}
