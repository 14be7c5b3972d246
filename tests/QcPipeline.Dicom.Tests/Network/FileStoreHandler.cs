using System.Collections.Concurrent;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>A C-STORE SCP handler that writes each instance as a Part 10 file while it arrives: preamble and File
/// Meta (built from the C-STORE-RQ and the presentation context, PS3.10 §7.1) first, then every data set fragment
/// as it comes, into a <c>.part</c> file that is flushed to disk and renamed to <c>{SOP Instance UID}.dcm</c> only by
/// <see cref="IInstanceSink.CompleteAsync"/>. A sink disposed without completion deletes its <c>.part</c> file, so an
/// aborted transfer leaves nothing behind. Nothing of an instance is held in memory beyond one fragment.</summary>
internal sealed class FileStoreHandler(string directory) : IStoreHandler
{
    private int _opened, _completed, _abandoned, _duplicates, _sequence;

    public string Directory { get; } = System.IO.Directory.CreateDirectory(directory).FullName;

    /// <summary>Every completed instance: its request and the final file.</summary>
    public ConcurrentQueue<(StoreRequest Request, string Path)> Stored { get; } = new();

    public int Opened => Volatile.Read(ref _opened);
    public int Completed => Volatile.Read(ref _completed);
    public int Abandoned => Volatile.Read(ref _abandoned);
    public int Duplicates => Volatile.Read(ref _duplicates);

    /// <summary>Store a SOP instance again under a numbered name instead of answering 0111 (duplicate); for replays.</summary>
    public bool KeepDuplicates { get; init; }

    /// <summary>Called by a sink before it completes; lets a test hold a completion (window tests).</summary>
    public Func<StoreRequest, CancellationToken, Task>? BeforeComplete { get; init; }

    /// <summary><c>.part</c> files still present (a leak if nothing is in flight).</summary>
    public string[] PartialFiles() => System.IO.Directory.GetFiles(Directory, "*.part");

    public string[] FinalFiles() => System.IO.Directory.GetFiles(Directory, "*.dcm");

    public ValueTask<IInstanceSink> OpenAsync(StoreRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _opened);
        var part = Path.Combine(Directory, $"{Guid.NewGuid():N}.part");
        var stream = new FileStream(part, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
        try
        {
            // Group 0002 from the command (SOP class and instance) and the context's transfer syntax; the calling AE
            // title is kept as Source Application Entity Title (0002,0016).
            var previous = new DicomDataset();
            previous.AddOrUpdate(new DicomTag(0x00020002), DicomVR.UI, request.SopClassUid);
            previous.AddOrUpdate(new DicomTag(0x00020003), DicomVR.UI, request.SopInstanceUid);
            previous.AddOrUpdate(new DicomTag(0x00020016), DicomVR.AE, request.Association.CallingAeTitle);
            var meta = DicomWriter.BuildFileMeta(previous, new DicomDataset(), TransferSyntax.Lookup(request.TransferSyntaxUid));
            var preamble = new byte[132];
            "DICM"u8.CopyTo(preamble.AsSpan(128));
            stream.Write(preamble);
            DicomWriter.WriteDataset(stream, meta, TransferSyntax.ExplicitVRLittleEndian, DicomWriteOptions.Default with { KeepGroupLengths = true });
        }
        catch
        {
            stream.Dispose();
            File.Delete(part);
            Interlocked.Increment(ref _abandoned);
            throw;
        }
        return ValueTask.FromResult<IInstanceSink>(new Sink(this, request, stream, part));
    }

    private sealed class Sink(FileStoreHandler owner, StoreRequest request, FileStream stream, string part) : IInstanceSink
    {
        private bool _done, _disposed;

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
            await stream.WriteAsync(data, cancellationToken);

        public async ValueTask<StoreOutcome> CompleteAsync(CancellationToken cancellationToken)
        {
            if (owner.BeforeComplete is { } hold) await hold(request, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            stream.Flush(flushToDisk: true);
            await stream.DisposeAsync();
            // The UID comes from the peer: never let it name a path outside the folder.
            var uid = request.SopInstanceUid.Length is > 0 and <= 64 && request.SopInstanceUid.All(c => c is '.' or (>= '0' and <= '9'))
                ? request.SopInstanceUid : "invalid-uid";
            var name = owner.KeepDuplicates || uid == "invalid-uid" ? $"{uid}-{Interlocked.Increment(ref owner._sequence)}" : uid;
            var final = Path.Combine(owner.Directory, name + ".dcm");
            try
            {
                File.Move(part, final, overwrite: false);
            }
            catch (IOException) when (File.Exists(final))
            {
                Interlocked.Increment(ref owner._duplicates);
                File.Delete(part);
                throw new StoreFailedException(0x0111, "duplicate SOP instance");
            }
            _done = true;
            Interlocked.Increment(ref owner._completed);
            owner.Stored.Enqueue((request, final));
            return StoreOutcome.Success;
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            await stream.DisposeAsync();
            if (!_done)
            {
                File.Delete(part);
                Interlocked.Increment(ref owner._abandoned);
            }
        }
    }
}
