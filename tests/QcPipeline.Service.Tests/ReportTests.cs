using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using CsvHelper;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Labels;
using QcPipeline.Service.Bus;
using QcPipeline.Service.Reports;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Schedule;
using SkiaSharp;

namespace QcPipeline.Service.Tests;

/// <summary>A clock the seeding sets: results and findings are stamped with it (the store takes a TimeProvider).</summary>
internal sealed class SettableClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;
    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>Test plans for the report tests only: fixed statuses (the real ones come from Schedule/).</summary>
internal sealed class FixedDueStatus(IReadOnlyList<TestDueStatus> statuses) : ITestDueStatus
{
    public Task<IReadOnlyList<TestDueStatus>> GetAsync(long? deviceId, DateTimeOffset now, CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<TestDueStatus>>(statuses.Where(s => deviceId is null || s.DeviceId == deviceId).ToList());
}

/// <summary>Seeds a CT device with a Chinese display name: 36 monthly ct-water results through <see cref="ResultStore"/> (three
/// failures, one inconclusive, error-level label findings every sixth month), then one real analysis of stored CT images
/// (the worker, so the latest result has real ROI geometry over a stored image).</summary>
public static class ReportSeed
{
    public const string DeviceName = "CT 2号机（东院）";
    public const string Institution = "北京协和医院";
    public const int Months = 36;
    public static readonly int[] FailMonths = [5, 17, 29];
    public const int InconclusiveMonth = 11;

    /// <summary>Month <paramref name="i"/>'s run time: the 15th at 10:00 UTC, <see cref="Months"/> − i months before this month.</summary>
    public static DateTimeOffset MonthAt(DateTimeOffset now, int i)
    {
        var first = new DateTimeOffset(now.Year, now.Month, 15, 10, 0, 0, TimeSpan.Zero).AddMonths(-Months);
        return first.AddMonths(i);
    }

    public static double WaterHu(int i) => FailMonths.Contains(i) ? 7.5 : Math.Round(Math.Sin(i / 3.0) * 3, 2);

    public static AnalysisResult Water(int i)
    {
        if (i == InconclusiveMonth)
            return AnalysisResult.InconclusiveBecause("ct-water", "ct-water/1.0", new LimitSetReference("standards", 1, LimitKind.Constancy), "no phantom found");
        MetricResult[] metrics =
        [
            MetricResult.Judge(MetricNames.CtWaterHu, WaterHu(i), "HU", Limit.Within(0, 6)),
            MetricResult.Judge(MetricNames.CtNoisePercent, 0.30 + i * 0.001, "%", Limit.Below(0.45)),
            MetricResult.Judge(MetricNames.CtUniformityHu, 1.5 + (i % 4) * 0.5, "HU", Limit.Within(0, 6)),
        ];
        return new AnalysisResult
        {
            Profile = "ct-water", AlgorithmVersion = "ct-water/1.0", Verdict = AnalysisResult.Combine(metrics), Metrics = metrics,
            LimitSet = new LimitSetReference("standards", 1, LimitKind.Constancy), Rois = [new CircleRoi("center", 0, 256, 256, 25)],
        };
    }

    /// <summary>Seeds the 36 months for the device of <paramref name="identity"/>; returns its id.</summary>
    public static async Task<long> SeedAsync(IServiceProvider services, DeviceIdentity identity, DateTimeOffset now, int months = Months)
    {
        var factory = services.GetRequiredService<IDbContextFactory<ResultsDbContext>>();
        var clock = new SettableClock(MonthAt(now, 0));
        var store = new ResultStore(factory, clock);
        var device = await store.ResolveDeviceAsync(identity);
        for (int i = 0; i < months; i++)
        {
            clock.Now = MonthAt(now, i);
            string series = "1.2.826.0.1.3680043.10.999." + (i + 1).ToString(CultureInfo.InvariantCulture);
            await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.826.0.1.3680043.10.998", series, device.Id, Water(i), 3, "quiet", TimeSpan.FromMilliseconds(200)));
            var findings = new List<QcFinding>();
            if (i % 6 == 0) findings.Add(new() { RuleId = "label.missing", Severity = FindingSeverity.Error, MessageEn = "InstitutionName is empty", MessageZh = "医院名称为空" });
            if (i % 4 == 1) findings.Add(new() { RuleId = "hr.misplaced", Severity = FindingSeverity.Warning, MessageEn = "HR mark misplaced", MessageZh = "互认标识位置不当" });
            // As the worker does: every checked series leaves its check (and its findings, if any).
            await store.RecordFindingsAsync(Guid.NewGuid(), series, device.Id, findings);
        }
        var db = await factory.CreateDbContextAsync();
        await using (db)
        {
            await db.Devices.Where(d => d.Id == device.Id)
                .ExecuteUpdateAsync(u => u.SetProperty(d => d.DisplayName, DeviceName).SetProperty(d => d.InstitutionName, Institution).SetProperty(d => d.Site, "东院 CT 室"));
        }
        return device.Id;
    }
}

/// <summary>One service with the seeded device and one real analysed series, shared by the report tests (SQLite).</summary>
public sealed class ReportFixture : IAsyncLifetime
{
    private string? _input;
    public InProcessService Service { get; private set; } = null!;
    public long DeviceId { get; private set; }
    public DateTimeOffset Now { get; } = DateTimeOffset.UtcNow;

    public async Task InitializeAsync()
    {
        _input = Support.NewTempDir("qcrep");
        Service = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false");
        // The real series first: it registers the device (serial:SIM-0001) the seeded months are then added to.
        var files = Support.MakeCtFiles(_input, 3);
        var store = await Support.StoreScuAsync(Service.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
        Assert.True(store.ExitCode == 0, store.All);
        var bus = Service.Services.GetRequiredService<IBusControl>();
        await bus.WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        await Service.Services.GetRequiredService<IPublishEndpoint>().Publish(
            new AnalyzeSeries(Guid.NewGuid(), files[0].StudyUid, files[0].SeriesUid, 3, "quiet", DateTimeOffset.UtcNow));
        var metrics = Service.Services.GetRequiredService<BusMetrics>();
        var until = DateTime.UtcNow.AddSeconds(60);
        while (metrics.ConsumedTotal.WithLabels("AnalyzeSeries").Value < 1 && DateTime.UtcNow < until) await Task.Delay(100);
        DeviceId = await ReportSeed.SeedAsync(Service.Services, new DeviceIdentity("SIM-0001", null, null), Now);
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        if (_input is not null) Support.TryDeleteDir(_input);
    }
}

public sealed class ReportTests(ReportFixture fx) : IClassFixture<ReportFixture>
{
    private static string Day(DateTimeOffset t) => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The seeded months only (the real analysis of today is outside).</summary>
    private string SeededPeriod => $"from={Day(ReportSeed.MonthAt(fx.Now, 0))}&to={Day(ReportSeed.MonthAt(fx.Now, ReportSeed.Months - 1))}";

    [Fact]
    public async Task Json_report_has_the_documented_shape_and_the_seeded_values()
    {
        using var http = fx.Service.CreateHttpClient();
        var response = await http.GetAsync($"/api/reports/trend?device={fx.DeviceId}&{SeededPeriod}&format=json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("zh", root.GetProperty("language").GetString());
        Assert.Equal("UTC", root.GetProperty("timeZone").GetString());
        Assert.Contains("CNAS-CL02-A011:2018 §5.6.2.3", root.GetProperty("clauses").EnumerateArray().Select(c => c.GetString()));
        var section = Assert.Single(root.GetProperty("devices").EnumerateArray());
        var device = section.GetProperty("device");
        Assert.Equal((fx.DeviceId, ReportSeed.DeviceName, ReportSeed.Institution, "serial:SIM-0001", ReportSeed.DeviceName),
            (device.GetProperty("id").GetInt64(), device.GetProperty("displayName").GetString(), device.GetProperty("institutionName").GetString(),
             device.GetProperty("key").GetString(), device.GetProperty("name").GetString()));

        var summary = section.GetProperty("summary");
        Assert.Equal((36, 32, 3, 1), (summary.GetProperty("runs").GetInt32(), summary.GetProperty("passed").GetInt32(),
            summary.GetProperty("failed").GetInt32(), summary.GetProperty("inconclusive").GetInt32()));

        var runs = section.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(36, runs.Count);
        var times = runs.Select(r => r.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(times.Order(), times);
        Assert.Equal(ReportSeed.MonthAt(fx.Now, 0), times[0]);
        Assert.Equal("fail", runs[5].GetProperty("verdict").GetString());
        Assert.Equal("standards v1", runs[0].GetProperty("limitSet").GetString());
        Assert.Equal("no phantom found", runs[11].GetProperty("inconclusiveReason").GetString());
        var hu = runs[5].GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("name").GetString() == MetricNames.CtWaterHu);
        Assert.Equal((7.5, -6.0, 6.0, "fail", "HU"), (hu.GetProperty("value").GetDouble(), hu.GetProperty("limitMin").GetDouble(),
            hu.GetProperty("limitMax").GetDouble(), hu.GetProperty("verdict").GetString(), hu.GetProperty("unit").GetString()));
        var noise = runs[0].GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("name").GetString() == MetricNames.CtNoisePercent);
        Assert.Equal(JsonValueKind.Null, noise.GetProperty("limitMin").ValueKind);

        var trends = section.GetProperty("metrics").EnumerateArray().ToList();
        Assert.Equal([MetricNames.CtWaterHu, MetricNames.CtNoisePercent, MetricNames.CtUniformityHu], trends.Select(t => t.GetProperty("name").GetString()));
        var water = trends[0].GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(35, water.Count); // the inconclusive month has no metrics
        Assert.Equal(Enumerable.Range(0, 36).Where(i => i != 11).Select(ReportSeed.WaterHu), water.Select(p => p.GetProperty("value").GetDouble()));
        Assert.Equal(3, water.Count(p => p.GetProperty("verdict").GetString() == "fail"));

        // Label compliance: 36 series checked, error findings in months 0, 6, ..., 30 (6 series): 30 compliant.
        var labels = section.GetProperty("labels");
        Assert.Equal((36, 30), (labels.GetProperty("seriesChecked").GetInt32(), labels.GetProperty("seriesCompliant").GetInt32()));
        Assert.Equal(30.0 / 36, labels.GetProperty("rate").GetDouble(), 9);
        // The service's test plans (Schedule/): the CT device's default plan (ct-water monthly, ct-mtf six-monthly).
        var due = section.GetProperty("due");
        Assert.True(due.GetProperty("configured").GetBoolean());
        Assert.Contains("ct-water", due.GetProperty("tests").EnumerateArray().Select(t => t.GetProperty("test").GetString()));
        Assert.Equal(runs[^1].GetProperty("resultId").GetInt64(), section.GetProperty("latestResultId").GetInt64());

        // The test filter: a test the device never ran gives an empty section; the fleet report has the device too.
        using var mtf = JsonDocument.Parse(await http.GetStringAsync($"/api/reports/trend?device={fx.DeviceId}&test=ct-mtf&{SeededPeriod}"));
        Assert.Equal(0, mtf.RootElement.GetProperty("devices")[0].GetProperty("runs").GetArrayLength());
        using var fleet = JsonDocument.Parse(await http.GetStringAsync($"/api/reports/trend?{SeededPeriod}"));
        Assert.Contains(fleet.RootElement.GetProperty("devices").EnumerateArray(), d => d.GetProperty("device").GetProperty("id").GetInt64() == fx.DeviceId);
    }

    [Fact]
    public async Task Csv_is_one_row_per_run_and_metric_with_a_BOM_and_parses_back()
    {
        using var http = fx.Service.CreateHttpClient();
        var response = await http.GetAsync($"/api/reports/trend?device=serial:SIM-0001&{SeededPeriod}&format=csv&lang=en");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith(".csv", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'), StringComparison.Ordinal);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);

        var rows = new List<Dictionary<string, string>>();
        using (var reader = CsvReader.Create(bytes, null))
        {
            while (reader.Read())
                rows.Add(ReportCsv.Columns.ToDictionary(c => c, c => reader.GetString(c)));
        }
        // 35 runs × 3 metrics + the inconclusive run as one row.
        Assert.Equal(35 * 3 + 1, rows.Count);
        Assert.All(rows, r => Assert.Equal(ReportSeed.DeviceName, r["device_name"]));
        Assert.All(rows, r => Assert.Equal(ReportSeed.Institution, r["institution"]));
        var failing = rows.Where(r => r["metric"] == MetricNames.CtWaterHu && r["metric_verdict"] == "fail").ToList();
        Assert.Equal(3, failing.Count);
        Assert.All(failing, r => Assert.Equal(7.5, double.Parse(r["value"], CultureInfo.InvariantCulture)));
        Assert.Equal(("-6", "6", "CT number of water"), (failing[0]["limit_min"], failing[0]["limit_max"], failing[0]["metric_label"]));
        var first = DateTimeOffset.ParseExact(rows[0]["analyzed_at"], "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        Assert.Equal(ReportSeed.MonthAt(fx.Now, 0), first);
        var inconclusive = Assert.Single(rows, r => r["run_verdict"] == "inconclusive");
        Assert.Equal("", inconclusive["metric"]);
    }

    private async Task<string> RenderPdfAsync(string query, string name)
    {
        using var http = fx.Service.CreateHttpClient();
        var response = await http.GetAsync("/api/reports/trend?" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/pdf", response.Content.Headers.ContentType?.MediaType);
        var path = Path.Combine(fx.Service.DataPath, name);
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        // For looking at the report by eye: QC_REPORT_KEEP=/some/dir keeps a copy.
        if (Environment.GetEnvironmentVariable("QC_REPORT_KEEP") is { Length: > 0 } keep) File.Copy(path, Path.Combine(keep, name), overwrite: true);
        return path;
    }

    private static async Task<string> Tool(string tool, params string[] args)
    {
        var r = await Support.RunAsync(tool, args, TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, $"{tool}: {r.All}");
        return r.StdOut;
    }

    [Fact]
    public async Task Pdf_in_Chinese_embeds_a_CJK_font_and_shows_charts_with_limit_bands_runs_and_the_ROI_image()
    {
        // The whole history: the seeded 36 months and today's real analysis (the latest result, with its ROI image).
        var pdf = await RenderPdfAsync($"device={fx.DeviceId}&from={Day(ReportSeed.MonthAt(fx.Now, 0).AddDays(-1))}&format=pdf", "zh.pdf");

        var info = await Tool("pdfinfo", pdf);
        int pages = int.Parse(info.Split('\n').Single(l => l.StartsWith("Pages:", StringComparison.Ordinal))[6..].Trim(), CultureInfo.InvariantCulture);
        Assert.InRange(pages, 4, 20);

        var text = await Tool("pdftotext", "-enc", "UTF-8", pdf, "-");
        Assert.Contains(ReportSeed.DeviceName, text, StringComparison.Ordinal);
        Assert.Contains(ReportSeed.Institution, text, StringComparison.Ordinal);
        Assert.Contains("设备质量控制趋势报告", text, StringComparison.Ordinal);
        Assert.Contains("CNAS-CL02-A011", text, StringComparison.Ordinal);
        Assert.Contains("§5.6.2.3", text, StringComparison.Ordinal);
        Assert.Contains("DB11", text, StringComparison.Ordinal);
        Assert.Contains("§5.2", text, StringComparison.Ordinal);
        foreach (var metric in new[] { MetricNames.CtWaterHu, MetricNames.CtNoisePercent, MetricNames.CtUniformityHu }) Assert.Contains(metric, text, StringComparison.Ordinal);
        Assert.Contains("水的CT值", text, StringComparison.Ordinal);
        Assert.DoesNotContain("未配置检测计划", text, StringComparison.Ordinal); // the service's test plans are in the report
        // pdftotext drops the spaces around CJK characters.
        Assert.Contains($"第1页/共{pages}页", text.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains(Day(ReportSeed.MonthAt(fx.Now, 29)), text, StringComparison.Ordinal); // a failed run in the table

        var fonts = await Tool("pdffonts", pdf);
        var fontLines = fonts.Split('\n').Skip(2).Where(l => l.Length > 0).ToList();
        Assert.NotEmpty(fontLines);
        Assert.Contains(fontLines, l => l.Contains("WenQuanYi", StringComparison.OrdinalIgnoreCase) && l.Contains("CID TrueType", StringComparison.Ordinal));
        // Every font is embedded (emb = yes) and subset (sub = yes).
        Assert.All(fontLines, l => Assert.Matches(@"\s+yes\s+yes\s+(yes|no)\s+\d+\s+\d+\s*$", l));

        // Page 1 (cover) and page 2 (the device's first charts) as PNGs.
        var stem = Path.Combine(fx.Service.DataPath, "page");
        await Tool("pdftoppm", "-png", "-r", "60", pdf, stem);
        var pngs = Directory.GetFiles(fx.Service.DataPath, "page-*.png").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(pages, pngs.Count);
        using (var cover = SKBitmap.Decode(pngs[0]))
        {
            Assert.InRange(Share(cover, c => c.Red < 200 || c.Green < 200 || c.Blue < 200), 0.01, 0.6); // text and the title band, not blank
            Assert.Equal(0, Share(cover, c => Near(c, ReportCharts.BandRgb, 6)), 3); // no chart on the cover
        }
        using (var charts = SKBitmap.Decode(pngs[1]))
        {
            Assert.True(Share(charts, c => Near(c, ReportCharts.BandRgb, 6)) > 0.02, "the limit band's colour is on the chart page");
            Assert.True(Share(charts, c => Near(c, ReportCharts.FailRgb, 40)) > 0, "failed runs are drawn in the fail colour");
            Assert.True(Share(charts, c => Near(c, ReportCharts.PassRgb, 40)) > 0, "passed runs are drawn in the pass colour");
        }
        // The ROI image of the latest (real) result: the ROI outline colour over the grey phantom on some page.
        Assert.Contains(pngs, p =>
        {
            using var b = SKBitmap.Decode(p);
            return Share(b, c => Near(c, (RoiImageRenderer.RoiColor.Red, RoiImageRenderer.RoiColor.Green, RoiImageRenderer.RoiColor.Blue), 40)) > 0.0005;
        });
        Assert.DoesNotContain("图像不可用", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pdf_in_English_with_test_plans_lists_the_overdue_tests()
    {
        // A builder over the same database with a test-plan source (the service has none registered).
        var services = new ServiceCollection();
        var asOf = DateTimeOffset.UtcNow;
        services.AddSingleton<ITestDueStatus>(new FixedDueStatus(
        [
            new TestDueStatus(fx.DeviceId, "ct-water", TimeSpan.FromDays(30), asOf.AddDays(-40), asOf.AddDays(-40), "pass", asOf.AddDays(-10), true),
            new TestDueStatus(fx.DeviceId, "ct-mtf", TimeSpan.FromDays(182), asOf.AddDays(-20), asOf.AddDays(-20), "pass", asOf.AddDays(162), false),
            new TestDueStatus(fx.DeviceId + 1000, "ct-water", TimeSpan.FromDays(30), null, null, null, null, true),
        ]));
        using var provider = services.BuildServiceProvider();
        var sp = fx.Service.Services;
        var builder = new TrendReportBuilder(sp.GetRequiredService<IDbContextFactory<ResultsDbContext>>(), sp.GetRequiredService<IOptions<ReportOptions>>(),
            TimeProvider.System, provider);
        var report = await builder.BuildAsync(builder.Parse(fx.DeviceId.ToString(CultureInfo.InvariantCulture), null, null, null, "pdf", "en"));
        var due = report.Devices[0].Due;
        Assert.True(due.Configured);
        Assert.Equal(1, due.OverdueCount);
        Assert.Equal(["ct-mtf", "ct-water"], due.Tests.Select(t => t.Test));

        var bytes = await sp.GetRequiredService<ReportPdfWriter>().WriteAsync(report);
        var path = Path.Combine(fx.Service.DataPath, "en.pdf");
        await File.WriteAllBytesAsync(path, bytes);
        if (Environment.GetEnvironmentVariable("QC_REPORT_KEEP") is { Length: > 0 } keep) File.Copy(path, Path.Combine(keep, "en.pdf"), overwrite: true);
        var text = await Tool("pdftotext", "-enc", "UTF-8", path, "-");
        Assert.Contains("Equipment quality-control trend report", text, StringComparison.Ordinal);
        Assert.Contains("Overdue tests: 1", text, StringComparison.Ordinal);
        Assert.Contains("overdue", text, StringComparison.Ordinal);
        Assert.Contains("monthly", text, StringComparison.Ordinal);
        Assert.Contains("every six months", text, StringComparison.Ordinal);
        Assert.Contains(ReportSeed.DeviceName, text, StringComparison.Ordinal);
        Assert.Contains("CNAS-CL02-A011:2018", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Test plans not configured", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("from=2024-13-01", HttpStatusCode.BadRequest, "from must be a date")]
    [InlineData("to=yesterday", HttpStatusCode.BadRequest, "to must be a date")]
    [InlineData("from=2024-02-01&to=2024-01-01", HttpStatusCode.BadRequest, "from must be before to")]
    [InlineData("from=1990-01-01&to=2024-01-01", HttpStatusCode.BadRequest, "Reports:MaxPeriodDays")]
    [InlineData("format=xlsx", HttpStatusCode.BadRequest, "format must be json, csv or pdf")]
    [InlineData("lang=fr", HttpStatusCode.BadRequest, "lang must be zh or en")]
    [InlineData("test=ct-nonsense", HttpStatusCode.BadRequest, "test must be one of")]
    [InlineData("device=99999", HttpStatusCode.NotFound, "no device")]
    [InlineData("device=serial:NOPE&format=pdf", HttpStatusCode.NotFound, "no device")]
    public async Task Bad_requests_get_a_clear_status_and_reason(string query, HttpStatusCode status, string reason)
    {
        using var http = fx.Service.CreateHttpClient();
        var response = await http.GetAsync("/api/reports/trend?" + query);
        Assert.Equal(status, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static double Share(SKBitmap b, Func<SKColor, bool> match)
    {
        long n = 0;
        for (int y = 0; y < b.Height; y++)
            for (int x = 0; x < b.Width; x++)
                if (match(b.GetPixel(x, y))) n++;
        return (double)n / (b.Width * b.Height);
    }

    private static bool Near(SKColor c, (byte R, byte G, byte B) t, int tolerance) =>
        Math.Abs(c.Red - t.R) <= tolerance && Math.Abs(c.Green - t.G) <= tolerance && Math.Abs(c.Blue - t.B) <= tolerance;
}

/// <summary>Report bounds and configuration, each on its own service.</summary>
public sealed class ReportLimitTests
{
    [Fact]
    public async Task A_report_over_the_run_bound_is_refused_with_400()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false", "--Reports:MaxRuns=10");
        long id = await ReportSeed.SeedAsync(svc.Services, new DeviceIdentity(null, "CT9", null), DateTimeOffset.UtcNow, months: 12);
        using var http = svc.CreateHttpClient();
        var from = ReportSeed.MonthAt(DateTimeOffset.UtcNow, 0).AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var response = await http.GetAsync($"/api/reports/trend?device={id}&from={from}&format=pdf");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("12 runs, more than 10 (Reports:MaxRuns)", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Narrowed to fewer runs, the same report is made.
        var to = ReportSeed.MonthAt(DateTimeOffset.UtcNow, 5).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var ok = await http.GetAsync($"/api/reports/trend?device={id}&from={from}&to={to}&format=csv");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var csv = Encoding.UTF8.GetString(await ok.Content.ReadAsByteArrayAsync());
        Assert.Equal(1 + 6 * 3, csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task A_configured_font_that_is_missing_or_not_TrueType_stops_the_start()
    {
        var missing = await Assert.ThrowsAsync<OptionsValidationException>(() => InProcessService.StartAsync(null, "--Reports:FontPath=/nonexistent/font.ttc"));
        Assert.Contains("Reports:FontPath: '/nonexistent/font.ttc' does not exist", missing.Message, StringComparison.Ordinal);
        var notFont = Path.Combine(Path.GetTempPath(), $"qc-notfont-{Guid.NewGuid():N}.ttf");
        await File.WriteAllTextAsync(notFont, "this is not a font file at all");
        try
        {
            var bad = await Assert.ThrowsAsync<OptionsValidationException>(() => InProcessService.StartAsync(null, $"--Reports:FontPath={notFont}"));
            Assert.Contains("is not a TrueType font", bad.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(notFont);
        }
    }
}

/// <summary>The same report queries on a real PostgreSQL (period filters, the label-compliance union and distinct counts).</summary>
[Collection(PostgresCollection.Name)]
public sealed class ReportPostgresTests(PostgresFixture pg)
{
    [Fact]
    public async Task Json_and_csv_reports_on_PostgreSQL_match_the_seeded_values()
    {
        var cs = await pg.CreateDatabaseAsync();
        await using var svc = await InProcessService.StartAsync(null, "--Database:Provider=Postgres", $"--Database:ConnectionString={cs}",
            "--Pipeline:SweeperEnabled=false", "--Reports:TimeZone=Asia/Shanghai");
        var now = DateTimeOffset.UtcNow;
        long id = await ReportSeed.SeedAsync(svc.Services, new DeviceIdentity("PG-CT-1", null, null), now);
        using var http = svc.CreateHttpClient();
        string from = ReportSeed.MonthAt(now, 0).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string to = ReportSeed.MonthAt(now, ReportSeed.Months - 1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"/api/reports/trend?device={id}&from={from}&to={to}"));
        var section = doc.RootElement.GetProperty("devices")[0];
        var summary = section.GetProperty("summary");
        Assert.Equal((36, 32, 3, 1), (summary.GetProperty("runs").GetInt32(), summary.GetProperty("passed").GetInt32(),
            summary.GetProperty("failed").GetInt32(), summary.GetProperty("inconclusive").GetInt32()));
        var labels = section.GetProperty("labels");
        Assert.Equal((36, 30), (labels.GetProperty("seriesChecked").GetInt32(), labels.GetProperty("seriesCompliant").GetInt32()));
        Assert.Equal(ReportSeed.DeviceName, section.GetProperty("device").GetProperty("name").GetString());
        // Times in the configured zone (UTC+8): month 0 at 10:00 UTC is 18:00 +08:00.
        Assert.Equal("Asia/Shanghai", doc.RootElement.GetProperty("timeZone").GetString());
        var first = section.GetProperty("runs")[0].GetProperty("at").GetString()!;
        Assert.EndsWith("T18:00:00+08:00", first, StringComparison.Ordinal);
        Assert.Equal(ReportSeed.MonthAt(now, 0), DateTimeOffset.Parse(first, CultureInfo.InvariantCulture));
    }
}
