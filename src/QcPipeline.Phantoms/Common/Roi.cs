namespace QcPipeline.Phantoms.Common;

/// <summary>ROI statistics with the analysis side's conventions: a pixel's centre is at its integer index; a
/// pixel belongs to a circle when its centre lies inside (distance ≤ r); rectangles are half-open;
/// standard deviation is the sample one (n − 1).</summary>
internal static class Roi
{
    public static (double Mean, double Sd, int N) Circle(float[] px, int w, int h, double cx, double cy, double r)
    {
        int x0 = Math.Max(0, (int)Math.Floor(cx - r)), x1 = Math.Min(w - 1, (int)Math.Ceiling(cx + r));
        int y0 = Math.Max(0, (int)Math.Floor(cy - r)), y1 = Math.Min(h - 1, (int)Math.Ceiling(cy + r));
        double r2 = r * r, sum = 0, sum2 = 0;
        int n = 0;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                double dx = x - cx, dy = y - cy;
                if (dx * dx + dy * dy > r2) continue;
                double v = px[y * w + x];
                sum += v; sum2 += v * v; n++;
            }
        return Finish(sum, sum2, n);
    }

    public static (double Mean, double Sd, int N) Rect(float[] px, int w, int h, int x, int y, int rw, int rh)
    {
        double sum = 0, sum2 = 0;
        int n = 0;
        for (int yy = Math.Max(0, y); yy < Math.Min(h, y + rh); yy++)
            for (int xx = Math.Max(0, x); xx < Math.Min(w, x + rw); xx++)
            {
                double v = px[yy * w + xx];
                sum += v; sum2 += v * v; n++;
            }
        return Finish(sum, sum2, n);
    }

    public static (double Mean, double Sd, int N) Of(float[] px, int w, int h, TruthRoi roi) => roi.Shape == "circle"
        ? Circle(px, w, h, roi.X, roi.Y, roi.Radius)
        : Rect(px, w, h, (int)roi.X, (int)roi.Y, (int)roi.Width, (int)roi.Height);

    public static float[] Difference(float[] a, float[] b)
    {
        var d = new float[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i] - b[i];
        return d;
    }

    public static double SampleSd(IReadOnlyList<double> values)
    {
        double m = values.Average();
        return Math.Sqrt(values.Sum(v => (v - m) * (v - m)) / (values.Count - 1));
    }

    private static (double, double, int) Finish(double sum, double sum2, int n)
    {
        if (n == 0) return (double.NaN, double.NaN, 0);
        double mean = sum / n;
        double var = n > 1 ? Math.Max(0, (sum2 - n * mean * mean) / (n - 1)) : 0;
        return (mean, Math.Sqrt(var), n);
    }
}
