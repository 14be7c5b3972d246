namespace QcPipeline.Analysis.Tests.Mr;

/// <summary>Synthetic magnitude MR images: a true signal A(x, y) in the real channel plus independent Gaussian noise of
/// SD σ in both channels, magnitude taken (Rician; Rayleigh in air). Truth SNR is A / σ.</summary>
internal static class MrImages
{
    public const int Size = 256;
    public const double Centre = 127.5, Radius = 95; // 190 mm ACR phantom at 1 mm pixels

    public static AnalysisImage Make(Func<int, int, double> signal, double sigma = 0, int seed = 1, double? fieldT = 1.5,
        int size = Size, double? spacing = 1.0, double? slice = 0)
    {
        var rng = new Random(seed);
        var px = new float[size * size];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                double re = signal(x, y), im = 0;
                if (sigma > 0) { re += sigma * Gaussian(rng); im += sigma * Gaussian(rng); }
                px[y * size + x] = (float)Math.Sqrt(re * re + im * im);
            }
        return new AnalysisImage
        {
            Width = size, Height = size, Pixels = px, Modality = "MR", MagneticFieldStrength = fieldT,
            PixelSpacingX = spacing, PixelSpacingY = spacing, SlicePosition = slice,
        };
    }

    public static bool InDisc(int x, int y, double cx, double cy, double r) => (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;

    /// <summary>A uniform disc of amplitude <paramref name="a"/>.</summary>
    public static Func<int, int, double> Disc(double a, double cx = Centre, double cy = Centre, double r = Radius) =>
        (x, y) => InDisc(x, y, cx, cy, r) ? a : 0;

    /// <summary>A disc of 1000 with a hot spot (<paramref name="high"/>) right and a cold spot (<paramref name="low"/>) left
    /// of centre, each 15 mm in radius, so the 1 cm² ROI's extremes are exactly high and low.</summary>
    public static Func<int, int, double> HotCold(double high, double low) =>
        (x, y) => !InDisc(x, y, Centre, Centre, Radius) ? 0
            : InDisc(x, y, Centre + 35, Centre, 15) ? high
            : InDisc(x, y, Centre - 35, Centre, 15) ? low
            : 1000;

    public static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
