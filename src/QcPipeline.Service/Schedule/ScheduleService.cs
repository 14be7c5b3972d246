using System.Numerics;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Workers;

namespace QcPipeline.Service.Schedule;

/// <summary>Scheduled phantom scans: created (with a generated accession number, requested procedure id and Study
/// Instance UID), cancelled, and linked to the series that comes back with their accession number.</summary>
public sealed class ScheduleService(IDbContextFactory<ResultsDbContext> factory, ResultStore store, TimeProvider time, ILogger<ScheduleService> logger)
{
    private const string Alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"; // no I or O: read aloud and typed on a console

    /// <summary>A new scan for a device; the caller has validated the test, date, time and AE title.</summary>
    public async Task<ScheduledScanRecord> CreateAsync(DeviceRecord device, string test, DateOnly date, TimeOnly scheduledTime, string stationAe, string actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(device);
        var now = time.GetUtcNow();
        for (int attempt = 0; ; attempt++)
        {
            // QC + yyMMdd of the scheduled day + 6 random characters: 14 characters (SH allows 16), unique by index.
            var suffix = date.ToString("yyMMdd", System.Globalization.CultureInfo.InvariantCulture) + RandomNumberGenerator.GetString(Alphabet, 6);
            var scan = new ScheduledScanRecord
            {
                DeviceId = device.Id, Test = test, ScheduledDate = date, ScheduledTime = scheduledTime,
                AccessionNumber = "QC" + suffix, RequestedProcedureId = "RP" + suffix,
                StudyInstanceUid = "2.25." + new BigInteger(Guid.NewGuid().ToByteArray(), isUnsigned: true).ToString(System.Globalization.CultureInfo.InvariantCulture),
                StationAeTitle = stationAe, Modality = device.Modality ?? TestPlans.ModalityOf(test),
                Status = ScheduledScanRecord.Scheduled, CreatedBy = actor, CreatedAt = now, UpdatedAt = now,
            };
            var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                db.ScheduledScans.Add(scan);
                try
                {
                    await db.SaveChangesAsync(ct).ConfigureAwait(false);
                }
                catch (DbUpdateException) when (attempt < 3)
                {
                    continue; // an accession number already taken (1 in 34^6 per scan and day): draw again
                }
            }
            await store.AuditAsync(actor, "schedule.create", "ScheduledScan", scan.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                new { scan.DeviceId, scan.Test, Date = scan.ScheduledDate, Time = scan.ScheduledTime, scan.AccessionNumber, scan.StationAeTitle, scan.Modality }, ct).ConfigureAwait(false);
            return scan;
        }
    }

    /// <summary>The scan with this accession number that a received series belongs to (not a cancelled one), or null.</summary>
    public async Task<ScheduledScanRecord?> FindByAccessionAsync(string? accessionNumber, CancellationToken ct)
    {
        var acc = accessionNumber?.Trim();
        if (string.IsNullOrEmpty(acc) || acc.Length > 16) return null;
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            return await db.ScheduledScans.AsNoTracking()
                .FirstOrDefaultAsync(s => s.AccessionNumber == acc && s.Status != ScheduledScanRecord.Cancelled, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Routing by schedule: a series carrying a scheduled scan's accession number gets that scan's test and nothing
    /// else (no guessing from names); the scan becomes in-progress. Returns the scan and the scan's route, or null.</summary>
    public async Task<(ScheduledScanRecord Scan, SeriesRoute Route)?> RouteAsync(IReadOnlyDictionary<string, string?> attributes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        var scan = await FindByAccessionAsync(attributes.GetValueOrDefault("AccessionNumber"), ct).ConfigureAwait(false);
        if (scan is null) return null;
        if (scan.Status == ScheduledScanRecord.Scheduled) await SetStatusAsync(scan.Id, ScheduledScanRecord.Scheduled, ScheduledScanRecord.InProgress, null, ct).ConfigureAwait(false);
        return (scan, new SeriesRoute([scan.Test], ["schedule"]));
    }

    /// <summary>The scan's result has been kept: the scan is done and points at it. A scan already done keeps its first
    /// result (a re-analysis adds results, it does not re-link).</summary>
    public async Task CompleteAsync(ScheduledScanRecord scan, long resultId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (await SetStatusAsync(scan.Id, ScheduledScanRecord.InProgress, ScheduledScanRecord.Done, resultId, ct).ConfigureAwait(false)
            || await SetStatusAsync(scan.Id, ScheduledScanRecord.Scheduled, ScheduledScanRecord.Done, resultId, ct).ConfigureAwait(false))
        {
            await store.AuditAsync("system", "schedule.done", "ScheduledScan", scan.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), new { ResultId = resultId }, ct).ConfigureAwait(false);
            logger.LogInformation("Scheduled scan {ScanId} done: device {DeviceId}, test {Test}, result {ResultId}", scan.Id, scan.DeviceId, scan.Test, resultId);
        }
    }

    /// <summary>Cancels a scan. Null when there is none with that id; false when it is already done (it cannot be cancelled).</summary>
    public async Task<(ScheduledScanRecord Scan, bool Cancelled)?> CancelAsync(long id, string actor, CancellationToken ct)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var scan = await db.ScheduledScans.FirstOrDefaultAsync(s => s.Id == id, ct).ConfigureAwait(false);
            if (scan is null) return null;
            if (scan.Status == ScheduledScanRecord.Done) return (scan, false);
            if (scan.Status == ScheduledScanRecord.Cancelled) return (scan, true);
            var old = scan.Status;
            scan.Status = ScheduledScanRecord.Cancelled;
            scan.UpdatedAt = time.GetUtcNow();
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
            await store.AuditAsync(actor, "schedule.cancel", "ScheduledScan", id.ToString(System.Globalization.CultureInfo.InvariantCulture), new { Old = old, New = scan.Status }, ct).ConfigureAwait(false);
            return (scan, true);
        }
    }

    /// <summary>Compare-and-set of the status, so concurrent workers and a cancel never overwrite each other.</summary>
    private async Task<bool> SetStatusAsync(long id, string from, string to, long? resultId, CancellationToken ct)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var now = time.GetUtcNow();
            int n = await db.ScheduledScans.Where(s => s.Id == id && s.Status == from)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.Status, to).SetProperty(s => s.UpdatedAt, now)
                    .SetProperty(s => s.ResultId, s => resultId ?? s.ResultId), ct).ConfigureAwait(false);
            return n == 1;
        }
    }
}
