using System.Diagnostics;
using QcPipeline.Benchmarks;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

// Helper modes for scripts/bench/parse.sh; anything else goes to BenchmarkDotNet.
if (args is ["--generate-ct", var dir, var n, ..])
{
    int first = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 0;
    CtFileGenerator.Generate(dir, int.Parse(n, System.Globalization.CultureInfo.InvariantCulture), first);
    return 0;
}
if (args is ["--scp-floor", var scpPort, ..])
{
    await ScpFloor.RunAsync(int.Parse(scpPort, System.Globalization.CultureInfo.InvariantCulture), args.Length > 2 ? args[2] : null);
    return 0;
}
if (args is ["--read-all", var folder, ..])
{
    // Reads every file header-only, then whole with the pixel data summed; prints the time of each pass.
    var files = Directory.GetFiles(folder, "*.dcm");
    var sw = Stopwatch.StartNew();
    long count = 0;
    foreach (var f in files) { using var d = DicomFile.Open(f, DicomReadOptions.HeaderOnly); count += d.Dataset.Count; }
    var header = sw.Elapsed;
    sw.Restart();
    long sum = 0;
    var pixelData = new DicomTag(0x7FE00010);
    foreach (var f in files) { using var d = DicomFile.Open(f); foreach (var v in d.Dataset.GetSpan<short>(pixelData)) sum += v; }
    var whole = sw.Elapsed;
    Console.WriteLine($"files={files.Length} header-only={header.TotalMilliseconds:F1}ms whole={whole.TotalMilliseconds:F1}ms elements={count} checksum={sum}");
    return 0;
}
if (args is ["--analyze-loop", var loopDir, var loopSeconds, ..])
{
    // The worker's analysis (SeriesAnalyzer: header scan + decode + phantom analyses) of the series folders under loopDir, one
    // after the other, in one process for loopSeconds; prints series/s and the process's CPU, GCs and page faults. Run it
    // pinned alone and two at once (scripts/bench/analysis-pair.sh) to tell the analysis's own scaling from the pipeline's.
    AnalyzeLoop.Run(loopDir, double.Parse(loopSeconds, System.Globalization.CultureInfo.InvariantCulture));
    return 0;
}
if (args is ["--ct-analysis", ..])
{
    // Thread CPU time per call (robust on a shared, loaded machine) and wall time; see CtAnalysisBenchmarks.
    CtAnalysisBenchmarks.PrintTimings();
    return 0;
}
if (args is ["--ct-series", ..])
{
    // 100 simulator CT slices from bytes in memory, decoding included; see SeriesBenchmarks.
    SeriesBenchmarks.PrintTimings();
    return 0;
}
if (args is ["--dr-uniformity", ..])
{
    Console.WriteLine($"dr-uniformity 3000x3000 best of 20: {DrAnalysisBenchmarks.QuickMeasure():F1} ms (CV only {DrAnalysisBenchmarks.QuickMeasure(scan: false):F1} ms)");
    return 0;
}
if (args is ["--report-pdf", ..])
{
    // One device, 3 years of monthly tests, PDF (target <= 1 s); see ReportBenchmarks.
    ReportBenchmarks.PrintTimings();
    return 0;
}
if (args is ["--metrics-scrape", ..])
{
    // /metrics with 200 devices x 10 tests in SQLite (target <= 50 ms); see MetricsScrapeBenchmarks.
    MetricsScrapeBenchmarks.PrintTimings();
    return 0;
}
BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(QcPipeline.Benchmarks.CtFileGenerator).Assembly).Run(args);
return 0;
