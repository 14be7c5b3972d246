using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Index;
using QcPipeline.Service.Metrics;
using QcPipeline.Service.Storage;

namespace QcPipeline.Service.Ingest;

/// <summary>The one ingest path, shared by C-STORE and (later) STOW-RS: stream to a temp file, check, make durable, index.
/// <see cref="BeginAsync"/> returns an <see cref="IncomingInstance"/>; its <see cref="IncomingInstance.CompleteAsync"/>
/// answers success only when the file is on durable storage and its index row is committed (DESIGN.md, Ingest).</summary>
public sealed class IngestService : IDisposable
{
    // Same SOP Instance UID at once from two associations: the duplicate check, rename and commit of one run after the
    // other. Striped by UID so unrelated instances rarely wait on each other.
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, 256).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    public IngestService(StoragePaths paths, IOptions<StorageOptions> options, IndexWriter writer, IDbContextFactory<IndexDbContext> db,
        QcMetrics metrics, TimeProvider time, ILogger<IngestService> logger, IInstanceStore? store = null)
    {
        Paths = paths;
        // With the object store the spool file is not the durable copy (the upload is): no fsync of it.
        ObjectStore = store as S3InstanceStore;
        Fsync = options.Value.Fsync && ObjectStore is null;
        Writer = writer;
        Db = db;
        Metrics = metrics;
        Time = time;
        Logger = logger;
        SyncThreads = new SyncThreads(SyncThreadCount);
        DirectorySync = new DirectorySyncGroup(FileSync.SyncDirectory, SyncThreads.RunAsync);
    }

    /// <summary>Blocking fsyncs at once: enough for every STOW-RS completion window and C-STORE association of a busy
    /// receiver to have its own, so the file system sees them together and merges their journal commits.</summary>
    private const int SyncThreadCount = 32;

    /// <summary>Dedicated threads for the blocking fsyncs (file and directory), off the thread pool.</summary>
    internal SyncThreads SyncThreads { get; }

    public void Dispose() => SyncThreads.Dispose();

    internal StoragePaths Paths { get; }
    /// <summary>The S3 store when <c>Storage:Backend</c> is S3: complete instances are uploaded there instead of renamed
    /// into <c>instances/</c>. Null for the local folder.</summary>
    internal S3InstanceStore? ObjectStore { get; }
    internal bool Fsync { get; }
    internal IndexWriter Writer { get; }
    internal IDbContextFactory<IndexDbContext> Db { get; }
    internal QcMetrics Metrics { get; }
    internal TimeProvider Time { get; }
    internal ILogger Logger { get; }

    /// <summary>Starts receiving one instance: creates its temp file (with the File Meta Information when the input is a bare data set).
    /// An I/O failure here is an <see cref="IngestFailedException"/>.</summary>
    public async Task<IncomingInstance> BeginAsync(IngestRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.InputIsPart10 && (request.ExpectedSopClassUid is null || request.ExpectedSopInstanceUid is null))
            throw new ArgumentException("a bare data set needs the SOP class and instance UIDs for its File Meta Information", nameof(request));
        try
        {
            return await IncomingInstance.CreateAsync(this, request, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            var result = IngestResult.FromIo(ex);
            RecordFailure(request, result, ex);
            throw new IngestFailedException(result, ex);
        }
    }

    /// <summary>The index row of a SOP Instance UID, or null.</summary>
    public async Task<InstanceRecord?> FindAsync(string sopInstanceUid, CancellationToken cancellationToken = default)
    {
        var db = await Db.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            return await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.SopInstanceUid == sopInstanceUid, cancellationToken).ConfigureAwait(false);
        }
    }

    private readonly Lock _directoryLock = new();

    /// <summary>Directory fsyncs after renames, grouped across concurrent instances of one folder.</summary>
    internal DirectorySyncGroup DirectorySync { get; }

    /// <summary>Creates a study/series folder durably. One at a time: a second caller must not see the folder (and skip
    /// its own sync) before the first has synced the parent that holds its entry.</summary>
    internal void CreateDirectoryDurably(string dir)
    {
        lock (_directoryLock) FileSync.CreateDirectoryDurably(Paths.Instances, dir, Fsync);
    }

    internal SemaphoreSlim LockFor(string sopInstanceUid) => _locks[StripeOf(sopInstanceUid)];

    private int StripeOf(string sopInstanceUid) => (int)((uint)StringComparer.Ordinal.GetHashCode(sopInstanceUid) % (uint)_locks.Length);

    /// <summary>A set of the per-UID locks held by retention while it deletes instances, so that a replacement of one of them
    /// (same path) in this process cannot be renamed into place between the file's deletion and its row's. Disposing
    /// releases them all.</summary>
    internal InstanceLockSet CreateLockSet() => new(this);

    internal sealed class InstanceLockSet(IngestService service) : IDisposable
    {
        private readonly HashSet<int> _held = [];

        /// <summary>Takes the locks of <paramref name="sopInstanceUids"/> not held yet, without waiting: false (and none of
        /// them newly taken) when one is busy. Never waits, because an ingest holding its UID's lock may be waiting for the
        /// database lock that the caller holds.</summary>
        public bool TryAdd(IEnumerable<string> sopInstanceUids)
        {
            var taken = new List<int>();
            foreach (var stripe in sopInstanceUids.Select(service.StripeOf).Distinct())
            {
                if (_held.Contains(stripe)) continue;
                if (!service._locks[stripe].Wait(0))
                {
                    foreach (var t in taken) { service._locks[t].Release(); _held.Remove(t); }
                    return false;
                }
                taken.Add(stripe);
                _held.Add(stripe);
            }
            return true;
        }

        public void Dispose()
        {
            foreach (var stripe in _held) service._locks[stripe].Release();
            _held.Clear();
        }
    }

    internal void Record(IngestRequest request, IngestResult result, long elapsedTicks)
    {
        var label = result.Outcome switch
        {
            IngestOutcome.Stored => "stored",
            IngestOutcome.Duplicate => "duplicate",
            IngestOutcome.Replaced => "replaced",
            _ => "rejected",
        };
        Metrics.IngestTotal.WithLabels(label).Inc();
        if (result.Outcome == IngestOutcome.Rejected)
        {
            Metrics.IngestFailuresTotal.WithLabels(result.FailureReason is { } reason && QcMetrics.FailureReasons.Contains(reason) ? reason : IngestFailure.Other).Inc();
            Logger.LogWarning("Ingest rejected an instance from {CallingAe} ({Source}): {Reason}, status 0x{Status:X4}",
                request.CallingAe, request.Source, result.Reason, result.DicomStatus);
        }
        else if (result.Outcome == IngestOutcome.Replaced)
        {
            Logger.LogInformation("Instance from {CallingAe} ({Source}) replaced an earlier version with different content", request.CallingAe, request.Source);
        }
        if (Logger.IsEnabled(LogLevel.Debug))
        {
            Logger.LogDebug("Ingest {Outcome} SOP Instance {SopInstanceUid} at {Path}: {Bytes} data set bytes in {ElapsedMs:F1} ms",
                result.Outcome, result.SopInstanceUid, result.RelativePath, result.DatasetBytes, Stopwatch.GetElapsedTime(elapsedTicks).TotalMilliseconds);
        }
    }

    internal void RecordFailure(IngestRequest request, IngestResult result, Exception ex)
    {
        Metrics.IngestTotal.WithLabels("rejected").Inc();
        Metrics.IngestFailuresTotal.WithLabels(result.FailureReason is { } reason && QcMetrics.FailureReasons.Contains(reason) ? reason : IngestFailure.Other).Inc();
        // The exception message names files by UID: keep it out of the info/warning line (UIDs only at debug).
        Logger.LogError("Ingest failed for an instance from {CallingAe} ({Source}): {Reason} ({ExceptionType}); answered 0x{Status:X4}",
            request.CallingAe, request.Source, result.Reason, ex.GetType().Name, result.DicomStatus);
        Logger.LogDebug(ex, "Ingest failure detail");
    }

    /// <summary>ENOSPC (28) or EDQUOT (122): the disk or the quota is full.</summary>
    public static bool IsDiskFull(IOException ex) =>
        (ex.HResult & 0xFFFF) is 28 or 122 || ex.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
        || ex.Message.Contains("quota", StringComparison.OrdinalIgnoreCase);

    internal static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
