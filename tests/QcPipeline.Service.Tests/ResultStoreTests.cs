using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Labels;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Tests;

/// <summary>The results store on SQLite (the embedded default) and on a real PostgreSQL: devices registered once, results
/// written once per claim (redelivery-safe) and appended on re-analysis, findings once per claim.</summary>
public abstract class ResultStoreContract
{
    protected abstract Task<InProcessService> StartAsync();

    private static AnalysisResult Water(double hu, Verdict verdict) => new()
    {
        Profile = "ct-water",
        AlgorithmVersion = "ct-water/1.0",
        Verdict = verdict,
        Metrics =
        [
            MetricResult.Judge("water_hu", hu, "HU", Limit.Within(0, 6)),
            MetricResult.Judge("noise_pct", 0.3, "%", Limit.Below(0.45)),
        ],
        LimitSet = new LimitSetReference("standards", 1, LimitKind.Constancy),
        Rois = [new CircleRoi("center", 0, 256, 256, 40)],
    };

    [Fact]
    public async Task A_device_is_registered_once_even_when_several_workers_see_it_first()
    {
        await using var svc = await StartAsync();
        var store = svc.Services.GetRequiredService<ResultStore>();
        var id = new DeviceIdentity(null, "CT01", "MODALITY1", "ACME", "Scan 64", "CT");
        var devices = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => store.ResolveDeviceAsync(id))));
        Assert.Single(devices.Select(d => d.Id).Distinct());
        Assert.Equal("station:CT01", devices[0].Key);
        // A serial number wins over the station name; no identity at all is "unknown".
        Assert.Equal("serial:SN-9", new DeviceIdentity(" SN-9 ", "CT01", null).Key);
        Assert.Equal("ae:DX1", new DeviceIdentity(null, "  ", "DX1").Key);
        Assert.Equal("unknown", new DeviceIdentity(null, null, null).Key);

        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
        {
            var row = await db.Devices.SingleAsync();
            Assert.Equal(("CT01", "MODALITY1", "ACME", "CT"), (row.StationName, row.CallingAe, row.Manufacturer, row.Modality));
        }
    }

    [Fact]
    public async Task A_result_is_written_once_per_claim_and_a_reanalysis_appends_another()
    {
        await using var svc = await StartAsync();
        var store = svc.Services.GetRequiredService<ResultStore>();
        var device = await store.ResolveDeviceAsync(new DeviceIdentity("SN1", null, null));
        var claim = Guid.NewGuid();
        var write = new ResultWrite(claim, "1.2.3", "1.2.3.4", device.Id, Water(2.5, Verdict.Pass), 40, "quiet", TimeSpan.FromMilliseconds(120));

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => store.RecordAsync(write))));
        Assert.Equal(1, results.Count(r => r.Created));
        Assert.Single(results.Select(r => r.Record.Id).Distinct());

        var again = await store.RecordAsync(write with { ClaimId = Guid.NewGuid(), Result = Water(7.5, Verdict.Fail), Reason = "reanalyze" });
        Assert.True(again.Created);

        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
        {
            var rows = await db.Results.Include(r => r.Metrics).OrderBy(r => r.Id).ToListAsync();
            Assert.Equal(2, rows.Count);
            Assert.Equal(("pass", "quiet", 40), (rows[0].Verdict, rows[0].Reason, rows[0].InstanceCount));
            Assert.Equal(("fail", "reanalyze"), (rows[1].Verdict, rows[1].Reason));
            var hu = Assert.Single(rows[1].Metrics, m => m.Name == "water_hu");
            Assert.Equal((7.5, -6.0, 6.0, "fail"), (hu.Value, hu.LimitMin, hu.LimitMax, hu.Verdict));
            Assert.Contains("\"rois\"", rows[0].Json, StringComparison.Ordinal);
            Assert.Equal("standards", rows[0].LimitSetId);
            // Period queries run in the database on both providers.
            var since = DateTimeOffset.UtcNow.AddMinutes(-5);
            Assert.Equal(2, await db.Results.CountAsync(r => r.DeviceId == device.Id && r.AnalyzedAt >= since));
            Assert.Equal(rows[1].Id, (await db.Results.OrderByDescending(r => r.AnalyzedAt).ThenByDescending(r => r.Id).FirstAsync()).Id);
        }
    }

    [Fact]
    public async Task Findings_are_kept_once_per_claim_and_the_audit_log_appends()
    {
        await using var svc = await StartAsync();
        var store = svc.Services.GetRequiredService<ResultStore>();
        var device = await store.ResolveDeviceAsync(new DeviceIdentity(null, "DR2", null));
        var claim = Guid.NewGuid();
        QcFinding[] findings =
        [
            new() { RuleId = "label.patient-name", Severity = FindingSeverity.Error, MessageEn = "PatientName is empty", MessageZh = "患者姓名为空" },
            new() { RuleId = "hr.mark", Severity = FindingSeverity.Warning, MessageEn = "no HR mark", MessageZh = "无互认标识", InstanceCount = 3 },
        ];
        Assert.True(await store.RecordFindingsAsync(claim, "1.2.3.9", device.Id, findings, instanceCount: 3));
        Assert.False(await store.RecordFindingsAsync(claim, "1.2.3.9", device.Id, findings, instanceCount: 3));
        // A clean series is a check too (label compliance counts checked series), once per claim like the others.
        var cleanClaim = Guid.NewGuid();
        Assert.True(await store.RecordFindingsAsync(cleanClaim, "1.2.3.10", device.Id, [], instanceCount: 5));
        Assert.False(await store.RecordFindingsAsync(cleanClaim, "1.2.3.10", device.Id, [], instanceCount: 5));
        await store.AuditAsync("alice", "device.update", "device", device.Key, new { DisplayName = new[] { null, "DR room 2" } });

        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
        {
            var rows = await db.LabelFindings.OrderBy(f => f.Id).ToListAsync();
            Assert.Equal(["error", "warning"], rows.Select(r => r.Severity));
            Assert.Equal("患者姓名为空", rows[0].MessageZh);
            var checks = await db.SeriesChecks.OrderBy(c => c.Id).ToListAsync();
            Assert.Equal([("1.2.3.9", 1, 1, 3), ("1.2.3.10", 0, 0, 5)], checks.Select(c => (c.SeriesInstanceUid, c.Errors, c.Warnings, c.InstanceCount)));
            var audit = await db.Audit.SingleAsync();
            Assert.Equal(("alice", "device.update", "station:DR2"), (audit.Actor, audit.Action, audit.EntityKey));
            Assert.Contains("DR room 2", audit.Detail, StringComparison.Ordinal);
        }
    }
}

public sealed class ResultStoreSqliteTests : ResultStoreContract
{
    protected override Task<InProcessService> StartAsync() => InProcessService.StartAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class ResultStorePostgresTests(PostgresFixture pg) : ResultStoreContract
{
    protected override async Task<InProcessService> StartAsync()
    {
        var cs = await pg.CreateDatabaseAsync();
        return await InProcessService.StartAsync(null, "--Database:Provider=Postgres", $"--Database:ConnectionString={cs}");
    }
}
