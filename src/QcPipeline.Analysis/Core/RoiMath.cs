namespace QcPipeline.Analysis;

/// <summary>Pixel statistics inside ROIs. A pixel belongs to a circle when its centre lies inside it; NaN
/// (padding) pixels are left out. Accumulates in double with the two-pass-free Welford update.</summary>
public static class RoiMath
{
    public static RoiStatistics Circle(AnalysisImage image, double centerX, double centerY, double radius)
    {
        int x0 = Math.Max(0, (int)Math.Floor(centerX - radius)), x1 = Math.Min(image.Width - 1, (int)Math.Ceiling(centerX + radius));
        int y0 = Math.Max(0, (int)Math.Floor(centerY - radius)), y1 = Math.Min(image.Height - 1, (int)Math.Ceiling(centerY + radius));
        double r2 = radius * radius;
        var acc = new Accumulator();
        for (int y = y0; y <= y1; y++)
        {
            double dy = y - centerY;
            int row = y * image.Width;
            for (int x = x0; x <= x1; x++)
            {
                double dx = x - centerX;
                if (dx * dx + dy * dy <= r2) acc.Add(image.Pixels[row + x]);
            }
        }
        return acc.Result;
    }

    /// <summary>Axis-aligned rectangle [x, x+width) × [y, y+height) in pixel indices, clipped to the image.</summary>
    public static RoiStatistics Rectangle(AnalysisImage image, int x, int y, int width, int height)
    {
        int xa = Math.Max(0, x), xb = Math.Min(image.Width, x + width);
        int ya = Math.Max(0, y), yb = Math.Min(image.Height, y + height);
        var acc = new Accumulator();
        for (int yy = ya; yy < yb; yy++)
        {
            var row = image.Pixels.AsSpan(yy * image.Width + xa, Math.Max(0, xb - xa));
            foreach (var v in row) acc.Add(v);
        }
        return acc.Result;
    }

    /// <summary>Running mean/variance (Welford); sample standard deviation (n − 1).</summary>
    public struct Accumulator
    {
        private long _n;
        private double _mean, _m2, _min, _max;

        public void Add(float value)
        {
            if (float.IsNaN(value)) return;
            _n++;
            if (_n == 1) { _min = _max = value; }
            else { if (value < _min) _min = value; if (value > _max) _max = value; }
            double d = value - _mean;
            _mean += d / _n;
            _m2 += d * (value - _mean);
        }

        public readonly RoiStatistics Result => new(
            _n == 0 ? double.NaN : _mean,
            _n > 1 ? Math.Sqrt(_m2 / (_n - 1)) : double.NaN,
            (int)_n,
            _n == 0 ? double.NaN : _min,
            _n == 0 ? double.NaN : _max);
    }
}
