using System.Diagnostics;
using QcPipeline.Analysis;
using QcPipeline.Service.Workers;

namespace QcPipeline.Benchmarks;

/// <summary>The worker's per-series analysis in a loop, without bus, database or store: <c>--analyze-loop DIR SECONDS</c>.</summary>
public static class AnalyzeLoop
{
    public static void Run(string root, double seconds)
    {
        var folders = Directory.GetDirectories(root).Order(StringComparer.Ordinal).ToArray();
        if (folders.Length == 0) folders = [root];
        // As the worker's DI builds it (Pipeline:FrameBufferPoolMegabytes, default 256).
        var analyzer = new SeriesAnalyzer(new SeriesRouting(SeriesRouting.Defaults), new FrameBufferPool(256L << 20));
        var inputs = folders.Select(f => new SeriesInput("1.2.3", Path.GetFileName(f),
            Directory.GetFiles(f, "*.dcm").Order(StringComparer.Ordinal).ToArray(), null)).ToArray();
        // Warm-up: one pass over the first series (JIT), not counted.
        Once(analyzer, inputs[0]);
        var proc = Process.GetCurrentProcess();
        proc.Refresh();
        var cpu0 = proc.TotalProcessorTime;
        var sys0 = proc.PrivilegedProcessorTime;
        long faults0 = MinorFaults();
        int gc0 = GC.CollectionCount(0), gc2 = GC.CollectionCount(2);
        var sw = Stopwatch.StartNew();
        int n = 0;
        while (sw.Elapsed.TotalSeconds < seconds) Once(analyzer, inputs[n++ % inputs.Length]);
        var wall = sw.Elapsed.TotalSeconds;
        proc.Refresh();
        Console.WriteLine(FormattableString.Invariant(
            $"series={n} wall={wall:F2}s rate={n / wall:F2}/s ms/series={wall * 1000 / n:F1} cpu={(proc.TotalProcessorTime - cpu0).TotalSeconds:F2}s sys={(proc.PrivilegedProcessorTime - sys0).TotalSeconds:F2}s faults={MinorFaults() - faults0} gc0={GC.CollectionCount(0) - gc0} gc2={GC.CollectionCount(2) - gc2} allocMB={GC.GetTotalAllocatedBytes() / 1e6:F0}"));
    }

    private static void Once(SeriesAnalyzer analyzer, SeriesInput input)
    {
        var scan = analyzer.Scan(input);
        var analysis = analyzer.Analyze(input, scan, LimitSet.Default);
        if (analysis.Results.Count == 0) throw new InvalidOperationException($"{input.SeriesInstanceUid}: no result");
    }

    private static long MinorFaults()
    {
        // /proc/self/stat field 10 is minflt (after the command name in parentheses).
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture);
    }
}
