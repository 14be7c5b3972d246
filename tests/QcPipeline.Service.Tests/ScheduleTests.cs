using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Schedule;

namespace QcPipeline.Service.Tests;

/// <summary>Test plans and due/overdue (STANDARDS.md §4): the period arithmetic, the due status over a real results
/// database, and the plan/due/schedule API with its validation, audit and scopes.</summary>
public sealed class ScheduleTests
{
    private static DateTimeOffset At(int y, int m, int d, int h = 12) => new(y, m, d, h, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("monthly", "P1M")]
    [InlineData("six-monthly", "P6M")]
    [InlineData("yearly", "P1Y")]
    [InlineData("quarterly", "P3M")]
    [InlineData("p14d", "P14D")]
    [InlineData("P2W", "P2W")]
    public void Frequencies_are_read_as_periods(string text, string iso)
    {
        Assert.True(TestPeriod.TryParse(text, out var p));
        Assert.Equal(iso, p.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("sometimes")]
    [InlineData("P0M")]
    [InlineData("P-1M")]
    [InlineData("P1H")]
    [InlineData("P11Y")]
    [InlineData("P99999999999D")]
    public void Bad_frequencies_are_refused(string text) => Assert.False(TestPeriod.TryParse(text, out _));

    [Fact]
    public void Monthly_due_follows_calendar_months()
    {
        // 31 January + one month = 28 February (2027) or 29 February (2028, leap year): the end of the period.
        Assert.Equal(At(2027, 2, 28), TestPlans.Due(TestPeriod.Monthly, At(2027, 1, 31), At(2026, 1, 1), At(2027, 2, 1)).DueAt);
        Assert.Equal(At(2028, 2, 29), TestPlans.Due(TestPeriod.Monthly, At(2028, 1, 31), At(2026, 1, 1), At(2028, 2, 1)).DueAt);
        Assert.Equal(At(2027, 5, 30), TestPlans.Due(TestPeriod.Monthly, At(2027, 4, 30), At(2026, 1, 1), At(2027, 5, 1)).DueAt);
        // Six-monthly and yearly.
        Assert.Equal(At(2027, 2, 28), TestPlans.Due(TestPeriod.SixMonthly, At(2026, 8, 31), At(2026, 1, 1), At(2026, 9, 1)).DueAt);
        Assert.Equal(At(2029, 2, 28), TestPlans.Due(TestPeriod.Yearly, At(2028, 2, 29), At(2026, 1, 1), At(2028, 3, 1)).DueAt);
    }

    [Fact]
    public void Overdue_only_after_the_due_time()
    {
        var pass = At(2027, 3, 10);
        Assert.False(TestPlans.Due(TestPeriod.Monthly, pass, At(2026, 1, 1), At(2027, 4, 10)).Overdue); // exactly due
        Assert.True(TestPlans.Due(TestPeriod.Monthly, pass, At(2026, 1, 1), At(2027, 4, 10, 13)).Overdue);
        Assert.False(TestPlans.Due(TestPeriod.Monthly, pass, At(2026, 1, 1), At(2027, 3, 20)).Overdue);
    }

    [Fact]
    public void Never_passed_is_due_from_the_start_and_overdue_after_one_period()
    {
        var start = At(2027, 1, 15);
        var (due, overdue) = TestPlans.Due(TestPeriod.Monthly, null, start, At(2027, 1, 20));
        Assert.Equal(start, due);
        Assert.False(overdue);
        Assert.True(TestPlans.Due(TestPeriod.Monthly, null, start, At(2027, 2, 16)).Overdue);
    }

    [Fact]
    public void Default_plans_follow_the_modality()
    {
        Assert.Equal([("ct-water", "P1M"), ("ct-mtf", "P6M")], TestPlans.Defaults("CT").Select(d => (d.Test, d.Frequency.ToString())));
        Assert.Equal(["dr-uniformity", "dr-stp", "dr-dark", "dr-lag"], TestPlans.Defaults("DX").Select(d => d.Test));
        Assert.Equal(["mr-uniform"], TestPlans.Defaults("MR").Select(d => d.Test));
        Assert.Empty(TestPlans.Defaults("US"));
        Assert.Empty(TestPlans.Defaults(null));
    }

    // ------------------------------------------------------------------ over the database

    internal static async Task<DeviceRecord> AddDevice(IServiceProvider sp, string serial, string modality, string callingAe)
    {
        var store = sp.GetRequiredService<ResultStore>();
        return await store.ResolveDeviceAsync(new DeviceIdentity(serial, null, callingAe, Modality: modality));
    }

    private static async Task AddResult(IServiceProvider sp, long deviceId, string profile, string verdict, DateTimeOffset at)
    {
        var db = await sp.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
        {
            db.Results.Add(new ResultRecord
            {
                ClaimId = Guid.NewGuid(), StudyInstanceUid = "1.2.3", SeriesInstanceUid = "1.2.3." + Guid.NewGuid().ToString("N")[..8], DeviceId = deviceId,
                Profile = profile, AlgorithmVersion = "test/1", Verdict = verdict, LimitSetId = "default", Reason = "quiet", AnalyzedAt = at, Json = "{}",
            });
            await db.SaveChangesAsync();
        }
    }

    private static async Task SetFirstSeen(IServiceProvider sp, long deviceId, DateTimeOffset at)
    {
        var db = await sp.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
            await db.Devices.Where(d => d.Id == deviceId).ExecuteUpdateAsync(u => u.SetProperty(d => d.FirstSeenAt, at));
    }

    [Fact]
    public async Task Due_status_uses_the_last_pass_not_a_later_failure_and_ignores_later_results()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false");
        await DueStatusContract(svc);
    }

    [Theory]
    [InlineData("Sqlite", typeof(SqliteResultsDbContext))]
    [InlineData("Postgres", typeof(PostgresResultsDbContext))]
    public async Task The_results_migrations_match_the_model(string provider, Type contextType)
    {
        var app = ServiceHost.Build([$"--Database:Provider={provider}", "--Database:ConnectionString=" + (provider == "Sqlite" ? "Data Source=unused.db" : "Host=127.0.0.1;Database=qc")]);
        await using (app)
        {
            await using var db = app.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContext();
            Assert.IsType(contextType, db);
            Assert.Contains(db.Database.GetMigrations(), m => m.EndsWith("_Schedule", StringComparison.Ordinal));
            Assert.False(db.Database.HasPendingModelChanges(), "the results model changed: add a migration");
        }
    }

    /// <summary>Due status over a real database (SQLite here, PostgreSQL in <see cref="SchedulePostgresTests"/>).</summary>
    internal static async Task DueStatusContract(InProcessService svc)
    {
        var sp = svc.Services;
        var ct = await AddDevice(sp, "DUE-CT", "CT", "CTDUE");
        var mr = await AddDevice(sp, "DUE-MR", "MR", "MRDUE");
        await SetFirstSeen(sp, ct.Id, At(2027, 1, 1));
        await SetFirstSeen(sp, mr.Id, At(2027, 1, 1));
        await AddResult(sp, ct.Id, "ct-water", "pass", At(2027, 1, 31));
        await AddResult(sp, ct.Id, "ct-water", "fail", At(2027, 2, 10)); // failed after the pass
        await AddResult(sp, ct.Id, "ct-water", "inconclusive", At(2027, 2, 12));
        await AddResult(sp, ct.Id, "ct-water", "pass", At(2027, 6, 1)); // after "now" below: does not count
        await AddResult(sp, ct.Id, "ct-mtf", "pass", At(2027, 1, 5));

        var due = sp.GetRequiredService<ITestDueStatus>();
        var now = At(2027, 3, 1);
        var all = await due.GetAsync(null, now);
        var water = Assert.Single(all, s => s.DeviceId == ct.Id && s.Test == "ct-water");
        Assert.Equal(At(2027, 1, 31), water.LastPassAt);
        Assert.Equal(At(2027, 2, 12), water.LastRunAt);
        Assert.Equal("inconclusive", water.LastVerdict);
        Assert.Equal(At(2027, 2, 28), water.DueAt); // month length: 31 January + 1 month
        Assert.True(water.Overdue);
        Assert.Equal(TimeSpan.FromDays(30), water.Frequency);
        var mtf = Assert.Single(all, s => s.DeviceId == ct.Id && s.Test == "ct-mtf");
        Assert.Equal((At(2027, 7, 5), false), (mtf.DueAt!.Value, mtf.Overdue));
        // MR never passed: due since it was first seen, overdue one period later.
        var mrs = Assert.Single(all, s => s.DeviceId == mr.Id);
        Assert.Equal(("mr-uniform", (DateTimeOffset?)null, At(2027, 1, 1), true), (mrs.Test, mrs.LastPassAt, mrs.DueAt!.Value, mrs.Overdue));
        Assert.False(Assert.Single(await due.GetAsync(mr.Id, At(2027, 1, 20))).Overdue);

        // One device only, and an explicit plan replaces the defaults (a disabled test is not listed).
        var http = svc.CreateHttpClient();
        var put = await http.PutAsJsonAsync($"/api/devices/{ct.Id}/plan", new { tests = new object[] { new { test = "ct-water", frequency = "P2M" }, new { test = "ct-mtf", frequency = "yearly", enabled = false } } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var one = await due.GetAsync(ct.Id, now);
        var only = Assert.Single(one);
        Assert.Equal(("ct-water", At(2027, 3, 31), false), (only.Test, only.DueAt!.Value, only.Overdue));
    }

    // ------------------------------------------------------------------ the API

    private static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Api_validates_plans_schedules_and_queries_with_reasons()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false");
        var device = await AddDevice(svc.Services, "API-CT", "CT", "CTAPI");
        var noAe = await AddDevice(svc.Services, "API-DX", "DX", "");
        var http = svc.CreateHttpClient();

        // Plans.
        var plan = await Json(await http.GetAsync($"/api/devices/{device.Id}/plan"));
        Assert.Equal("default", plan.GetProperty("source").GetString());
        Assert.Equal(["ct-water", "ct-mtf"], plan.GetProperty("tests").EnumerateArray().Select(t => t.GetProperty("test").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/devices/99999/plan")).StatusCode);
        var bad = await http.PutAsync($"/api/devices/{device.Id}/plan", Body("""{"tests":[{"test":"ct-water","frequency":"often"},{"test":"xray","frequency":"P1M"},{"test":"ct-mtf","frequency":"P1M"},{"test":"ct-mtf","frequency":"P2M"}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await Json(bad)).GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains(errors, e => e.StartsWith("tests[0].frequency", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("tests[1].test", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("listed twice", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PutAsync($"/api/devices/{device.Id}/plan", Body("not json"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PutAsync($"/api/devices/{device.Id}/plan", Body("{}"))).StatusCode);
        var ok = await http.PutAsync($"/api/devices/{device.Id}/plan", Body("""{"tests":[{"test":"ct-water","frequency":"monthly"},{"test":"dr-dark","frequency":"P14D","enabled":false}]}"""));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        plan = await Json(await http.GetAsync($"/api/devices/{device.Id}/plan"));
        Assert.Equal("device", plan.GetProperty("source").GetString());
        Assert.Equal([("ct-water", "P1M", true), ("dr-dark", "P14D", false)], plan.GetProperty("tests").EnumerateArray()
            .Select(t => (t.GetProperty("test").GetString(), t.GetProperty("frequency").GetString(), t.GetProperty("enabled").GetBoolean())));

        // Due.
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/due?overdue=maybe")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/due?device=abc")).StatusCode);
        var due = await Json(await http.GetAsync($"/api/due?device={device.Id}&overdue=false"));
        Assert.Equal("ct-water", Assert.Single(due.EnumerateArray()).GetProperty("test").GetString()); // never passed, first seen now: due, not overdue

        // Schedule.
        var r = await http.PostAsync("/api/schedule", Body("""{"test":"ct-flat","date":"2027-02-30","time":"25:00","stationAeTitle":"THIS-AE-IS-FAR-TOO-LONG"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        errors = (await Json(r)).GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(5, errors.Count); // device, test, date, time, AE title
        r = await http.PostAsync("/api/schedule", Body("""{"device":424242,"test":"ct-water","date":"2027-03-01"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("does not exist", (await Json(r)).GetProperty("errors")[0].GetString(), StringComparison.Ordinal);
        r = await http.PostAsync("/api/schedule", Body($$"""{"device":{{noAe.Id}},"test":"dr-uniformity","date":"2027-03-01"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("stationAeTitle is required", (await Json(r)).GetProperty("errors")[0].GetString(), StringComparison.Ordinal);

        r = await http.PostAsync("/api/schedule", Body($$"""{"device":{{device.Id}},"test":"ct-water","date":"2027-03-01","time":"09:30"}"""));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var scan = await Json(r);
        var acc = scan.GetProperty("accessionNumber").GetString()!;
        Assert.Matches("^QC270301[0-9A-HJ-NP-Z]{6}$", acc);
        Assert.Equal(("CTAPI", "CT", "scheduled", "09:30:00"), (scan.GetProperty("stationAeTitle").GetString(), scan.GetProperty("modality").GetString(),
            scan.GetProperty("status").GetString(), scan.GetProperty("time").GetString()));
        Assert.StartsWith("2.25.", scan.GetProperty("studyInstanceUid").GetString(), StringComparison.Ordinal);
        long id = scan.GetProperty("id").GetInt64();
        var r2 = await Json(await http.PostAsync("/api/schedule", Body($$"""{"device":{{device.Id}},"test":"ct-mtf","date":"2027-03-05","stationAeTitle":"CT_OTHER"}""")));
        Assert.NotEqual(acc, r2.GetProperty("accessionNumber").GetString());

        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/schedule?from=2027-13-01")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/schedule?from=2027-03-05&to=2027-03-01")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/schedule?status=lost")).StatusCode);
        var listed = await Json(await http.GetAsync($"/api/schedule?from=2027-03-01&to=2027-03-01&device={device.Id}"));
        Assert.Equal([acc], listed.EnumerateArray().Select(s => s.GetProperty("accessionNumber").GetString()));
        Assert.Equal(2, (await Json(await http.GetAsync("/api/schedule"))).GetArrayLength());

        // Cancel: 200 (twice: idempotent), unknown 404.
        var del = await http.DeleteAsync($"/api/schedule/{id}");
        Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        Assert.Equal("cancelled", (await Json(del)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync($"/api/schedule/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync("/api/schedule/777777")).StatusCode);

        // Every change is in the audit log.
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
        {
            var actions = await db.Audit.OrderBy(a => a.Id).Select(a => a.Action).ToListAsync();
            Assert.Equal(["plan.update", "schedule.create", "schedule.create", "schedule.cancel"], actions);
            Assert.All(await db.Audit.ToListAsync(), a => Assert.Equal("anonymous", a.Actor));
        }
    }

    [Fact]
    public async Task Changes_need_the_manage_scope_and_reading_the_read_scope()
    {
        const string ReadKey = "read-only-key-0123456789", ManageKey = "manage-key-0123456789ab";
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false", "--Http:Auth:Mode=Required",
            "--Http:Auth:ApiKeys:0:Name=dashboard", $"--Http:Auth:ApiKeys:0:Key={ReadKey}", "--Http:Auth:ApiKeys:0:Scopes:0=read",
            "--Http:Auth:ApiKeys:1:Name=physicist", $"--Http:Auth:ApiKeys:1:Key={ManageKey}", "--Http:Auth:ApiKeys:1:Scopes:0=manage", "--Http:Auth:ApiKeys:1:Scopes:1=read");
        var device = await AddDevice(svc.Services, "AUTH-CT", "CT", "CTAUTH");
        var http = svc.CreateHttpClient();
        var body = $$"""{"device":{{device.Id}},"test":"ct-water","date":"2027-03-01"}""";
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/due")).StatusCode);
        http.DefaultRequestHeaders.Add("X-API-Key", ReadKey);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/due")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PostAsync("/api/schedule", Body(body))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PutAsync($"/api/devices/{device.Id}/plan", Body("""{"tests":[]}"""))).StatusCode);
        http.DefaultRequestHeaders.Remove("X-API-Key");
        http.DefaultRequestHeaders.Add("X-API-Key", ManageKey);
        var created = await http.PostAsync("/api/schedule", Body(body));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("physicist", (await Json(created)).GetProperty("createdBy").GetString());
    }
}

/// <summary>The due status and the worklist's database queries on a real PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SchedulePostgresTests(PostgresFixture pg)
{
    private async Task<InProcessService> StartAsync()
    {
        var cs = await pg.CreateDatabaseAsync();
        return await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false", "--Database:Provider=Postgres", $"--Database:ConnectionString={cs}");
    }

    [Fact]
    public async Task Due_status_on_PostgreSQL()
    {
        await using var svc = await StartAsync();
        await ScheduleTests.DueStatusContract(svc);
    }

    [Fact]
    public async Task Worklist_matching_on_PostgreSQL()
    {
        await using var svc = await StartAsync();
        await WorklistTests.MatchingContract(svc);
    }
}
