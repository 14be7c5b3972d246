using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Labels;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Tests;

/// <summary>The QC gauges on /metrics, rebuilt from the results database: latest verdict and values per device and test,
/// last run and last pass, label compliance and findings; every device exported; nothing of a patient in a label.</summary>
public abstract partial class QcGaugesContract
{
    protected abstract Task<InProcessService> StartAsync(params string[] args);

    private static AnalysisResult Water(double hu, Verdict verdict) => new()
    {
        Profile = "ct-water",
        AlgorithmVersion = "ct-water/1.0",
        Verdict = verdict,
        Metrics = [MetricResult.Judge(MetricNames.CtWaterHu, hu, "HU", Limit.Within(0, 6))],
        LimitSet = new LimitSetReference("standards", 1, LimitKind.Constancy),
    };

    private static async Task<string> ScrapeAsync(InProcessService svc)
    {
        using var http = svc.CreateHttpClient();
        return await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
    }

    /// <summary>The value of one exposition line <c>NAME{LABELS} VALUE</c>, or null when there is none.</summary>
    private static double? Value(string text, string name, string labels)
    {
        var m = Regex.Match(text, "^" + Regex.Escape(name + "{" + labels + "}") + @" (\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    [Fact]
    public async Task Gauges_follow_the_latest_result_and_every_device_is_exported()
    {
        await using var svc = await StartAsync("--Metrics:QcRefreshInterval=00:00:00");
        var store = svc.Services.GetRequiredService<ResultStore>();
        var ct1 = await store.ResolveDeviceAsync(new DeviceIdentity("SN-CT1", "CT01", null, Modality: "CT"));
        var silent = await store.ResolveDeviceAsync(new DeviceIdentity(null, "DR-NEW", null, Modality: "DX"));

        var first = await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.1", ct1.Id, Water(2.0, Verdict.Pass), 10, "quiet", TimeSpan.Zero));
        var text = await ScrapeAsync(svc);
        Assert.Equal(1, Value(text, "qc_test_passed", "device=\"serial:SN-CT1\",test=\"ct-water\""));
        Assert.Equal(2.0, Value(text, "qc_metric_value", "device=\"serial:SN-CT1\",test=\"ct-water\",metric=\"ct.water_hu\""));
        Assert.Equal(-6.0, Value(text, "qc_metric_limit_min", "device=\"serial:SN-CT1\",test=\"ct-water\",metric=\"ct.water_hu\""));
        Assert.Equal(6.0, Value(text, "qc_metric_limit_max", "device=\"serial:SN-CT1\",test=\"ct-water\",metric=\"ct.water_hu\""));
        var lastPass = Value(text, "qc_test_last_pass_timestamp_seconds", "device=\"serial:SN-CT1\",test=\"ct-water\"");
        Assert.Equal(first.Record.AnalyzedAt.ToUnixTimeMilliseconds() / 1000.0, lastPass!.Value, 0.002);
        // A device that never ran a test is still there, with its names, for the fleet view.
        Assert.Equal(1, Value(text, "qc_device_info", "device=\"station:DR-NEW\",name=\"\",modality=\"DX\",site=\"\""));

        // A later failure: not passed, the new value, the last pass unchanged.
        await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.2", ct1.Id, Water(9.5, Verdict.Fail), 10, "quiet", TimeSpan.Zero));
        text = await ScrapeAsync(svc);
        Assert.Equal(0, Value(text, "qc_test_passed", "device=\"serial:SN-CT1\",test=\"ct-water\""));
        Assert.Equal(9.5, Value(text, "qc_metric_value", "device=\"serial:SN-CT1\",test=\"ct-water\",metric=\"ct.water_hu\""));
        Assert.Equal(lastPass, Value(text, "qc_test_last_pass_timestamp_seconds", "device=\"serial:SN-CT1\",test=\"ct-water\""));
        Assert.True(Value(text, "qc_test_last_run_timestamp_seconds", "device=\"serial:SN-CT1\",test=\"ct-water\"") >= lastPass);

        // Label compliance: 1 of 2 checked series had an error; findings counted per rule.
        QcFinding[] error = [new() { RuleId = "label.patient-name", Severity = FindingSeverity.Error, MessageEn = "empty", MessageZh = "空" }];
        await store.RecordFindingsAsync(Guid.NewGuid(), "1.2.3.1", ct1.Id, error, 10);
        await store.RecordFindingsAsync(Guid.NewGuid(), "1.2.3.2", ct1.Id, [], 10);
        text = await ScrapeAsync(svc);
        Assert.Equal(0.5, Value(text, "qc_label_compliance_ratio", "device=\"serial:SN-CT1\""));
        Assert.Equal(1, Value(text, "qc_label_findings_total", "device=\"serial:SN-CT1\",rule=\"label.patient-name\""));
        Assert.Null(Value(text, "qc_label_compliance_ratio", "device=\"station:DR-NEW\""));

        // An edited display name replaces the info series rather than adding a second one.
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
        {
            await db.Devices.Where(d => d.Id == ct1.Id).ExecuteUpdateAsync(u => u.SetProperty(d => d.DisplayName, "CT 1 东院"));
        }
        text = await ScrapeAsync(svc);
        Assert.Equal(1, Value(text, "qc_device_info", "device=\"serial:SN-CT1\",name=\"CT 1 东院\",modality=\"CT\",site=\"\""));
        Assert.Null(Value(text, "qc_device_info", "device=\"serial:SN-CT1\",name=\"\",modality=\"CT\",site=\"\""));
        Assert.DoesNotContain("1.2.3.1", text, StringComparison.Ordinal); // no UID in any label
    }

    [Fact]
    public async Task Due_and_overdue_gauges_agree_with_the_schedule()
    {
        await using var svc = await StartAsync("--Metrics:QcRefreshInterval=00:00:00");
        var store = svc.Services.GetRequiredService<ResultStore>();
        var ct = await store.ResolveDeviceAsync(new DeviceIdentity("SN-DUE", "CTDUE", null, Modality: "CT"));
        var now = DateTimeOffset.UtcNow;
        // First seen three months ago; ct-water passed 40 days ago, then failed 10 days ago (monthly: overdue);
        // ct-mtf never ran (six-monthly from first seen: due, not overdue).
        var pass = await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.40", ct.Id, Water(1.0, Verdict.Pass), 1, "quiet", TimeSpan.Zero));
        var fail = await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.10", ct.Id, Water(9.0, Verdict.Fail), 1, "quiet", TimeSpan.Zero));
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
        {
            await db.Devices.Where(d => d.Id == ct.Id).ExecuteUpdateAsync(u => u.SetProperty(d => d.FirstSeenAt, now.AddMonths(-3)));
            await db.Results.Where(r => r.Id == pass.Record.Id).ExecuteUpdateAsync(u => u.SetProperty(r => r.AnalyzedAt, now.AddDays(-40)));
            await db.Results.Where(r => r.Id == fail.Record.Id).ExecuteUpdateAsync(u => u.SetProperty(r => r.AnalyzedAt, now.AddDays(-10)));
        }
        var text = await ScrapeAsync(svc);
        var due = await svc.Services.GetRequiredService<QcPipeline.Service.Schedule.ITestDueStatus>().GetAsync(ct.Id, DateTimeOffset.UtcNow);
        Assert.Equal(["ct-mtf", "ct-water"], due.Select(d => d.Test).Order(StringComparer.Ordinal));
        foreach (var d in due)
        {
            var sel = $"device=\"serial:SN-DUE\",test=\"{d.Test}\"";
            Assert.Equal(d.DueAt!.Value.ToUnixTimeMilliseconds() / 1000.0, Value(text, "qc_test_due_timestamp_seconds", sel)!.Value, 0.002);
            Assert.Equal(d.Overdue ? 1 : 0, Value(text, "qc_test_overdue", sel));
        }
        Assert.Equal(1, Value(text, "qc_test_overdue", "device=\"serial:SN-DUE\",test=\"ct-water\""));
        Assert.Equal(0, Value(text, "qc_test_overdue", "device=\"serial:SN-DUE\",test=\"ct-mtf\""));
        Assert.Equal(0, Value(text, "qc_test_passed", "device=\"serial:SN-DUE\",test=\"ct-mtf\"")); // planned, never run
    }

    [Fact]
    public async Task Scrapes_within_the_refresh_interval_are_answered_from_the_last_rebuild()
    {
        await using var svc = await StartAsync("--Metrics:QcRefreshInterval=01:00:00");
        var store = svc.Services.GetRequiredService<ResultStore>();
        var dev = await store.ResolveDeviceAsync(new DeviceIdentity(null, "CT09", null));
        await ScrapeAsync(svc); // the first rebuild
        await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.9", dev.Id, Water(1.0, Verdict.Pass), 1, "quiet", TimeSpan.Zero));
        var text = await ScrapeAsync(svc);
        Assert.Null(Value(text, "qc_test_passed", "device=\"station:CT09\",test=\"ct-water\""));
        await svc.Services.GetRequiredService<QcPipeline.Service.Metrics.QcGauges>().RefreshAsync();
        text = await ScrapeAsync(svc);
        Assert.Equal(1, Value(text, "qc_test_passed", "device=\"station:CT09\",test=\"ct-water\""));
    }

    [Fact]
    public async Task The_gauges_are_rebuilt_in_the_background_every_refresh_interval()
    {
        await using var svc = await StartAsync("--Metrics:QcRefreshInterval=00:00:01");
        var store = svc.Services.GetRequiredService<ResultStore>();
        var dev = await store.ResolveDeviceAsync(new DeviceIdentity(null, "CT10", null));
        await ScrapeAsync(svc);
        await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.10", dev.Id, Water(1.0, Verdict.Pass), 1, "quiet", TimeSpan.Zero));
        // No one calls RefreshAsync: the background loop picks the result up within an interval or two.
        var text = await SeriesAssemblyScenarios.Eventually(() => ScrapeAsync(svc),
            t => Value(t, "qc_test_passed", "device=\"station:CT10\",test=\"ct-water\"") == 1, TimeSpan.FromSeconds(30));
        Assert.Equal(1, Value(text, "qc_test_passed", "device=\"station:CT10\",test=\"ct-water\""));
    }
}

public sealed class QcGaugesSqliteTests : QcGaugesContract
{
    protected override Task<InProcessService> StartAsync(params string[] args) => InProcessService.StartAsync(null, args);
}

[Collection(PostgresCollection.Name)]
public sealed class QcGaugesPostgresTests(PostgresFixture pg) : QcGaugesContract
{
    protected override async Task<InProcessService> StartAsync(params string[] args)
    {
        var cs = await pg.CreateDatabaseAsync();
        return await InProcessService.StartAsync(null, [.. args, "--Database:Provider=Postgres", $"--Database:ConnectionString={cs}"]);
    }
}
