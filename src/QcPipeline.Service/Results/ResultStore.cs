using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Labels;

namespace QcPipeline.Service.ResultsStore;

/// <summary>What identifies the device that made a series (series-level attributes and the sender).</summary>
public sealed record DeviceIdentity(string? DeviceSerialNumber, string? StationName, string? CallingAe,
    string? Manufacturer = null, string? ManufacturerModelName = null, string? Modality = null, string? InstitutionName = null)
{
    /// <summary>The registry key: the serial number when the device gives one, else its station name, else the calling AE
    /// title, else <c>unknown</c> (a series that names no device at all still gets its results kept).</summary>
    public string Key =>
        Clean(DeviceSerialNumber) is { } serial ? "serial:" + serial
        : Clean(StationName) is { } station ? "station:" + station
        : Clean(CallingAe) is { } ae ? "ae:" + ae
        : "unknown";

    internal static string? Clean(string? v) => string.IsNullOrWhiteSpace(v) ? null : v.Trim() is { Length: > 190 } t ? t[..190] : v.Trim();
}

/// <summary>One analysis result to keep. <see cref="Images"/>: the images of its analysed set, in set order (an ROI's
/// <c>Frame</c> indexes it); empty when unknown. <see cref="Worker"/>: the process that analysed it (<see cref="ServiceInstance.Name"/>).</summary>
public sealed record ResultWrite(Guid ClaimId, string StudyInstanceUid, string SeriesInstanceUid, long DeviceId, AnalysisResult Result,
    int InstanceCount, string Reason, TimeSpan Duration, IReadOnlyList<ResultImage>? Images = null, string? Worker = null);

/// <summary>An analysed image: the stored instance and the frame in it (0-based).</summary>
public sealed record ResultImage(string SopInstanceUid, int Frame);

/// <summary>Devices, results and findings in the database. Writes are idempotent under at-least-once delivery: the same
/// claim writes a result once (unique key), and a device is registered once however many workers see it first.</summary>
public sealed class ResultStore(IDbContextFactory<ResultsDbContext> factory, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The device's row, registered now if it is new (its last-seen time and any missing details are updated).</summary>
    public async Task<DeviceRecord> ResolveDeviceAsync(DeviceIdentity identity, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var key = identity.Key;
        var now = time.GetUtcNow();
        for (int attempt = 0; ; attempt++)
        {
            var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                var device = await db.Devices.FirstOrDefaultAsync(d => d.Key == key, ct).ConfigureAwait(false);
                if (device is null)
                {
                    device = new DeviceRecord { Key = key, FirstSeenAt = now };
                    db.Devices.Add(device);
                }
                device.LastSeenAt = now;
                device.DeviceSerialNumber ??= DeviceIdentity.Clean(identity.DeviceSerialNumber);
                device.StationName ??= DeviceIdentity.Clean(identity.StationName);
                device.CallingAe ??= DeviceIdentity.Clean(identity.CallingAe);
                device.Manufacturer ??= DeviceIdentity.Clean(identity.Manufacturer);
                device.ManufacturerModelName ??= DeviceIdentity.Clean(identity.ManufacturerModelName);
                device.Modality ??= DeviceIdentity.Clean(identity.Modality) is { Length: <= 16 } m ? m : null;
                device.InstitutionName ??= DeviceIdentity.Clean(identity.InstitutionName);
                try
                {
                    await db.SaveChangesAsync(ct).ConfigureAwait(false);
                    return device;
                }
                catch (DbUpdateException) when (attempt < 3)
                {
                    // Another worker registered the same key between our read and our insert: read it again.
                }
            }
        }
    }

    /// <summary>Keeps a result; when the same claim already wrote this series, profile and algorithm version (a redelivered
    /// message), returns the existing row and false.</summary>
    public async Task<(ResultRecord Record, bool Created)> RecordAsync(ResultWrite write, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var r = write.Result;
        var existing = await FindAsync(write, ct).ConfigureAwait(false);
        if (existing is not null) return (existing, false);
        var record = new ResultRecord
        {
            ClaimId = write.ClaimId,
            StudyInstanceUid = write.StudyInstanceUid,
            SeriesInstanceUid = write.SeriesInstanceUid,
            DeviceId = write.DeviceId,
            Profile = r.Profile,
            AlgorithmVersion = r.AlgorithmVersion,
            Verdict = VerdictText(r.Verdict),
            InconclusiveReason = r.InconclusiveReason is { Length: > 500 } long_ ? long_[..500] : r.InconclusiveReason,
            LimitSetId = r.LimitSet.Id,
            LimitSetVersion = r.LimitSet.Version,
            InstanceCount = write.InstanceCount,
            Reason = write.Reason,
            AnalyzedAt = time.GetUtcNow(),
            DurationMs = write.Duration.TotalMilliseconds,
            Worker = write.Worker,
            Json = JsonSerializer.Serialize(r, Json),
            ImagesJson = write.Images is { Count: > 0 } images ? JsonSerializer.Serialize(images, Json) : null,
            Metrics = r.Metrics.Select(m => new ResultMetricRecord
            {
                Name = m.Name, Value = m.Value is { } v && double.IsFinite(v) ? v : null, Unit = m.Unit,
                LimitMin = m.Limit?.Min, LimitMax = m.Limit?.Max, Verdict = VerdictText(m.Verdict),
            }).ToList(),
        };
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            db.Results.Add(record);
            try
            {
                await db.SaveChangesAsync(ct).ConfigureAwait(false);
                return (record, true);
            }
            catch (DbUpdateException)
            {
                // The unique key: a concurrent delivery of the same claim won. Its row is the result.
                existing = await FindAsync(write, ct).ConfigureAwait(false);
                if (existing is not null) return (existing, false);
                throw;
            }
        }
    }

    private async Task<ResultRecord?> FindAsync(ResultWrite w, CancellationToken ct)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            return await db.Results.AsNoTracking().Include(x => x.Metrics).FirstOrDefaultAsync(x =>
                x.SeriesInstanceUid == w.SeriesInstanceUid && x.Profile == w.Result.Profile
                && x.AlgorithmVersion == w.Result.AlgorithmVersion && x.ClaimId == w.ClaimId, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Keeps one series check (a <see cref="SeriesCheckRecord"/>, also when nothing was found: label compliance counts
    /// checked series) and its findings, once per claim; false when that claim already wrote them (a redelivery).</summary>
    public async Task<bool> RecordFindingsAsync(Guid claimId, string seriesInstanceUid, long deviceId, IReadOnlyList<QcFinding> findings,
        int instanceCount = 0, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            if (await db.SeriesChecks.AnyAsync(c => c.SeriesInstanceUid == seriesInstanceUid && c.ClaimId == claimId, ct).ConfigureAwait(false))
                return false;
            var now = time.GetUtcNow();
            db.SeriesChecks.Add(new SeriesCheckRecord
            {
                ClaimId = claimId, SeriesInstanceUid = seriesInstanceUid, DeviceId = deviceId, At = now, InstanceCount = instanceCount,
                Errors = findings.Count(f => f.Severity == FindingSeverity.Error), Warnings = findings.Count(f => f.Severity == FindingSeverity.Warning),
            });
            db.LabelFindings.AddRange(findings.Select(f => new LabelFindingRecord
            {
                ClaimId = claimId, SeriesInstanceUid = seriesInstanceUid, DeviceId = deviceId, RuleId = f.RuleId,
                Severity = f.Severity.ToString().ToLowerInvariant(), MessageEn = Cap(f.MessageEn, 1000), MessageZh = Cap(f.MessageZh, 1000),
                Keyword = f.Keyword, InstanceCount = f.InstanceCount, FirstInstance = f.FirstInstance, At = now,
            }));
            try
            {
                await db.SaveChangesAsync(ct).ConfigureAwait(false);
                return true;
            }
            catch (DbUpdateException)
            {
                // A concurrent delivery of the same claim wrote them first (the unique key on SeriesChecks).
                if (await AlreadyCheckedAsync(claimId, seriesInstanceUid, ct).ConfigureAwait(false)) return false;
                throw;
            }
        }
    }

    private async Task<bool> AlreadyCheckedAsync(Guid claimId, string seriesInstanceUid, CancellationToken ct)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
            return await db.SeriesChecks.AnyAsync(c => c.SeriesInstanceUid == seriesInstanceUid && c.ClaimId == claimId, ct).ConfigureAwait(false);
    }

    /// <summary>Appends to the audit log.</summary>
    public async Task AuditAsync(string actor, string action, string entity, string entityKey, object? detail, CancellationToken ct = default)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            db.Audit.Add(new AuditRecord
            {
                At = time.GetUtcNow(), Actor = Cap(actor, 128), Action = action, Entity = entity, EntityKey = Cap(entityKey, 200),
                Detail = detail is null ? null : JsonSerializer.Serialize(detail, Json),
            });
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>The images stored with a result (<see cref="ResultRecord.ImagesJson"/>), or empty.</summary>
    public static IReadOnlyList<ResultImage> ImagesOf(ResultRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (string.IsNullOrEmpty(record.ImagesJson)) return [];
        return JsonSerializer.Deserialize<List<ResultImage>>(record.ImagesJson, Json) ?? [];
    }

    public static string VerdictText(Verdict v) => v switch
    {
        Verdict.Pass => "pass",
        Verdict.Fail => "fail",
        _ => "inconclusive",
    };

    private static string Cap(string s, int n) => s.Length <= n ? s : s[..n];
}
