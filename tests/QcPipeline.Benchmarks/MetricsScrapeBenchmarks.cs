using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Service;
using QcPipeline.Service.Metrics;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Schedule;

namespace QcPipeline.Benchmarks;

/// <summary>A Prometheus scrape of <c>/metrics</c> with 200 devices × 10 tests in the service's SQLite database: each scrape
/// rebuilds the QC gauges from the database (<c>Metrics:QcRefreshInterval=0</c>, the worst case: normally a rebuild serves
/// every scrape within 5 s) and writes the exposition over HTTP (Kestrel on loopback). Per device and test: 6 monthly
/// results with 3 metrics each and a test plan row; per result a label check (SeriesChecks), per device 6 label findings.
/// Target ≤ 50 ms.</summary>
[MemoryDiagnoser]
public class MetricsScrapeBenchmarks
{
    public const int Devices = 200, TestsPerDevice = 10, RunsPerTest = 6;

    // The seven analysis profiles and three more test names: what costs is the number of device × test series.
    private static readonly string[] Tests =
        ["ct-water", "ct-mtf", "dr-uniformity", "dr-stp", "dr-dark", "dr-lag", "mr-uniform", "bench-8", "bench-9", "bench-10"];

    /// <summary>0: every scrape rebuilds the gauges (the worst case); 5: the default, the gauges are rebuilt in the
    /// background every 5 s and a scrape writes the latest rebuild.</summary>
    [Params(0, 5)]
    public int RefreshSeconds { get; set; }

    private WebApplication _app = null!;
    private string _data = null!;
    private HttpClient _http = null!;
    private QcGauges _gauges = null!;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _data = Path.Combine(Path.GetTempPath(), $"qc-bench-scrape-{Guid.NewGuid():N}");
        _app = ServiceHost.Build(["--Dicom:Port=0", "--Http:Urls=http://127.0.0.1:0", $"--Storage:DataPath={_data}", "--Pipeline:SweeperEnabled=false",
            "--Logging:LogLevel:Default=Warning", "--Reports:WarmUp=false", $"--Metrics:QcRefreshInterval=00:00:{RefreshSeconds:D2}"]);
        await _app.StartAsync();
        var factory = _app.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>();
        var now = DateTimeOffset.UtcNow;
        var rng = new Random(8);
        for (int d = 0; d < Devices; d++)
        {
            var db = await factory.CreateDbContextAsync();
            await using (db)
            {
                var device = new DeviceRecord
                {
                    Key = $"serial:BENCH-{d:D4}", DeviceSerialNumber = $"BENCH-{d:D4}", StationName = $"ST{d:D4}", Modality = (d % 3) switch { 0 => "CT", 1 => "DX", _ => "MR" },
                    DisplayName = $"设备 {d}", Site = $"Site {d % 7}", FirstSeenAt = now.AddYears(-1), LastSeenAt = now,
                };
                db.Devices.Add(device);
                await db.SaveChangesAsync();
                foreach (var test in Tests)
                {
                    db.TestPlans.Add(new TestPlanRecord { DeviceId = device.Id, Test = test, Frequency = "P1M", UpdatedBy = "bench", UpdatedAt = now });
                    for (int run = 0; run < RunsPerTest; run++)
                    {
                        var at = now.AddMonths(run - RunsPerTest).AddHours(rng.Next(0, 72));
                        var series = $"1.2.826.0.1.3680043.10.888.{d}.{Array.IndexOf(Tests, test)}.{run}";
                        bool pass = rng.NextDouble() > 0.1;
                        db.Results.Add(new ResultRecord
                        {
                            ClaimId = Guid.NewGuid(), StudyInstanceUid = "1.2.826.0.1.3680043.10.888", SeriesInstanceUid = series, DeviceId = device.Id,
                            Profile = test, AlgorithmVersion = $"{test}/1.0", Verdict = pass ? "pass" : "fail", LimitSetId = "default-constancy", LimitSetVersion = 1,
                            InstanceCount = 2, Reason = "quiet", AnalyzedAt = at, DurationMs = 100, Json = "{}",
                            Metrics = [.. Enumerable.Range(0, 3).Select(m => new ResultMetricRecord
                            {
                                Name = $"{test}.m{m}", Value = rng.NextDouble() * 10, Unit = "", LimitMin = 0, LimitMax = 9, Verdict = pass ? "pass" : "fail",
                            })],
                        });
                        db.SeriesChecks.Add(new SeriesCheckRecord
                        {
                            ClaimId = Guid.NewGuid(), SeriesInstanceUid = series, DeviceId = device.Id, At = at, InstanceCount = 2, Errors = rng.Next(0, 5) == 0 ? 1 : 0,
                        });
                    }
                }
                for (int f = 0; f < 6; f++)
                    db.LabelFindings.Add(new LabelFindingRecord
                    {
                        ClaimId = Guid.NewGuid(), SeriesInstanceUid = "1.2.826.0.1.3680043.10.888.0", DeviceId = device.Id, RuleId = $"label.rule-{f % 3}",
                        Severity = "error", MessageEn = "missing", MessageZh = "缺失", InstanceCount = 1, At = now,
                    });
                await db.SaveChangesAsync();
            }
        }
        _gauges = _app.Services.GetRequiredService<QcGauges>();
        await _gauges.RefreshAsync(); // the seeded rows in, whatever the background rebuild at start saw
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _http.Dispose();
        _app.StopAsync().GetAwaiter().GetResult();
        ((IDisposable)_app).Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }

    /// <summary>GET /metrics: the QC gauges rebuilt from the database, then the whole exposition (operational metrics too).</summary>
    [Benchmark]
    public long Scrape() => ScrapeAsync().GetAwaiter().GetResult();

    // Read as Prometheus does, into nothing: decoding a 2.5 MB string here would add the client's cost to the server's.
    private async Task<long> ScrapeAsync()
    {
        using var response = await _http.GetAsync(new Uri("/metrics", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var counter = new CountingStream();
        await body.CopyToAsync(counter);
        return counter.Length;
    }

    private sealed class CountingStream : Stream
    {
        private long _length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _length += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>The rebuild alone (database queries, due status, gauge updates).</summary>
    [Benchmark]
    public void RefreshOnly() => _gauges.RefreshAsync().GetAwaiter().GetResult();

    /// <summary>Quick mode (<c>--metrics-scrape</c>): the first scrape (cold), then best and median of 20, wall time.</summary>
    public static void PrintTimings()
    {
        PrintTimings(0);
        PrintTimings(5);
    }

    private static void PrintTimings(int refreshSeconds)
    {
        var b = new MetricsScrapeBenchmarks { RefreshSeconds = refreshSeconds };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Metrics:QcRefreshInterval = {refreshSeconds} s"));
        var setup = Stopwatch.StartNew();
        b.Setup();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  seeded {Devices} devices x {TestsPerDevice} tests x {RunsPerTest} runs in {setup.Elapsed.TotalSeconds:F1} s"));
        try
        {
            var sw = Stopwatch.StartNew();
            var text = b._http.GetStringAsync(new Uri("/metrics", UriKind.Relative)).GetAwaiter().GetResult();
            var cold = sw.Elapsed.TotalMilliseconds;
            int passed = text.Split('\n').Count(l => l.StartsWith("qc_test_passed{", StringComparison.Ordinal));
            if (passed != Devices * TestsPerDevice) throw new InvalidOperationException($"expected {Devices * TestsPerDevice} qc_test_passed series, got {passed}");
            double[] Times(Action a, int n)
            {
                var t = new double[n];
                for (int i = 0; i < n; i++) { var w = Stopwatch.StartNew(); a(); t[i] = w.Elapsed.TotalMilliseconds; }
                Array.Sort(t);
                return t;
            }
            // Process CPU time per call as well: wall time on a shared, loaded machine mostly measures the wait for a core.
            double Cpu(Action a, int n)
            {
                var p = Process.GetCurrentProcess();
                var before = p.TotalProcessorTime;
                for (int i = 0; i < n; i++) a();
                p.Refresh();
                return (p.TotalProcessorTime - before).TotalMilliseconds / n;
            }
            var scrape = Times(() => b.Scrape(), 20);
            var refresh = Times(b.RefreshOnly, 20);
            double scrapeCpu = Cpu(() => b.Scrape(), 20), refreshCpu = Cpu(b.RefreshOnly, 20);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  CPU time per call (all threads, GC included): scrape {scrapeCpu:F1} ms, refresh only {refreshCpu:F1} ms"));
            // For scale: prometheus-net writing 29000 gauge samples of the same label shape from a plain registry.
            var reg2 = Prometheus.Metrics.NewCustomRegistry();
            var g2 = Prometheus.Metrics.WithCustomRegistry(reg2).CreateGauge("x_metric_value", "h", ["device", "test", "metric"]);
            for (int i = 0; i < 29000; i++) g2.WithLabels($"serial:BENCH-{i / 150:D4}", $"test-{i / 15 % 10}", $"m{i % 15}").Set(i * 0.37);
            var expo = Times(() => reg2.CollectAndExportAsTextAsync(Stream.Null).GetAwaiter().GetResult(), 10);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  prometheus-net exposition alone, 29000 samples: best {expo[0]:F1} ms, median {expo[5]:F1} ms"));
            var dueService = b._app.Services.GetRequiredService<ITestDueStatus>();
            var due = Times(() => dueService.GetAsync(null, DateTimeOffset.UtcNow).GetAwaiter().GetResult(), 10);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  due status (test plans) best {due[0]:F1} ms, median {due[5]:F1} ms"));
            int lines = text.Split('\n').Count(l => l.Length > 0 && l[0] != '#');
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"metrics-scrape {Devices} devices x {TestsPerDevice} tests: cold {cold:F0} ms; scrape best {scrape[0]:F1} ms, median {scrape[10]:F1} ms; " +
                $"refresh only best {refresh[0]:F1} ms, median {refresh[10]:F1} ms; {lines} samples, {text.Length / 1024} KiB; qc_test_passed series {passed}"));
        }
        finally
        {
            b.Cleanup();
        }
    }
}
