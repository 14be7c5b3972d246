using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Analysis.Phantoms;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Schedule;

namespace QcPipeline.Service.Reports;

public enum ReportFormat
{
    Json,
    Csv,
    Pdf,
}

/// <summary>A validated report request. <see cref="From"/> inclusive, <see cref="To"/> exclusive, both UTC.</summary>
public sealed record ReportRequest(string? Device, string? Test, DateTimeOffset From, DateTimeOffset To, ReportFormat Format, ReportLanguage Language);

/// <summary>A request the report cannot answer as asked (HTTP 400 with <see cref="Exception.Message"/>).</summary>
public sealed class ReportRequestException(string message) : Exception(message);

/// <summary>The named device is not registered (HTTP 404).</summary>
public sealed class ReportDeviceNotFoundException(string message) : Exception(message);

/// <summary>Builds the report model from the results database: the one query path of every format.</summary>
public sealed class TrendReportBuilder(IDbContextFactory<ResultsDbContext> factory, IOptions<ReportOptions> options, TimeProvider time,
    IServiceProvider services)
{
    private readonly ReportOptions _options = options.Value;
    private readonly TimeZoneInfo _zone = ReportOptionsValidator.TryZone(options.Value.TimeZone, out var z) ? z : TimeZoneInfo.Utc;

    public TimeZoneInfo Zone => _zone;

    /// <summary>Parses and checks the query string values; throws <see cref="ReportRequestException"/> naming the bad one.</summary>
    public ReportRequest Parse(string? device, string? test, string? from, string? to, string? format, string? lang)
    {
        var fmt = (format?.Trim().ToLowerInvariant()) switch
        {
            null or "" or "json" => ReportFormat.Json,
            "csv" => ReportFormat.Csv,
            "pdf" => ReportFormat.Pdf,
            _ => throw new ReportRequestException("format must be json, csv or pdf"),
        };
        var language = (lang?.Trim().ToLowerInvariant()) switch
        {
            null or "" or "zh" => ReportLanguage.Zh,
            "en" => ReportLanguage.En,
            _ => throw new ReportRequestException("lang must be zh or en"),
        };
        if (!string.IsNullOrWhiteSpace(test) && !ProfileRouter.Profiles.Contains(test.Trim(), StringComparer.Ordinal))
            throw new ReportRequestException("test must be one of: " + string.Join(", ", ProfileRouter.Profiles.Where(p => p != ProfileRouter.Auto)));
        var now = time.GetUtcNow();
        var end = string.IsNullOrWhiteSpace(to) ? now : ParseTime(to, "to", endOfDay: true);
        var start = string.IsNullOrWhiteSpace(from) ? end.AddDays(-_options.DefaultPeriodDays) : ParseTime(from, "from", endOfDay: false);
        if (start >= end) throw new ReportRequestException("from must be before to");
        if ((end - start).TotalDays > _options.MaxPeriodDays)
            throw new ReportRequestException($"the period is longer than {_options.MaxPeriodDays} days (Reports:MaxPeriodDays)");
        if (device is not null && (string.IsNullOrWhiteSpace(device) || device.Length > 200)) throw new ReportRequestException("device must be a device id or key");
        return new ReportRequest(string.IsNullOrWhiteSpace(device) ? null : device.Trim(), string.IsNullOrWhiteSpace(test) ? null : test.Trim(),
            start.ToUniversalTime(), end.ToUniversalTime(), fmt, language);
    }

    /// <summary>A date (<c>2024-01-31</c>, in the report's time zone; as <c>to</c> it includes that whole day) or an ISO 8601
    /// date and time (with an offset, else UTC).</summary>
    private DateTimeOffset ParseTime(string value, string name, bool endOfDay)
    {
        value = value.Trim();
        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            var local = date.ToDateTime(TimeOnly.MinValue);
            if (endOfDay) local = local.AddDays(1);
            return new DateTimeOffset(local, _zone.GetUtcOffset(local));
        }
        if (value.Length >= 16 && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
            return t;
        throw new ReportRequestException($"{name} must be a date (yyyy-MM-dd) or an ISO 8601 date and time, not '{Shorten(value)}'");
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>The report for <paramref name="request"/>: throws <see cref="ReportDeviceNotFoundException"/> for an unknown
    /// device and <see cref="ReportRequestException"/> when the report would exceed the configured bounds.</summary>
    public async Task<TrendReport> BuildAsync(ReportRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var generatedAt = time.GetUtcNow();
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            List<DeviceRecord> devices;
            if (request.Device is { } d)
            {
                var one = long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out long id)
                    ? await db.Devices.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct).ConfigureAwait(false)
                    : await db.Devices.AsNoTracking().FirstOrDefaultAsync(x => x.Key == d, ct).ConfigureAwait(false);
                devices = one is null ? throw new ReportDeviceNotFoundException("no device with that id or key") : [one];
            }
            else
            {
                devices = await db.Devices.AsNoTracking().OrderBy(x => x.Id).Take(_options.MaxDevices + 1).ToListAsync(ct).ConfigureAwait(false);
                if (devices.Count > _options.MaxDevices)
                    throw new ReportRequestException($"the fleet has more than {_options.MaxDevices} devices (Reports:MaxDevices): ask for one device");
            }

            DateTimeOffset from = request.From, to = request.To;
            var ids = devices.Select(x => x.Id).ToList();
            var results = db.Results.AsNoTracking().Where(r => ids.Contains(r.DeviceId) && r.AnalyzedAt >= from && r.AnalyzedAt < to);
            if (request.Test is { } test) results = results.Where(r => r.Profile == test);
            // Counted first: a report over the bound is refused before anything is loaded.
            int count = await results.CountAsync(ct).ConfigureAwait(false);
            if (count > _options.MaxRuns)
                throw new ReportRequestException($"the report would hold {count} runs, more than {_options.MaxRuns} (Reports:MaxRuns): narrow the period, device or test");
            // The stored result JSON (ROI geometry, per-image detail) is not loaded here: only the PDF needs it, for one result.
            var rows = await results.OrderBy(r => r.DeviceId).ThenBy(r => r.AnalyzedAt).ThenBy(r => r.Id)
                .Select(r => new
                {
                    r.Id, r.DeviceId, r.AnalyzedAt, r.Profile, r.Verdict, r.AlgorithmVersion, r.LimitSetId, r.LimitSetVersion, r.InconclusiveReason,
                    Metrics = r.Metrics.OrderBy(m => m.Id).Select(m => new ReportMetric(m.Name, m.Value, m.Unit, m.LimitMin, m.LimitMax, m.Verdict)).ToList(),
                })
                .AsSplitQuery().ToListAsync(ct).ConfigureAwait(false);

            var due = await DueAsync(request, devices, to < generatedAt ? to : generatedAt, ct).ConfigureAwait(false);
            var sections = new List<DeviceReport>(devices.Count);
            foreach (var device in devices)
            {
                var runs = rows.Where(r => r.DeviceId == device.Id)
                    .Select(r => new ReportRun(r.Id, Local(r.AnalyzedAt), r.Profile, r.Verdict, r.AlgorithmVersion,
                        string.Create(CultureInfo.InvariantCulture, $"{r.LimitSetId} v{r.LimitSetVersion}"), r.InconclusiveReason, r.Metrics))
                    .ToList();
                var labels = await LabelsAsync(db, device.Id, from, to, ct).ConfigureAwait(false);
                sections.Add(new DeviceReport(Describe(device), Summarise(runs), Trends(runs), runs, due(device.Id), labels, runs.LastOrDefault()?.ResultId));
            }
            return new TrendReport(TrendReport.CurrentSchemaVersion, Local(generatedAt), Local(from), Local(to), _zone.Id, request.Test,
                request.Language == ReportLanguage.Zh ? "zh" : "en", TrendReport.ClauseIds, sections);
        }
    }

    public DateTimeOffset Local(DateTimeOffset t) => TimeZoneInfo.ConvertTime(t, _zone);

    private static ReportDevice Describe(DeviceRecord d) => new(d.Id, d.Key, d.DisplayName, d.InstitutionName, d.Site, d.Modality,
        d.Manufacturer, d.ManufacturerModelName, d.StationName, d.DeviceSerialNumber);

    private static RunSummary Summarise(List<ReportRun> runs) => new(runs.Count, runs.Count(r => r.Verdict == "pass"),
        runs.Count(r => r.Verdict == "fail"), runs.Count(r => r.Verdict is not ("pass" or "fail")));

    /// <summary>Each (test, metric) in order of first appearance, its points oldest first.</summary>
    private static List<MetricTrend> Trends(List<ReportRun> runs)
    {
        var trends = new List<MetricTrend>();
        var index = new Dictionary<(string, string), (string Unit, List<TrendPoint> Points)>();
        var order = new List<(string Test, string Name)>();
        foreach (var run in runs)
        {
            foreach (var m in run.Metrics)
            {
                var key = (run.Test, m.Name);
                if (!index.TryGetValue(key, out var t))
                {
                    t = (m.Unit, []);
                    index[key] = t;
                    order.Add(key);
                }
                t.Points.Add(new TrendPoint(run.At, run.ResultId, m.Value, m.LimitMin, m.LimitMax, m.Verdict));
            }
        }
        foreach (var key in order) trends.Add(new MetricTrend(key.Test, key.Name, index[key].Unit, index[key].Points));
        return trends;
    }

    /// <summary>The test plans, when the service has them (<see cref="ITestDueStatus"/> is optional: without it the report
    /// says the plans are not configured instead of guessing).</summary>
    private async Task<Func<long, DueSection>> DueAsync(ReportRequest request, List<DeviceRecord> devices, DateTimeOffset asOf, CancellationToken ct)
    {
        var source = services.GetService<ITestDueStatus>();
        var asOfLocal = Local(asOf);
        if (source is null) return _ => new DueSection(false, asOfLocal, 0, []);
        var statuses = await source.GetAsync(devices.Count == 1 && request.Device is not null ? devices[0].Id : null, asOf, ct).ConfigureAwait(false);
        var byDevice = statuses.Where(s => request.Test is null || s.Test == request.Test).ToLookup(s => s.DeviceId);
        return id =>
        {
            var tests = byDevice[id].OrderBy(s => s.Test, StringComparer.Ordinal)
                .Select(s => new DueTest(s.Test, s.Frequency.TotalDays, Opt(s.LastRunAt), Opt(s.LastPassAt), s.LastVerdict, Opt(s.DueAt), s.Overdue))
                .ToList();
            return new DueSection(true, asOfLocal, tests.Count(t => t.Overdue), tests);
        };
    }

    private DateTimeOffset? Opt(DateTimeOffset? t) => t is { } v ? Local(v) : null;

    /// <summary>Counted in the database (a busy device checks thousands of clinical series): the distinct series checked in the
    /// period — every label check run leaves a <c>SeriesChecks</c> row (<c>ResultStore.RecordFindingsAsync</c>), clinical series
    /// without any finding included, as for the <c>qc_label_compliance_ratio</c> gauge — and those among them with an
    /// error-severity finding in some check. Series with a result or a finding but no check row (kept before that table
    /// existed) count too, so older periods read as before.</summary>
    private static async Task<LabelCompliance> LabelsAsync(ResultsDbContext db, long deviceId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var checks = db.SeriesChecks.AsNoTracking().Where(c => c.DeviceId == deviceId && c.At >= from && c.At < to);
        var findings = db.LabelFindings.AsNoTracking().Where(f => f.DeviceId == deviceId && f.At >= from && f.At < to);
        var analysed = db.Results.AsNoTracking().Where(r => r.DeviceId == deviceId && r.AnalyzedAt >= from && r.AnalyzedAt < to).Select(r => r.SeriesInstanceUid);
        int checkedCount = await checks.Select(c => c.SeriesInstanceUid).Union(analysed).Union(findings.Select(f => f.SeriesInstanceUid))
            .CountAsync(ct).ConfigureAwait(false);
        int withErrors = await checks.Where(c => c.Errors > 0).Select(c => c.SeriesInstanceUid)
            .Union(findings.Where(f => f.Severity == "error").Select(f => f.SeriesInstanceUid)).CountAsync(ct).ConfigureAwait(false);
        int compliant = checkedCount - withErrors;
        return new LabelCompliance(checkedCount, compliant, checkedCount == 0 ? null : (double)compliant / checkedCount);
    }
}
