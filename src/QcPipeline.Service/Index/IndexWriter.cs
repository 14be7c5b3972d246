using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Bus;

namespace QcPipeline.Service.Index;

/// <summary>What the index should say about a stored instance file.</summary>
public sealed record IndexEntry(
    string SopInstanceUid,
    string SopClassUid,
    string StudyInstanceUid,
    string SeriesInstanceUid,
    string? Modality,
    string TransferSyntaxUid,
    string Path,
    long Size,
    string Sha256,
    DateTimeOffset ReceivedAt,
    string Source,
    string? CallingAe,
    IndexAttributes? Attributes = null,
    string? Client = null);

public enum IndexCommitKind
{
    /// <summary>A new row.</summary>
    Inserted,
    /// <summary>The row already said exactly this (same path and hash): nothing written.</summary>
    Unchanged,
    /// <summary>The row was replaced (new version) and a "replaced" event appended.</summary>
    Updated,
}

public sealed record IndexCommitResult(IndexCommitKind Kind, string? PreviousPath = null, string? PreviousSha256 = null);

/// <summary>Group commit: one background writer takes every pending index entry from concurrent associations and commits
/// them in one transaction, so the fsync of the database is shared by all the instances that arrived meanwhile.
/// Callers await their own entry's result; a failed batch is retried entry by entry so one bad entry fails alone.
/// In the same transaction as each inserted or replaced instance it upserts the instance's <see cref="SeriesRecord"/>
/// (series assembly) and adds an <see cref="InstanceStored"/> row to the outbox; an unchanged duplicate writes neither.</summary>
public sealed class IndexWriter : IAsyncDisposable, IDisposable
{
    private sealed record Pending(IndexEntry Entry, TaskCompletionSource<IndexCommitResult> Done);

    private readonly Channel<Pending> _channel = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IDbContextFactory<IndexDbContext> _factory;
    private readonly ILogger<IndexWriter> _logger;
    private readonly int _maxBatch;
    private readonly Task _loop;
    private readonly OutboxSignal _signal;
    private readonly TimeProvider _time;

    public IndexWriter(IDbContextFactory<IndexDbContext> factory, IOptions<DatabaseOptions> options, OutboxSignal signal, TimeProvider time, ILogger<IndexWriter> logger)
    {
        _factory = factory;
        _signal = signal;
        _time = time;
        _logger = logger;
        _maxBatch = options.Value.MaxBatchSize;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Batches committed so far (for tests and diagnostics).</summary>
    public long BatchesCommitted => Interlocked.Read(ref _batches);
    private long _batches;

    /// <summary>Queues <paramref name="entry"/> and completes when its transaction has committed.</summary>
    public Task<IndexCommitResult> CommitAsync(IndexEntry entry, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<IndexCommitResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_channel.Writer.TryWrite(new Pending(entry, done)))
            throw new InvalidOperationException("the index writer is shut down");
        // The commit goes on even when the caller stops waiting: the file is already in place.
        return done.Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(_maxBatch);
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _maxBatch && reader.TryRead(out var p)) batch.Add(p);
            if (batch.Count == 0) continue;
            try
            {
                var results = await CommitBatchAsync(batch).ConfigureAwait(false);
                Interlocked.Increment(ref _batches);
                for (int i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(results[i]);
            }
            catch (Exception ex) when (batch.Count > 1)
            {
                _logger.LogWarning(ex, "Index batch of {Count} entries failed; committing them one by one", batch.Count);
                foreach (var p in batch)
                {
                    try
                    {
                        var r = await CommitBatchAsync([p]).ConfigureAwait(false);
                        Interlocked.Increment(ref _batches);
                        p.Done.TrySetResult(r[0]);
                    }
                    catch (Exception one)
                    {
                        p.Done.TrySetException(one);
                    }
                }
            }
            catch (Exception ex)
            {
                batch[0].Done.TrySetException(ex);
            }
        }
    }

    // One context (and so one open connection) for the writer's lifetime: creating a context and opening a connection
    // per batch cost more than the commit itself. It is replaced after any failure, so no half-tracked state survives.
    private IndexDbContext? _db;

    private async Task<IndexCommitResult[]> CommitBatchAsync(List<Pending> batch)
    {
        _db ??= await _factory.CreateDbContextAsync().ConfigureAwait(false);
        var db = _db;
        try
        {
            if (db.Database.GetDbConnection().State != System.Data.ConnectionState.Open)
                await db.Database.OpenConnectionAsync().ConfigureAwait(false);
            var results = await CommitBatchAsync(db, batch, _time.GetUtcNow()).ConfigureAwait(false);
            db.ChangeTracker.Clear();
            // Every result but Unchanged added an outbox row: wake the dispatcher.
            if (results.Any(r => r.Kind != IndexCommitKind.Unchanged)) _signal.Notify();
            return results;
        }
        catch
        {
            // A fresh context next time; no half-tracked state survives a failure.
            _db = null;
            await db.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<IndexCommitResult[]> CommitBatchAsync(IndexDbContext db, List<Pending> batch, DateTimeOffset now)
    {
        // Nearly every entry is a new instance: insert those with plain SQL (EF's change tracking and SaveChanges were
        // most of the commit's cost). Anything else — a UID already indexed, or twice in the batch — goes through EF.
        if (await TryInsertAllNewAsync(db, batch, now).ConfigureAwait(false) is { } inserted) return inserted;
        {
            // One transaction: the instance rows and events (SaveChanges), then the series upserts and outbox rows, which need
            // the rows' ids.
            var efTx = await db.Database.BeginTransactionAsync().ConfigureAwait(false);
            await using (efTx.ConfigureAwait(false))
            {
                Dictionary<string, InstanceRecord> rows;
                if (batch.Count == 1)
                {
                    // The common case with one sender: a plain equality lookup is much cheaper than the IN (...) query.
                    var uid = batch[0].Entry.SopInstanceUid;
                    var one = await db.Instances.FirstOrDefaultAsync(i => i.SopInstanceUid == uid).ConfigureAwait(false);
                    rows = new Dictionary<string, InstanceRecord>(StringComparer.Ordinal);
                    if (one is not null) rows[uid] = one;
                }
                else
                {
                    var uids = batch.Select(p => p.Entry.SopInstanceUid).Distinct(StringComparer.Ordinal).ToList();
                    rows = await db.Instances.Where(i => uids.Contains(i.SopInstanceUid)).ToDictionaryAsync(i => i.SopInstanceUid, StringComparer.Ordinal).ConfigureAwait(false);
                }
                var results = new IndexCommitResult[batch.Count];
                var written = new (InstanceRecord Row, int Version)[batch.Count];
                for (int i = 0; i < batch.Count; i++)
                {
                    var e = batch[i].Entry;
                    if (!rows.TryGetValue(e.SopInstanceUid, out var row))
                    {
                        row = new InstanceRecord
                        {
                            SopInstanceUid = e.SopInstanceUid, SopClassUid = e.SopClassUid, StudyInstanceUid = e.StudyInstanceUid,
                            SeriesInstanceUid = e.SeriesInstanceUid, Modality = e.Modality, TransferSyntaxUid = e.TransferSyntaxUid,
                            Path = e.Path, Size = e.Size, Sha256 = e.Sha256, ReceivedAt = e.ReceivedAt, Source = e.Source, CallingAe = e.CallingAe,
                            Client = e.Client,
                        };
                        e.Attributes?.ApplyTo(row);
                        db.Instances.Add(row);
                        rows[e.SopInstanceUid] = row;
                        results[i] = new IndexCommitResult(IndexCommitKind.Inserted);
                    }
                    else if (row.Sha256 == e.Sha256 && row.Path == e.Path)
                    {
                        results[i] = new IndexCommitResult(IndexCommitKind.Unchanged, row.Path, row.Sha256);
                        // A row from before the query columns existed gets them from the first entry that carries them
                        // (start-up reconciliation backfills this way); nothing else about it changes.
                        if (!row.HasQueryAttributes && e.Attributes is { } backfill) backfill.ApplyTo(row);
                    }
                    else
                    {
                        results[i] = new IndexCommitResult(IndexCommitKind.Updated, row.Path, row.Sha256);
                        db.IngestEvents.Add(new IngestEventRecord
                        {
                            SopInstanceUid = e.SopInstanceUid, Kind = "replaced", OldSha256 = row.Sha256, NewSha256 = e.Sha256,
                            At = e.ReceivedAt, Source = e.Source, CallingAe = e.CallingAe,
                        });
                        row.SopClassUid = e.SopClassUid;
                        row.StudyInstanceUid = e.StudyInstanceUid;
                        row.SeriesInstanceUid = e.SeriesInstanceUid;
                        row.Modality = e.Modality;
                        row.TransferSyntaxUid = e.TransferSyntaxUid;
                        row.Path = e.Path;
                        row.Size = e.Size;
                        row.Sha256 = e.Sha256;
                        row.ReceivedAt = e.ReceivedAt;
                        row.Source = e.Source;
                        row.CallingAe = e.CallingAe;
                        row.Client = e.Client;
                        if (e.Attributes is { } a) a.ApplyTo(row);
                        row.Version++;
                    }
                    written[i] = (row, row.Version);
                }
                await db.SaveChangesAsync().ConfigureAwait(false);
                var tx = efTx.GetDbTransaction();
                var pipeline = new PipelineCommands(db, tx);
                await using (pipeline.ConfigureAwait(false))
                {
                    for (int i = 0; i < batch.Count; i++)
                    {
                        if (results[i].Kind == IndexCommitKind.Unchanged) continue;
                        var (row, version) = written[i];
                        await pipeline.AddAsync(batch[i].Entry, row.Id, version, results[i].Kind == IndexCommitKind.Inserted, now).ConfigureAwait(false);
                    }
                }
                await efTx.CommitAsync().ConfigureAwait(false);
                return results;
            }
        }
    }

    /// <summary>Inserts every entry of the batch in one transaction when none of their UIDs is indexed yet (and none
    /// repeats within the batch); returns null, having changed nothing, otherwise. The SQL is plain enough for both
    /// SQLite and PostgreSQL; table and column names are those of the EF model (and so of the migrations).</summary>
    private static async Task<IndexCommitResult[]?> TryInsertAllNewAsync(IndexDbContext db, List<Pending> batch, DateTimeOffset now)
    {
        var uids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in batch) if (!uids.Add(p.Entry.SopInstanceUid)) return null;
        var conn = db.Database.GetDbConnection();
        var tx = await conn.BeginTransactionAsync().ConfigureAwait(false);
        await using (tx.ConfigureAwait(false))
        {
            var exists = conn.CreateCommand();
            await using (exists.ConfigureAwait(false))
            {
                exists.Transaction = tx;
                exists.CommandText = """SELECT 1 FROM "Instances" WHERE "SopInstanceUid" = @uid LIMIT 1""";
                var uid = Parameter(exists, "@uid", "");
                foreach (var p in batch)
                {
                    uid.Value = p.Entry.SopInstanceUid;
                    if (await exists.ExecuteScalarAsync().ConfigureAwait(false) is not (null or DBNull))
                    {
                        await tx.RollbackAsync().ConfigureAwait(false);
                        return null;
                    }
                }
            }
            var insert = conn.CreateCommand();
            await using (insert.ConfigureAwait(false))
            {
                insert.Transaction = tx;
                insert.CommandText = $$"""
                    INSERT INTO "Instances" ("SopInstanceUid", "SopClassUid", "StudyInstanceUid", "SeriesInstanceUid", "Modality",
                        "TransferSyntaxUid", "Path", "Size", "Sha256", "ReceivedAt", "Source", "CallingAe", "Version", "Client", "HasQueryAttributes",
                        {{AttributeColumns}})
                    VALUES (@sop, @cls, @study, @series, @modality, @ts, @path, @size, @sha, @at, @source, @ae, 1, @client, @hasattrs, {{AttributeParameters}})
                    RETURNING "Id"
                    """;
                var sop = Parameter(insert, "@sop", "");
                var cls = Parameter(insert, "@cls", "");
                var study = Parameter(insert, "@study", "");
                var series = Parameter(insert, "@series", "");
                var modality = Parameter(insert, "@modality", "");
                var ts = Parameter(insert, "@ts", "");
                var path = Parameter(insert, "@path", "");
                var size = Parameter(insert, "@size", 0L);
                var sha = Parameter(insert, "@sha", "");
                var at = Parameter(insert, "@at", DateTimeOffset.UnixEpoch);
                var source = Parameter(insert, "@source", "");
                var ae = Parameter(insert, "@ae", "");
                var client = Parameter(insert, "@client", "");
                var hasAttrs = Parameter(insert, "@hasattrs", false);
                var attrs = new System.Data.Common.DbParameter[IndexAttributes.ColumnNames.Length];
                for (int i = 0; i < attrs.Length; i++) attrs[i] = Parameter(insert, "@a" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), DBNull.Value);
                var pipeline = new PipelineCommands(db, tx);
                await using var pipelineScope = pipeline.ConfigureAwait(false);
                foreach (var p in batch)
                {
                    var e = p.Entry;
                    sop.Value = e.SopInstanceUid;
                    cls.Value = e.SopClassUid;
                    study.Value = e.StudyInstanceUid;
                    series.Value = e.SeriesInstanceUid;
                    modality.Value = (object?)e.Modality ?? DBNull.Value;
                    ts.Value = e.TransferSyntaxUid;
                    path.Value = e.Path;
                    size.Value = e.Size;
                    sha.Value = e.Sha256;
                    at.Value = e.ReceivedAt;
                    source.Value = e.Source;
                    ae.Value = (object?)e.CallingAe ?? DBNull.Value;
                    client.Value = (object?)e.Client ?? DBNull.Value;
                    hasAttrs.Value = e.Attributes is not null;
                    var values = e.Attributes?.Values();
                    for (int i = 0; i < attrs.Length; i++) attrs[i].Value = values?[i] ?? DBNull.Value;
                    var id = Convert.ToInt64(await insert.ExecuteScalarAsync().ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
                    await pipeline.AddAsync(e, id, 1, inserted: true, now).ConfigureAwait(false);
                }
            }
            await tx.CommitAsync().ConfigureAwait(false);
        }
        var results = new IndexCommitResult[batch.Count];
        Array.Fill(results, new IndexCommitResult(IndexCommitKind.Inserted));
        return results;
    }

    /// <summary>The series upsert and the outbox insert, prepared once per batch on the batch's transaction. Plain SQL that
    /// SQLite (3.24+) and PostgreSQL both run: <c>INSERT … ON CONFLICT … DO UPDATE</c> is atomic on both, so a concurrent
    /// sweeper claim (PostgreSQL: row lock) and this upsert serialize, and a claimed or analyzed series that gets a new
    /// instance is re-opened. A purged series (retention deleted its instances and set its count to 0) starts again from the
    /// new instance.</summary>
    private sealed class PipelineCommands : IAsyncDisposable
    {
        private readonly bool _sqlite;
        private readonly System.Data.Common.DbCommand _series, _outbox;
        private readonly System.Data.Common.DbParameter _sUid, _sStudy, _sModality, _sInc, _sNow, _oType, _oPayload, _oAt;

        public PipelineCommands(IndexDbContext db, System.Data.Common.DbTransaction tx)
        {
            _sqlite = db is SqliteIndexDbContext;
            var conn = db.Database.GetDbConnection();
            _series = conn.CreateCommand();
            _series.Transaction = tx;
            _series.CommandText = """
                INSERT INTO "Series" ("SeriesInstanceUid", "StudyInstanceUid", "Modality", "InstanceCount", "FirstInstanceAt", "LastInstanceAt", "State", "Version")
                VALUES (@uid, @study, @modality, @inc, @now, @now, 'open', 1)
                ON CONFLICT ("SeriesInstanceUid") DO UPDATE SET
                    "InstanceCount" = "Series"."InstanceCount" + @inc,
                    "FirstInstanceAt" = CASE WHEN "Series"."State" = 'purged' THEN @now ELSE "Series"."FirstInstanceAt" END,
                    "LastInstanceAt" = @now,
                    "Modality" = COALESCE("Series"."Modality", @modality),
                    "State" = 'open',
                    "Version" = "Series"."Version" + 1
                """;
            _sUid = Parameter(_series, "@uid", "");
            _sStudy = Parameter(_series, "@study", "");
            _sModality = Parameter(_series, "@modality", DBNull.Value);
            _sModality.DbType = System.Data.DbType.String;
            _sInc = Parameter(_series, "@inc", 0);
            _sNow = Parameter(_series, "@now", DBNull.Value);
            _outbox = conn.CreateCommand();
            _outbox.Transaction = tx;
            _outbox.CommandText = """INSERT INTO "Outbox" ("MessageType", "Payload", "CreatedAt", "Attempts") VALUES (@type, @payload, @at, 0)""";
            _oType = Parameter(_outbox, "@type", "");
            _oPayload = Parameter(_outbox, "@payload", "");
            _oAt = Parameter(_outbox, "@at", DBNull.Value);
        }

        public async Task AddAsync(IndexEntry e, long instanceId, int version, bool inserted, DateTimeOffset now)
        {
            var time = OutboxMessages.DbTime(now, _sqlite);
            _sUid.Value = e.SeriesInstanceUid;
            _sStudy.Value = e.StudyInstanceUid;
            _sModality.Value = (object?)e.Modality ?? DBNull.Value;
            _sInc.Value = inserted ? 1 : 0;
            _sNow.Value = time;
            await _series.ExecuteNonQueryAsync().ConfigureAwait(false);
            var (type, payload) = OutboxMessages.Serialize(new InstanceStored(instanceId, e.SopInstanceUid, e.SopClassUid, e.StudyInstanceUid,
                e.SeriesInstanceUid, e.Modality, e.Path, version, e.Source, e.ReceivedAt));
            _oType.Value = type;
            _oPayload.Value = payload;
            _oAt.Value = time;
            await _outbox.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            await _series.DisposeAsync().ConfigureAwait(false);
            await _outbox.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static readonly string AttributeColumns = string.Join(", ", IndexAttributes.ColumnNames.Select(c => $"\"{c}\""));
    private static readonly string AttributeParameters = string.Join(", ", IndexAttributes.ColumnNames.Select((_, i) => "@a" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static System.Data.Common.DbParameter Parameter(System.Data.Common.DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
        return p;
    }

    /// <summary>Stops taking entries and finishes the queued ones.</summary>
    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        if (_db is { } db) { _db = null; await db.DisposeAsync().ConfigureAwait(false); }
    }

    /// <summary>For a container disposed synchronously: same as <see cref="DisposeAsync"/>, bounded.</summary>
    public void Dispose()
    {
        _channel.Writer.TryComplete();
        if (_loop.Wait(TimeSpan.FromSeconds(30)) && _db is { } db) { _db = null; db.Dispose(); }
    }
}
