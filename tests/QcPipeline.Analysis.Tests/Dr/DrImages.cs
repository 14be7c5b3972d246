namespace QcPipeline.Analysis.Tests.Dr;

/// <summary>Synthetic DR images with exact truth: a value function plus optional seeded Gaussian noise.</summary>
internal static class DrImages
{
    public static AnalysisImage Make(int width, int height, Func<int, int, double> value, double noiseSd = 0, int seed = 1,
        string modality = "DX", double? mas = null, string? uid = null, string? intent = "FOR PROCESSING", double? spacing = null)
    {
        var rng = new Random(seed);
        var px = new float[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                px[y * width + x] = (float)(value(x, y) + (noiseSd > 0 ? noiseSd * Gaussian(rng) : 0));
        return new AnalysisImage
        {
            Width = width,
            Height = height,
            Pixels = px,
            Modality = modality,
            ExposureMas = mas,
            SopInstanceUid = uid,
            PresentationIntentType = intent,
            PixelSpacingX = spacing,
            PixelSpacingY = spacing,
        };
    }

    public static AnalysisImage Flat(int size, double level, double noiseSd = 0, int seed = 1) => Make(size, size, (_, _) => level, noiseSd, seed);

    public static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
