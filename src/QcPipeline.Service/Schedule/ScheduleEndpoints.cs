using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using QcPipeline.Service.Auth;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Schedule;

/// <summary>The test plan and schedule API (README "Test plans, schedule and worklist"): reading needs the <c>read</c>
/// scope, changes the <c>manage</c> scope; every change is audited; bad input is a 400 listing the reasons.</summary>
public static class ScheduleEndpoints
{
    public sealed record PlanTestBody(string? Test, string? Frequency, bool? Enabled);
    public sealed record PlanBody(List<PlanTestBody>? Tests);
    public sealed record ScheduleBody(long? Device, string? Test, string? Date, string? Time, string? StationAeTitle);

    public sealed record PlanTestView(string Test, string Frequency, double FrequencyDays, bool Enabled, string? UpdatedBy, DateTimeOffset? UpdatedAt);
    public sealed record PlanView(long DeviceId, string? Modality, string Source, IReadOnlyList<PlanTestView> Tests);
    public sealed record DueView(long DeviceId, string Test, double FrequencyDays, DateTimeOffset? LastRunAt, DateTimeOffset? LastPassAt,
        string? LastVerdict, DateTimeOffset? DueAt, bool Overdue);
    public sealed record ScanView(long Id, long DeviceId, string Test, string Date, string Time, string AccessionNumber, string RequestedProcedureId,
        string StudyInstanceUid, string StationAeTitle, string Modality, string Status, long? ResultId, string CreatedBy, DateTimeOffset CreatedAt);

    private const int MaxListed = 1000;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapScheduleApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/devices/{id:long}/plan", GetPlan).RequireAuthorization(QcAuthPolicies.Read)
            .WithTags("Schedule").WithName("GetTestPlan").WithSummary("A device's test plan: tests and frequencies (defaults by modality until set)");
        app.MapPut("/api/devices/{id:long}/plan", PutPlan).RequireAuthorization(QcAuthPolicies.Manage)
            .WithTags("Schedule").WithName("SetTestPlan").WithSummary("Replace a device's test plan (an empty list returns it to the defaults)");
        app.MapGet("/api/due", GetDue).RequireAuthorization(QcAuthPolicies.Read)
            .WithTags("Schedule").WithName("GetDue").WithSummary("Planned tests with last run, last pass, due time and overdue flag");
        app.MapPost("/api/schedule", PostSchedule).RequireAuthorization(QcAuthPolicies.Manage)
            .WithTags("Schedule").WithName("ScheduleScan").WithSummary("Schedule a phantom scan (device, test, date): it appears on the modality worklist");
        app.MapGet("/api/schedule", GetSchedule).RequireAuthorization(QcAuthPolicies.Read)
            .WithTags("Schedule").WithName("ListScheduledScans").WithSummary("Scheduled phantom scans in a period");
        app.MapDelete("/api/schedule/{id:long}", DeleteSchedule).RequireAuthorization(QcAuthPolicies.Manage)
            .WithTags("Schedule").WithName("CancelScheduledScan").WithSummary("Cancel a scheduled scan (it leaves the worklist)");
        return app;
    }

    private static string Actor(HttpContext h) => h.User.Identity?.Name is { Length: > 0 } n ? n : "anonymous";

    public sealed record Errors(IReadOnlyList<string> errors);

    private static Microsoft.AspNetCore.Http.HttpResults.BadRequest<Errors> Bad(params string[] errors) => TypedResults.BadRequest(new Errors(errors));
    private static Microsoft.AspNetCore.Http.HttpResults.BadRequest<Errors> Bad(IEnumerable<string> errors) => TypedResults.BadRequest(new Errors([.. errors]));

    private static async Task<(T? Body, IResult? Error)> ReadBody<T>(HttpContext h, CancellationToken ct) where T : class
    {
        if (h.Request.ContentLength is > 1024 * 1024) return (null, Bad("body larger than 1 MiB"));
        try
        {
            var body = await JsonSerializer.DeserializeAsync<T>(h.Request.Body, Json, ct).ConfigureAwait(false);
            return body is null ? (null, Bad("body must be a JSON object")) : (body, null);
        }
        catch (JsonException ex)
        {
            return (null, Bad($"body is not valid JSON for this request: {ex.Message}"));
        }
    }

    private static PlanView View(DeviceRecord d, IReadOnlyList<PlannedTest> plan) =>
        new(d.Id, d.Modality, plan.Count > 0 && plan.All(t => t.IsDefault) ? "default" : plan.Count == 0 ? "none" : "device",
            [.. plan.Select(t => new PlanTestView(t.Test, t.Frequency.ToString(), t.Frequency.Nominal.TotalDays, t.Enabled, t.UpdatedBy, t.UpdatedAt))]);

    private static async Task<IResult> GetPlan(long id, IDbContextFactory<ResultsDbContext> factory, CancellationToken ct)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var device = await db.Devices.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct).ConfigureAwait(false);
            if (device is null) return TypedResults.NotFound(new { errors = new[] { $"no device {id}" } });
            var rows = await db.TestPlans.AsNoTracking().Where(p => p.DeviceId == id).ToListAsync(ct).ConfigureAwait(false);
            return TypedResults.Ok(View(device, TestPlans.Effective(device.Modality, rows)));
        }
    }

    private static async Task<IResult> PutPlan(long id, HttpContext h, IDbContextFactory<ResultsDbContext> factory, ResultStore store, TimeProvider time, CancellationToken ct)
    {
        var (body, error) = await ReadBody<PlanBody>(h, ct).ConfigureAwait(false);
        if (error is not null) return error;
        var errors = new List<string>();
        if (body!.Tests is null) errors.Add("tests is required: a list of {test, frequency, enabled}; an empty list returns the device to its modality's defaults");
        var parsed = new List<(string Test, TestPeriod Frequency, bool Enabled)>();
        if (body.Tests is { Count: > 64 }) errors.Add("at most 64 tests");
        else if (body.Tests is not null)
        {
            for (int i = 0; i < body.Tests.Count; i++)
            {
                var t = body.Tests[i];
                if (t is null) { errors.Add($"tests[{i}] is null"); continue; }
                if (string.IsNullOrWhiteSpace(t.Test) || !TestPlans.Tests.Contains(t.Test.Trim(), StringComparer.Ordinal))
                    errors.Add($"tests[{i}].test must be one of {string.Join(", ", TestPlans.Tests)}");
                if (!TestPeriod.TryParse(t.Frequency, out var f))
                    errors.Add($"tests[{i}].frequency must be daily, weekly, monthly, quarterly, six-monthly, yearly or an ISO 8601 period such as P1M, P6M, P1Y, P14D (at most 10 years)");
                else if (!string.IsNullOrWhiteSpace(t.Test)) parsed.Add((t.Test.Trim(), f, t.Enabled ?? true));
            }
            foreach (var dup in parsed.GroupBy(p => p.Test).Where(g => g.Count() > 1)) errors.Add($"test {dup.Key} is listed twice");
        }
        if (errors.Count > 0) return Bad(errors);

        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var device = await db.Devices.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct).ConfigureAwait(false);
            if (device is null) return TypedResults.NotFound(new { errors = new[] { $"no device {id}" } });
            var old = await db.TestPlans.Where(p => p.DeviceId == id).ToListAsync(ct).ConfigureAwait(false);
            var before = TestPlans.Effective(device.Modality, old).Select(t => new { t.Test, Frequency = t.Frequency.ToString(), t.Enabled, t.IsDefault }).ToList();
            db.TestPlans.RemoveRange(old);
            var now = time.GetUtcNow();
            var actor = Actor(h);
            var rows = parsed.Select(p => new TestPlanRecord { DeviceId = id, Test = p.Test, Frequency = p.Frequency.ToString(), Enabled = p.Enabled, UpdatedBy = actor, UpdatedAt = now }).ToList();
            db.TestPlans.AddRange(rows);
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
            var plan = TestPlans.Effective(device.Modality, rows);
            await store.AuditAsync(actor, "plan.update", "Device", id.ToString(CultureInfo.InvariantCulture),
                new { Old = before, New = plan.Select(t => new { t.Test, Frequency = t.Frequency.ToString(), t.Enabled, t.IsDefault }) }, ct).ConfigureAwait(false);
            return TypedResults.Ok(View(device, plan));
        }
    }

    private static async Task<IResult> GetDue(HttpContext h, ITestDueStatus due, TimeProvider time, CancellationToken ct)
    {
        var q = h.Request.Query;
        var errors = new List<string>();
        long? device = null;
        bool? overdue = null;
        if (q.TryGetValue("device", out var dv) && dv.ToString().Length > 0)
        {
            if (long.TryParse(dv, NumberStyles.None, CultureInfo.InvariantCulture, out var d)) device = d;
            else errors.Add("device must be a device id (a whole number)");
        }
        if (q.TryGetValue("overdue", out var ov) && ov.ToString().Length > 0)
        {
            if (bool.TryParse(ov, out var b)) overdue = b;
            else errors.Add("overdue must be true or false");
        }
        if (errors.Count > 0) return Bad(errors);
        var list = await due.GetAsync(device, time.GetUtcNow(), ct).ConfigureAwait(false);
        return TypedResults.Ok(list.Where(s => overdue is null || s.Overdue == overdue)
            .Select(s => new DueView(s.DeviceId, s.Test, s.Frequency.TotalDays, s.LastRunAt, s.LastPassAt, s.LastVerdict, s.DueAt, s.Overdue)).ToList());
    }

    /// <summary>An AE title value: 1–16 characters of the default repertoire, no backslash or control characters, not all spaces (PS3.5 Table 6.2-1).</summary>
    internal static bool IsAeTitle(string s) => s.Trim().Length is > 0 and <= 16 && s.All(c => c is >= ' ' and <= '~' and not '\\');

    private static async Task<IResult> PostSchedule(HttpContext h, IDbContextFactory<ResultsDbContext> factory, ScheduleService schedule, CancellationToken ct)
    {
        var (body, error) = await ReadBody<ScheduleBody>(h, ct).ConfigureAwait(false);
        if (error is not null) return error;
        var errors = new List<string>();
        if (body!.Device is null) errors.Add("device is required (a device id)");
        var test = body.Test?.Trim();
        if (string.IsNullOrEmpty(test) || !TestPlans.Tests.Contains(test, StringComparer.Ordinal))
            errors.Add($"test must be one of {string.Join(", ", TestPlans.Tests)}");
        DateOnly date = default;
        if (body.Date is null || !DateOnly.TryParseExact(body.Date.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
            errors.Add("date is required as YYYY-MM-DD (the scanner's local date)");
        var time = TimeOnly.MinValue;
        if (body.Time is { } t && !TimeOnly.TryParseExact(t.Trim(), ["HH:mm", "HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out time))
            errors.Add("time must be HH:mm or HH:mm:ss (the scanner's local time)");
        if (body.StationAeTitle is { } ae && !IsAeTitle(ae))
            errors.Add("stationAeTitle must be 1-16 printable ASCII characters without a backslash");
        if (errors.Count > 0) return Bad(errors);

        DeviceRecord? device;
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
            device = await db.Devices.AsNoTracking().FirstOrDefaultAsync(d => d.Id == body.Device, ct).ConfigureAwait(false);
        if (device is null) return Bad($"device {body.Device} does not exist");
        var station = body.StationAeTitle?.Trim() ?? device.CallingAe;
        if (string.IsNullOrEmpty(station) || !IsAeTitle(station))
            return Bad("stationAeTitle is required: the device has no calling AE title to schedule on");
        var scan = await schedule.CreateAsync(device, test!, date, time, station, Actor(h), ct).ConfigureAwait(false);
        return TypedResults.Created($"/api/schedule/{scan.Id}", View(scan));
    }

    private static ScanView View(ScheduledScanRecord s) => new(s.Id, s.DeviceId, s.Test, s.ScheduledDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        s.ScheduledTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture), s.AccessionNumber, s.RequestedProcedureId, s.StudyInstanceUid, s.StationAeTitle,
        s.Modality, s.Status, s.ResultId, s.CreatedBy, s.CreatedAt);

    private static async Task<IResult> GetSchedule(HttpContext h, IDbContextFactory<ResultsDbContext> factory, CancellationToken ct)
    {
        var q = h.Request.Query;
        var errors = new List<string>();
        DateOnly? from = null, to = null;
        long? device = null;
        string? status = null;
        if (q.TryGetValue("from", out var f) && f.ToString().Length > 0)
        {
            if (DateOnly.TryParseExact(f.ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) from = d;
            else errors.Add("from must be YYYY-MM-DD");
        }
        if (q.TryGetValue("to", out var t) && t.ToString().Length > 0)
        {
            if (DateOnly.TryParseExact(t.ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) to = d;
            else errors.Add("to must be YYYY-MM-DD");
        }
        if (from is not null && to is not null && from > to) errors.Add("from is after to");
        if (q.TryGetValue("device", out var dv) && dv.ToString().Length > 0)
        {
            if (long.TryParse(dv, NumberStyles.None, CultureInfo.InvariantCulture, out var d)) device = d;
            else errors.Add("device must be a device id (a whole number)");
        }
        if (q.TryGetValue("status", out var sv) && sv.ToString().Length > 0)
        {
            status = sv.ToString();
            if (status is not (ScheduledScanRecord.Scheduled or ScheduledScanRecord.InProgress or ScheduledScanRecord.Done or ScheduledScanRecord.Cancelled))
                errors.Add("status must be scheduled, in-progress, done or cancelled");
        }
        if (errors.Count > 0) return Bad(errors);
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var scans = db.ScheduledScans.AsNoTracking();
            if (from is { } a) scans = scans.Where(s => s.ScheduledDate >= a);
            if (to is { } b) scans = scans.Where(s => s.ScheduledDate <= b);
            if (device is { } dd) scans = scans.Where(s => s.DeviceId == dd);
            if (status is { } st) scans = scans.Where(s => s.Status == st);
            var list = await scans.OrderBy(s => s.ScheduledDate).ThenBy(s => s.ScheduledTime).ThenBy(s => s.Id).Take(MaxListed).ToListAsync(ct).ConfigureAwait(false);
            return TypedResults.Ok(list.Select(View).ToList());
        }
    }

    private static async Task<IResult> DeleteSchedule(long id, HttpContext h, ScheduleService schedule, CancellationToken ct)
    {
        var r = await schedule.CancelAsync(id, Actor(h), ct).ConfigureAwait(false);
        if (r is null) return TypedResults.NotFound(new { errors = new[] { $"no scheduled scan {id}" } });
        if (!r.Value.Cancelled) return TypedResults.Conflict(new { errors = new[] { $"scheduled scan {id} is done (result {r.Value.Scan.ResultId}); a done scan cannot be cancelled" } });
        return TypedResults.Ok(View(r.Value.Scan));
    }
}
