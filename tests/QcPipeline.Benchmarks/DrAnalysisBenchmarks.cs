using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Phantoms.Dr;

namespace QcPipeline.Benchmarks;

/// <summary>dr-uniformity on a 3000 × 3000 flat field (0.143 mm pixels, 1 cm artefact tiles), target ≤ 50 ms including
/// the tile, defective-pixel and line scan. Run: dotnet run -c Release --project tests/QcPipeline.Benchmarks -- --filter '*DrAnalysis*'
/// or, for a quick figure without BenchmarkDotNet, -- --dr-uniformity.</summary>
[MemoryDiagnoser]
public class DrAnalysisBenchmarks
{
    private AnalysisImage _flat = null!;

    [GlobalSetup]
    public void Setup() => _flat = FlatField(3000, 3000);

    [Benchmark]
    public AnalysisResult Uniformity() => DrUniformity.Analyze(_flat);

    [Benchmark]
    public AnalysisResult UniformityCvOnly() => DrUniformity.Analyze(_flat, new DrUniformityOptions { ScanArtefacts = false });

    /// <summary>A flat field with a heel gradient and Gaussian-like noise (sum of uniforms; speed does not depend on its shape).</summary>
    public static AnalysisImage FlatField(int width, int height)
    {
        var rng = new Random(42);
        var px = new float[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                px[y * width + x] = (float)(1000 + 0.01 * x + 10 * (rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5) * 2);
        return new AnalysisImage { Width = width, Height = height, Pixels = px, Modality = "DX", PixelSpacingX = 0.143, PixelSpacingY = 0.143, PresentationIntentType = "FOR PROCESSING" };
    }

    /// <summary>Best-of-N wall time in ms (a quick check outside BenchmarkDotNet).</summary>
    public static double QuickMeasure(int runs = 20, bool scan = true)
    {
        var img = FlatField(3000, 3000);
        for (int i = 0; i < 3; i++) DrUniformity.Analyze(img);
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            DrUniformity.Analyze(img, new DrUniformityOptions { ScanArtefacts = scan });
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }
        return best;
    }
}
