using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Index;
using QcPipeline.Service.Ingest;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Storage;

namespace QcPipeline.Service.Retention;

/// <summary>What one retention run deleted.</summary>
public sealed record RetentionReport(int NonQcSeries, int NonQcInstances, int QcSeries, int QcInstances, long Bytes, int IngestEvents)
{
    /// <summary>Series passed over because an instance of theirs was being received in this process (tried again next run).</summary>
    public int SeriesSkipped { get; init; }

    /// <summary>Instance files that could not be deleted (their rows and series are kept and tried again next run).</summary>
    public int FileFailures { get; init; }

    public bool DeletedAnything => NonQcSeries + NonQcInstances + QcSeries + QcInstances + IngestEvents > 0;
}

/// <summary>Data retention (issue 7): every <c>Retention:Interval</c> deletes the instances of analysed series whose checks
/// finished longer ago than their kind's period (<c>Retention:NonQcImages</c>, default 7 days; <c>Retention:QcImages</c>,
/// default forever) and trims <c>IngestEvents</c> (<c>Retention:IngestEvents</c>). Results, label findings and the audit log
/// are never touched. A series that is open or claimed (not yet checked, or re-opened by a new instance) is never touched.
///
/// <para>Order and crash consistency: in one transaction that holds the series rows (PostgreSQL: <c>FOR UPDATE SKIP
/// LOCKED</c>, so several processes take different series; SQLite: <c>BEGIN IMMEDIATE</c>, the single write lock), the
/// files are deleted first, their folders removed when empty and synced, and only then are the index rows deleted and the
/// series marked purged. A file therefore never outlives its row by a crash, so start-up reconciliation (which indexes any
/// file without a row) can never bring a deleted instance back; a crash before the commit leaves rows whose files are gone,
/// and since the series is still "analyzed" and past its period, the next run (the first is at start) deletes them.</para>
///
/// <para>Within the process, the per-UID ingest locks of the series' instances are held from before the first file is
/// deleted until the commit, so a replacement of one of them (same path) waits and is then stored as a new instance (which
/// re-opens the series); a series with an instance being received is passed over until the next run.</para>
///
/// <para>With the object store (<c>Storage:Backend</c> S3) the objects are deleted instead of the files, in the same order
/// (objects first, then the rows); there are no folders to remove.</para></summary>
public sealed class RetentionService(IDbContextFactory<IndexDbContext> factory, IngestService ingest, StoragePaths paths, IOptions<StorageOptions> storage,
    ResultStore results, RetentionMetrics metrics, IOptions<RetentionOptions> options, TimeProvider time, ILogger<RetentionService> logger,
    IInstanceStore? store = null) : BackgroundService
{
    /// <summary>Most series locked in one transaction (bounded by <c>Retention:BatchSize</c> instances as well).</summary>
    private const int MaxSeriesPerBatch = 100;

    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Test hook for the crash window: called after a batch's files are deleted, before its rows are deleted and
    /// committed. A throw here is what a crash there leaves behind (the transaction is rolled back).</summary>
    internal Func<CancellationToken, Task>? AfterFilesDeleted { get; set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.Enabled) return;
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database down, a disk error: what was committed stays done; the rest is tried at the next run.
                logger.LogWarning("Retention run failed ({ExceptionType}); retrying at the next run", ex.GetType().Name);
                logger.LogDebug(ex, "Retention failure detail");
            }
            try { await Task.Delay(o.Interval, time, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>One run (one at a time in this process). Logs and audits what it deleted, also when it fails part-way.</summary>
    public async Task<RetentionReport> RunOnceAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var o = options.Value;
            var now = time.GetUtcNow();
            var tally = new Tally();
            try
            {
                if (RetentionOptions.Effective(o.NonQcImages) is { } nonQc) await PurgeKindAsync(isQc: false, now - nonQc, tally, ct).ConfigureAwait(false);
                if (RetentionOptions.Effective(o.QcImages) is { } qc) await PurgeKindAsync(isQc: true, now - qc, tally, ct).ConfigureAwait(false);
                if (RetentionOptions.Effective(o.IngestEvents) is { } events) await TrimIngestEventsAsync(now - events, tally, ct).ConfigureAwait(false);
                metrics.RunsTotal.WithLabels("ok").Inc();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                metrics.RunsTotal.WithLabels("failed").Inc();
                throw;
            }
            finally
            {
                // What was committed before a failure or shutdown is reported (and audited) all the same.
                await ReportAsync(tally.Report, now, o).ConfigureAwait(false);
            }
            return tally.Report;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ReportAsync(RetentionReport r, DateTimeOffset runAt, RetentionOptions o)
    {
        if (r.FileFailures > 0)
            logger.LogWarning("Retention: {Count} instance file(s) could not be deleted; their series are kept and tried again at the next run", r.FileFailures);
        if (r.SeriesSkipped > 0)
            logger.LogInformation("Retention: {Count} series passed over while instances of theirs were being received; tried again at the next run", r.SeriesSkipped);
        if (!r.DeletedAnything) return;
        // Counts only: no UID or patient value at information level.
        logger.LogInformation("Retention deleted {NonQcInstances} instances of {NonQcSeries} non-QC series, {QcInstances} instances of {QcSeries} QC series ({Bytes} bytes) and {IngestEvents} ingest events",
            r.NonQcInstances, r.NonQcSeries, r.QcInstances, r.QcSeries, r.Bytes, r.IngestEvents);
        try
        {
            await results.AuditAsync("system", "retention.delete", "retention", runAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture), new
            {
                r.NonQcSeries, r.NonQcInstances, r.QcSeries, r.QcInstances, r.Bytes, r.IngestEvents,
                NonQcImages = Period(o.NonQcImages), QcImages = Period(o.QcImages), IngestEventsPeriod = Period(o.IngestEvents),
            }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
        {
            // The deletions are committed; a lost audit row must not make the run look undone (it would not be redone).
            logger.LogError("Retention: the audit row of this run could not be written ({ExceptionType})", ex.GetType().Name);
        }
    }

    private static string Period(TimeSpan? value) =>
        RetentionOptions.Effective(value) is { } v ? v.ToString("c", System.Globalization.CultureInfo.InvariantCulture) : "forever";

    private async Task PurgeKindAsync(bool isQc, DateTimeOffset cutoff, Tally tally, CancellationToken ct)
    {
        while (true)
        {
            var (candidates, purged) = await PurgeBatchAsync(isQc, cutoff, tally, ct).ConfigureAwait(false);
            // None left, or none of those left could be done now (busy or failing): the next run tries again.
            if (candidates == 0 || purged == 0) return;
        }
    }

    private sealed record Row(long Id, string SopInstanceUid, string Path, long Size);

    /// <summary>One transaction: locks up to a batch of due series of one kind, deletes their files, then their rows, and
    /// marks them purged. Returns how many series were due in the batch and how many were purged.</summary>
    private async Task<(int Candidates, int Purged)> PurgeBatchAsync(bool isQc, DateTimeOffset cutoff, Tally tally, CancellationToken ct)
    {
        var o = options.Value;
        var now = time.GetUtcNow();
        // Released after the transaction has ended (declared first, disposed last).
        using var locks = ingest.CreateLockSet();
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var tx = await db.Database.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (tx.ConfigureAwait(false))
            {
                bool? kind = isQc;
                List<SeriesRecord> due = db is PostgresIndexDbContext
                    ? await db.Series.FromSqlRaw("""
                        SELECT * FROM "Series"
                        WHERE "State" = 'analyzed' AND "IsQc" = {0} AND "AnalyzedAt" < {1}
                        ORDER BY "AnalyzedAt"
                        LIMIT {2}
                        FOR UPDATE SKIP LOCKED
                        """, isQc, cutoff, MaxSeriesPerBatch).ToListAsync(ct).ConfigureAwait(false)
                    : await db.Series.Where(s => s.State == SeriesRecord.Analyzed && s.IsQc == kind && s.AnalyzedAt < cutoff)
                        .OrderBy(s => s.AnalyzedAt).Take(MaxSeriesPerBatch).ToListAsync(ct).ConfigureAwait(false);
                if (due.Count == 0) return (0, 0);

                // The batch: whole series, up to BatchSize instances (a larger series alone), each with its ingest locks.
                var batch = new List<(SeriesRecord Series, List<Row> Rows)>();
                int instances = 0, skipped = 0;
                foreach (var s in due)
                {
                    var uid = s.SeriesInstanceUid;
                    var rows = await db.Instances.AsNoTracking().Where(i => i.SeriesInstanceUid == uid)
                        .Select(i => new Row(i.Id, i.SopInstanceUid, i.Path, i.Size)).ToListAsync(ct).ConfigureAwait(false);
                    if (batch.Count > 0 && instances + rows.Count > o.BatchSize) break;
                    if (!locks.TryAdd(rows.Select(r => r.SopInstanceUid)))
                    {
                        skipped++;
                        continue;
                    }
                    batch.Add((s, rows));
                    instances += rows.Count;
                }

                // Files first (see the class comment): a file never outlives its row.
                var deletedIds = new List<long>(instances);
                var folders = new HashSet<string>(StringComparer.Ordinal);
                var complete = new List<SeriesRecord>();
                int failures = 0, deleted = 0;
                long bytes = 0;
                foreach (var (series, rows) in batch)
                {
                    bool all = true;
                    foreach (var r in rows)
                    {
                        ct.ThrowIfCancellationRequested();
                        if (store is S3InstanceStore objects)
                        {
                            try
                            {
                                await objects.DeleteAsync(r.Path, ct).ConfigureAwait(false);
                            }
                            catch (InstanceStoreException)
                            {
                                all = false;
                                failures++;
                                continue;
                            }
                            deletedIds.Add(r.Id);
                            deleted++;
                            bytes += r.Size;
                            continue;
                        }
                        var full = paths.FullPath(r.Path);
                        // Defence in depth: the index only ever holds paths under instances/, built from checked UIDs.
                        if (!full.StartsWith(paths.Instances + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                        {
                            all = false;
                            failures++;
                            continue;
                        }
                        try
                        {
                            File.Delete(full); // no error when the file is already gone (a run cut short before its commit)
                        }
                        catch (DirectoryNotFoundException)
                        {
                            // Its folder is gone too: nothing left to delete.
                        }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                        {
                            all = false;
                            failures++;
                            logger.LogDebug(ex, "Retention: could not delete {Path}", r.Path);
                            continue;
                        }
                        deletedIds.Add(r.Id);
                        deleted++;
                        bytes += r.Size;
                        folders.Add(Path.GetDirectoryName(full)!);
                    }
                    if (all) complete.Add(series);
                }
                RemoveEmptyFoldersDurably(folders);
                if (AfterFilesDeleted is { } hook) await hook(ct).ConfigureAwait(false);

                // Then the rows, and the series' state, in the same transaction.
                foreach (var chunk in deletedIds.Chunk(500))
                    await db.Instances.Where(i => chunk.Contains(i.Id)).ExecuteDeleteAsync(ct).ConfigureAwait(false);
                foreach (var s in complete)
                {
                    s.State = SeriesRecord.Purged;
                    s.PurgedAt = now;
                    s.InstanceCount = 0;
                    s.Version++;
                }
                await db.SaveChangesAsync(ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);

                tally.Add(isQc, complete.Count, deleted, bytes, skipped, failures);
                metrics.DeletedTotal.WithLabels(isQc ? RetentionMetrics.QcImage : RetentionMetrics.NonQcImage).Inc(deleted);
                metrics.DeletedBytesTotal.Inc(bytes);
                return (due.Count, complete.Count);
            }
        }
    }

    /// <summary>Removes the series folders that are now empty, and their study folders when those are empty too, then syncs
    /// the folders that hold the removed entries: the deletions must be on disk before the rows are deleted, or a power loss
    /// could bring back files without rows, which start-up reconciliation would index again. An ingest that had just made
    /// one of these folders again retries its rename (see IncomingInstance).</summary>
    private void RemoveEmptyFoldersDurably(HashSet<string> seriesFolders)
    {
        var sync = new HashSet<string>(StringComparer.Ordinal);
        foreach (var series in seriesFolders)
        {
            if (!TryRemoveEmpty(series))
            {
                sync.Add(series);
                continue;
            }
            var study = Path.GetDirectoryName(series)!;
            if (study.Length > paths.Instances.Length && TryRemoveEmpty(study)) sync.Add(paths.Instances);
            else sync.Add(study);
        }
        if (!storage.Value.Fsync) return;
        foreach (var dir in sync)
            if (Directory.Exists(dir)) FileSync.SyncDirectory(dir);
    }

    private static bool TryRemoveEmpty(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: false);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // not empty (a late instance of the series), or already gone
        }
    }

    /// <summary>Deletes ingest events older than <paramref name="cutoff"/>, a batch per transaction. On SQLite their times
    /// are EF Core's text form, always written in UTC (+00:00), whose text order is their time order; the parameter is bound
    /// in the same form.</summary>
    private async Task TrimIngestEventsAsync(DateTimeOffset cutoff, Tally tally, CancellationToken ct)
    {
        var batch = options.Value.BatchSize;
        while (true)
        {
            int n;
            var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                n = await db.Database.ExecuteSqlRawAsync("""
                    DELETE FROM "IngestEvents" WHERE "Id" IN (SELECT "Id" FROM "IngestEvents" WHERE "At" < {0} ORDER BY "Id" LIMIT {1})
                    """, [cutoff.ToUniversalTime(), batch], ct).ConfigureAwait(false);
            }
            tally.IngestEvents += n;
            metrics.DeletedTotal.WithLabels(RetentionMetrics.IngestEvent).Inc(n);
            if (n < batch) return;
        }
    }

    private sealed class Tally
    {
        private int _nonQcSeries, _nonQcInstances, _qcSeries, _qcInstances, _skipped, _failures;
        private long _bytes;
        public int IngestEvents { get; set; }

        public void Add(bool isQc, int series, int instances, long bytes, int skipped, int failures)
        {
            if (isQc) { _qcSeries += series; _qcInstances += instances; }
            else { _nonQcSeries += series; _nonQcInstances += instances; }
            _bytes += bytes;
            _skipped += skipped;
            _failures += failures;
        }

        public RetentionReport Report => new(_nonQcSeries, _nonQcInstances, _qcSeries, _qcInstances, _bytes, IngestEvents)
        {
            SeriesSkipped = _skipped, FileFailures = _failures,
        };
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }
}
