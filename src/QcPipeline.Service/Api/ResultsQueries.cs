using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using QcPipeline.Analysis;
using QcPipeline.Service.Index;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Api;

/// <summary>The read side of the results API: devices, results, findings and audit rows, projected to the API's shapes in
/// the database (list queries never load a result's JSON). Works on SQLite and PostgreSQL alike.</summary>
public sealed class ResultsQueries(IDbContextFactory<ResultsDbContext> results, IDbContextFactory<IndexDbContext> index)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<IReadOnlyList<DeviceView>> DevicesAsync(CancellationToken ct)
    {
        var db = await results.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var devices = await db.Devices.AsNoTracking().OrderBy(d => d.Id).ToListAsync(ct).ConfigureAwait(false);
            var latest = await LatestAsync(db, null, ct).ConfigureAwait(false);
            return devices.Select(d => View(d, latest, withEffectiveLimits: false)).ToList();
        }
    }

    public async Task<DeviceView?> DeviceAsync(long id, CancellationToken ct)
    {
        var db = await results.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var device = await db.Devices.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct).ConfigureAwait(false);
            if (device is null) return null;
            return View(device, await LatestAsync(db, id, ct).ConfigureAwait(false), withEffectiveLimits: true);
        }
    }

    /// <summary>The newest result per device and test: results are append-only, so the highest id of a group is its newest.</summary>
    private static async Task<ILookup<long, LatestVerdict>> LatestAsync(ResultsDbContext db, long? deviceId, CancellationToken ct)
    {
        var rows = db.Results.AsNoTracking();
        if (deviceId is { } only) rows = rows.Where(r => r.DeviceId == only);
        var newest = rows.GroupBy(r => new { r.DeviceId, r.Profile }).Select(g => g.Max(r => r.Id));
        var latest = await db.Results.AsNoTracking().Where(r => newest.Contains(r.Id))
            .Select(r => new { r.DeviceId, r.Profile, r.Verdict, r.Id, r.AnalyzedAt }).ToListAsync(ct).ConfigureAwait(false);
        return latest.OrderBy(r => r.Profile, StringComparer.Ordinal)
            .ToLookup(r => r.DeviceId, r => new LatestVerdict(r.Profile, r.Verdict, r.Id, r.AnalyzedAt));
    }

    internal static DeviceView View(DeviceRecord d, ILookup<long, LatestVerdict> latest, bool withEffectiveLimits)
    {
        JsonElement? limits = null, effective = null;
        if (!string.IsNullOrWhiteSpace(d.LimitsJson))
        {
            try { limits = JsonDocument.Parse(d.LimitsJson).RootElement.Clone(); }
            catch (JsonException) { limits = null; }
        }
        if (withEffectiveLimits)
        {
            var set = LimitSet.Default;
            try { if (!string.IsNullOrWhiteSpace(d.LimitsJson)) set = LimitSet.Load(d.LimitsJson, LimitSet.Default); }
            catch (Exception ex) when (ex is JsonException or FormatException or NotSupportedException) { set = LimitSet.Default; }
            effective = JsonDocument.Parse(set.ToJson()).RootElement.Clone();
        }
        return new DeviceView
        {
            Id = d.Id, Key = d.Key, DeviceSerialNumber = d.DeviceSerialNumber, StationName = d.StationName, CallingAe = d.CallingAe,
            Manufacturer = d.Manufacturer, ManufacturerModelName = d.ManufacturerModelName, InstitutionName = d.InstitutionName,
            DisplayName = d.DisplayName, Site = d.Site, Modality = d.Modality, HasLimitsOverride = !string.IsNullOrWhiteSpace(d.LimitsJson),
            LimitsOverride = limits, EffectiveLimits = effective, FirstSeenAt = d.FirstSeenAt, LastSeenAt = d.LastSeenAt,
            Latest = latest[d.Id].ToList(),
        };
    }

    /// <summary>A device's results, newest first; null when the device is unknown.</summary>
    public async Task<Page<ResultView>?> DeviceResultsAsync(long deviceId, string? test, DateTimeOffset? from, DateTimeOffset? to, int limit, int offset, CancellationToken ct)
    {
        var db = await results.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            if (!await db.Devices.AnyAsync(d => d.Id == deviceId, ct).ConfigureAwait(false)) return null;
            var q = db.Results.AsNoTracking().Where(r => r.DeviceId == deviceId);
            if (test is not null) q = q.Where(r => r.Profile == test);
            if (from is { } f) q = q.Where(r => r.AnalyzedAt >= f);
            if (to is { } t) q = q.Where(r => r.AnalyzedAt < t);
            int total = await q.CountAsync(ct).ConfigureAwait(false);
            var items = await Project(q.OrderByDescending(r => r.AnalyzedAt).ThenByDescending(r => r.Id).Skip(offset).Take(limit))
                .ToListAsync(ct).ConfigureAwait(false);
            return new Page<ResultView>(total, offset, limit, items);
        }
    }

    /// <summary>Every result of a series (all claims, newest first) and its findings; null when neither the index nor the
    /// results know the series.</summary>
    public async Task<SeriesResults?> SeriesAsync(string seriesInstanceUid, CancellationToken ct)
    {
        SeriesRecord? series;
        var idb = await index.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (idb.ConfigureAwait(false))
            series = await idb.Series.AsNoTracking().FirstOrDefaultAsync(s => s.SeriesInstanceUid == seriesInstanceUid, ct).ConfigureAwait(false);
        var db = await results.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var rows = await Project(db.Results.AsNoTracking().Where(r => r.SeriesInstanceUid == seriesInstanceUid)
                .OrderByDescending(r => r.AnalyzedAt).ThenByDescending(r => r.Id)).ToListAsync(ct).ConfigureAwait(false);
            var findings = await db.LabelFindings.AsNoTracking().Where(f => f.SeriesInstanceUid == seriesInstanceUid)
                .OrderByDescending(f => f.At).ThenBy(f => f.Id)
                .Select(f => new FindingView(f.Id, f.ClaimId, f.RuleId, f.Severity, f.MessageEn, f.MessageZh, f.Keyword, f.InstanceCount, f.FirstInstance, f.At))
                .ToListAsync(ct).ConfigureAwait(false);
            if (series is null && rows.Count == 0 && findings.Count == 0) return null;
            return new SeriesResults
            {
                SeriesInstanceUid = seriesInstanceUid,
                StudyInstanceUid = series?.StudyInstanceUid ?? rows.FirstOrDefault()?.StudyInstanceUid,
                State = series?.State, CurrentClaimId = series?.ClaimId, InstanceCount = series?.InstanceCount,
                Results = rows, Findings = findings,
            };
        }
    }

    /// <summary>One result row with its metrics (and its JSON), or null.</summary>
    public async Task<ResultRecord?> ResultAsync(long id, CancellationToken ct)
    {
        var db = await results.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
            return await db.Results.AsNoTracking().Include(r => r.Metrics).FirstOrDefaultAsync(r => r.Id == id, ct).ConfigureAwait(false);
    }

    public async Task<Page<AuditView>> AuditAsync(string entity, string entityKey, int limit, int offset, CancellationToken ct)
    {
        var db = await results.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var q = db.Audit.AsNoTracking().Where(a => a.Entity == entity && a.EntityKey == entityKey);
            int total = await q.CountAsync(ct).ConfigureAwait(false);
            var rows = await q.OrderByDescending(a => a.At).ThenByDescending(a => a.Id).Skip(offset).Take(limit).ToListAsync(ct).ConfigureAwait(false);
            return new Page<AuditView>(total, offset, limit, rows.Select(a => new AuditView(a.Id, a.At, a.Actor, a.Action, a.Entity, a.EntityKey,
                a.Detail is null ? null : JsonDocument.Parse(a.Detail).RootElement.Clone())).ToList());
        }
    }

    private static IQueryable<ResultView> Project(IQueryable<ResultRecord> q) => q.Select(r => new ResultView
    {
        Id = r.Id, DeviceId = r.DeviceId, ClaimId = r.ClaimId, SeriesInstanceUid = r.SeriesInstanceUid, StudyInstanceUid = r.StudyInstanceUid,
        Profile = r.Profile, AlgorithmVersion = r.AlgorithmVersion, Verdict = r.Verdict, InconclusiveReason = r.InconclusiveReason,
        LimitSet = new LimitSetRef(r.LimitSetId, r.LimitSetVersion), AnalyzedAt = r.AnalyzedAt, Reason = r.Reason,
        InstanceCount = r.InstanceCount, DurationMs = r.DurationMs,
        Metrics = r.Metrics.OrderBy(m => m.Id).Select(m => new MetricView(m.Name, m.Value, m.Unit, m.LimitMin, m.LimitMax, m.Verdict)).ToList(),
    });

    /// <summary>The API shape of a loaded row (with its metrics).</summary>
    internal static ResultDetail Detail(ResultRecord r, IReadOnlyList<ResultImage> images, string? overlayUrl) => new()
    {
        Id = r.Id, DeviceId = r.DeviceId, ClaimId = r.ClaimId, SeriesInstanceUid = r.SeriesInstanceUid, StudyInstanceUid = r.StudyInstanceUid,
        Profile = r.Profile, AlgorithmVersion = r.AlgorithmVersion, Verdict = r.Verdict, InconclusiveReason = r.InconclusiveReason,
        LimitSet = new LimitSetRef(r.LimitSetId, r.LimitSetVersion), AnalyzedAt = r.AnalyzedAt, Reason = r.Reason,
        InstanceCount = r.InstanceCount, DurationMs = r.DurationMs,
        Metrics = r.Metrics.OrderBy(m => m.Id).Select(m => new MetricView(m.Name, m.Value, m.Unit, m.LimitMin, m.LimitMax, m.Verdict)).ToList(),
        Result = JsonDocument.Parse(r.Json).RootElement.Clone(),
        Images = images,
        OverlayUrl = overlayUrl,
    };
}
