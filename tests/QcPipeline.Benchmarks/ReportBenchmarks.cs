using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Analysis;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Service;
using QcPipeline.Service.Index;
using QcPipeline.Service.Ingest;
using QcPipeline.Service.Reports;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Benchmarks;

/// <summary>The PDF trend report of one CT device over 3 years of monthly ct-water tests (36 runs, 3 metrics each, findings),
/// end to end below HTTP: request parsing, the database queries (SQLite), 3 charts, the run table, the ROI image of the
/// latest result read from a stored 512×512 CT instance, PDF with the embedded CJK subset. Target ≤ 1 s.</summary>
[MemoryDiagnoser]
public class ReportBenchmarks
{
    private WebApplication _app = null!;
    private string _data = null!;
    private TrendReportBuilder _builder = null!;
    private ReportPdfWriter _pdf = null!;
    private string _device = null!;

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _data = Path.Combine(Path.GetTempPath(), $"qc-bench-report-{Guid.NewGuid():N}");
        _app = ServiceHost.Build(["--Dicom:Port=0", "--Http:Urls=http://127.0.0.1:0", $"--Storage:DataPath={_data}", "--Pipeline:SweeperEnabled=false",
            "--Logging:LogLevel:Default=Warning", "--Reports:WarmUp=false"]);
        await _app.StartAsync();
        var sp = _app.Services;
        var factory = sp.GetRequiredService<IDbContextFactory<ResultsDbContext>>();
        var now = DateTimeOffset.UtcNow;
        var clock = new Clock(now);
        var store = new ResultStore(factory, clock);
        var device = await store.ResolveDeviceAsync(new DeviceIdentity("BENCH-CT-1", "CT01", "CT01", "ACME", "Scan 64", "CT", "北京协和医院"));
        _device = device.Id.ToString(CultureInfo.InvariantCulture);

        // The latest run's image: a stored CT instance with its index row, as ingest leaves them.
        using var ct = CtFileGenerator.Create(0);
        string study = ct.Dataset.GetString(DicomTags.StudyInstanceUID)!, series = ct.Dataset.GetString(DicomTags.SeriesInstanceUID)!, sop = ct.Dataset.GetString(DicomTags.SOPInstanceUID)!;
        var relative = StoragePaths.RelativeInstancePath(study, series, sop);
        var full = sp.GetRequiredService<StoragePaths>().FullPath(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        ct.Save(full, TransferSyntax.ExplicitVRLittleEndian);
        var index = await sp.GetRequiredService<IDbContextFactory<IndexDbContext>>().CreateDbContextAsync();
        await using (index)
        {
            index.Instances.Add(new InstanceRecord
            {
                SopInstanceUid = sop, SopClassUid = "1.2.840.10008.5.1.4.1.1.2", StudyInstanceUid = study, SeriesInstanceUid = series, Modality = "CT",
                TransferSyntaxUid = TransferSyntax.ExplicitVRLittleEndian.Uid, Path = relative, Size = new FileInfo(full).Length, Sha256 = new string('0', 64),
                ReceivedAt = now, Source = "bench",
            });
            await index.SaveChangesAsync();
        }

        for (int i = 0; i < 36; i++)
        {
            clock.Now = now.AddMonths(i - 36);
            double hu = i % 12 == 5 ? 7.2 : Math.Sin(i / 3.0) * 3;
            MetricResult[] metrics =
            [
                MetricResult.Judge(MetricNames.CtWaterHu, hu, "HU", Limit.Within(0, 6)),
                MetricResult.Judge(MetricNames.CtNoisePercent, 0.3 + i * 0.001, "%", Limit.Below(0.45)),
                MetricResult.Judge(MetricNames.CtUniformityHu, 1.5 + i % 4 * 0.5, "HU", Limit.Within(0, 6)),
            ];
            var result = new AnalysisResult
            {
                Profile = "ct-water", AlgorithmVersion = "ct-water/1.0", Verdict = AnalysisResult.Combine(metrics), Metrics = metrics,
                LimitSet = new LimitSetReference("standards", 1, LimitKind.Constancy),
                Rois = [new CircleRoi("center", 0, 256, 256, 25), new CircleRoi("12 o'clock", 0, 256, 120, 25)],
                Images = [new ImageResult(0, sop, metrics, [])],
            };
            string s = i == 35 ? series : $"1.2.826.0.1.3680043.10.777.{i + 1}";
            await store.RecordAsync(new ResultWrite(Guid.NewGuid(), study, s, device.Id, result, 1, "quiet", TimeSpan.FromMilliseconds(100)));
        }
        _builder = sp.GetRequiredService<TrendReportBuilder>();
        _pdf = sp.GetRequiredService<ReportPdfWriter>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _app.StopAsync().GetAwaiter().GetResult();
        ((IDisposable)_app).Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }

    /// <summary>One device, 3 years monthly, PDF in Chinese.</summary>
    [Benchmark]
    public int PdfOneDeviceThreeYearsMonthly() => PdfAsync().GetAwaiter().GetResult().Length;

    private async Task<byte[]> PdfAsync()
    {
        var request = _builder.Parse(_device, null, DateTimeOffset.UtcNow.AddMonths(-37).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), null, "pdf", "zh");
        var report = await _builder.BuildAsync(request);
        return await _pdf.WriteAsync(report);
    }

    /// <summary>Quick mode (<c>--report-pdf</c>): first call (cold) and the best of 10, wall time.</summary>
    public static void PrintTimings()
    {
        var b = new ReportBenchmarks();
        b.Setup();
        try
        {
            var sw = Stopwatch.StartNew();
            int size = b.PdfOneDeviceThreeYearsMonthly();
            var cold = sw.Elapsed;
            double best = double.MaxValue;
            for (int i = 0; i < 10; i++)
            {
                sw.Restart();
                b.PdfOneDeviceThreeYearsMonthly();
                best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
            }
            // Where the time goes (best of 5 each).
            var request = b._builder.Parse(b._device, null, DateTimeOffset.UtcNow.AddMonths(-37).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), null, "pdf", "zh");
            var report = b._builder.BuildAsync(request).GetAwaiter().GetResult();
            double Best(Action a) { double m = double.MaxValue; for (int i = 0; i < 5; i++) { var w = Stopwatch.StartNew(); a(); m = Math.Min(m, w.Elapsed.TotalMilliseconds); } return m; }
            var roi = b._app.Services.GetRequiredService<RoiImageRenderer>();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  model {Best(() => b._builder.BuildAsync(request).GetAwaiter().GetResult()):F0} ms, one chart {Best(() => ReportCharts.RenderJpeg(report.Devices[0].Metrics[0], report.From, report.To, 1320, 400)):F0} ms, roi {Best(() => roi.RenderAsync(report.Devices[0].LatestResultId!.Value).GetAwaiter().GetResult()):F0} ms, pdf writer {Best(() => b._pdf.WriteAsync(report).GetAwaiter().GetResult()):F0} ms"));
            Console.WriteLine($"report-pdf one device, 36 monthly runs: cold {cold.TotalMilliseconds:F0} ms, best of 10 {best:F0} ms, {size / 1024} KiB");
        }
        finally
        {
            b.Cleanup();
        }
    }
}
