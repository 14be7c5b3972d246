using BenchmarkDotNet.Attributes;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Phantoms.Ct;

namespace QcPipeline.Benchmarks;

/// <summary>CT water and MTF analyses on decoded 512×512 slices (targets: one slice ≤ 2 ms, a 100-slice series
/// ≤ 150 ms on one core; decoding excluded).</summary>
[MemoryDiagnoser]
public class CtAnalysisBenchmarks
{
    private AnalysisImage[] _series = [];
    private readonly CtWaterOptions _water = new();
    private readonly CtMtfOptions _mtf = new();

    [GlobalSetup]
    public void Setup()
    {
        _series = new AnalysisImage[100];
        for (int k = 0; k < _series.Length; k++) _series[k] = Slice(k);
    }

    /// <summary>A 200 mm water disc in a 250 mm FOV, a table below, Gaussian noise σ = 5 HU, a 1 px linear edge.</summary>
    private static AnalysisImage Slice(int k)
    {
        const int n = 512;
        const double s = 250.0 / n, c = (n - 1) / 2.0, radius = 100;
        var rng = new Random(k + 1);
        var px = new float[n * n];
        for (int j = 0; j < n; j++)
        {
            double y = (j - c) * s;
            for (int i = 0; i < n; i++)
            {
                double x = (i - c) * s;
                double t = Math.Clamp((radius - Math.Sqrt(x * x + y * y)) / s + 0.5, 0, 1);
                double background = y > radius + 5 && y < radius + 20 ? 50 : -1000;
                double noise = 5 * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                px[j * n + i] = (float)(background + (0 - background) * t + noise);
            }
        }
        return new AnalysisImage { Width = n, Height = n, Pixels = px, PixelSpacingX = s, PixelSpacingY = s, Modality = "CT", SlicePosition = 5.0 * k };
    }

    internal AnalysisImage Slice50 => _series[50];

    /// <summary>CPU time of the calling thread per call, best of several rounds, and wall time.</summary>
    public static void PrintTimings()
    {
        var b = new CtAnalysisBenchmarks();
        b.Setup();
        Measure("water, one slice", 200, () => b.WaterOneSlice());
        Measure("water, 100 slices", 10, () => b.WaterSeries100());
        Measure("mtf, one slice", 200, () => b.MtfOneSlice());
    }

    private static void Measure(string name, int calls, Func<object> action)
    {
        for (int i = 0; i < 5; i++) action();
        double bestCpu = double.MaxValue, bestWall = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < calls; i++) action();
            double wall = sw.Elapsed.TotalMilliseconds / calls;
            double cpu = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / calls;
            bestCpu = Math.Min(bestCpu, cpu); bestWall = Math.Min(bestWall, wall);
        }
        Console.WriteLine($"{name}: cpu {bestCpu:F3} ms, wall {bestWall:F3} ms per call");
    }

    [Benchmark]
    public AnalysisResult WaterOneSlice() => CtWaterAnalysis.Analyze([_series[50]], _water, LimitSet.Default);

    [Benchmark]
    public AnalysisResult WaterSeries100() => CtWaterAnalysis.Analyze(_series, _water, LimitSet.Default);

    [Benchmark]
    public AnalysisResult MtfOneSlice() => CtMtfAnalysis.Analyze([_series[50]], _mtf with { CentralSlices = 1 }, LimitSet.Default);
}

/// <summary>Breakdown of <see cref="CtAnalysisBenchmarks"/>: phantom detection alone.</summary>
[MemoryDiagnoser]
public class CtDetectionBenchmarks
{
    private readonly CtAnalysisBenchmarks _source = new();
    private AnalysisImage _slice = null!;
    private readonly CtWorkspace _ws = new();
    private readonly CtDetectionOptions _options = new();

    [GlobalSetup]
    public void Setup() { _source.Setup(); _slice = _source.Slice50; }

    [Benchmark]
    public object? Detect() => CtPhantomDetector.Detect(_slice, _options, _ws, out _);

    [Benchmark]
    public object CentreRoi() => RoiMath.Circle(_slice, 255.5, 255.5, 20);
}
