using System.Diagnostics;
using System.Security.Cryptography;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;
using QcPipeline.Service.Index;
using QcPipeline.Service.Storage;

namespace QcPipeline.Service.Ingest;

/// <summary>One instance being received. Bytes go straight to <c>tmp/{guid}.part</c> (nothing is held in memory) and
/// through SHA-256; <see cref="CompleteAsync"/> checks the header, syncs, renames into <c>instances/</c> and commits the
/// index row. Disposing before a completion abandons it: the temp file is deleted and nothing becomes visible.</summary>
public sealed class IncomingInstance : IAsyncDisposable
{
    private readonly IngestService _service;
    private readonly IngestRequest _request;
    private readonly string _tempPath;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly long _started = Stopwatch.GetTimestamp();
    private FileStream? _file;
    private long _datasetBytes;
    private long _writebackFrom;
    private const long WritebackChunk = 256 * 1024;
    // Part 10 input: where the data set starts, read from File Meta Information Group Length as the bytes arrive, so the
    // data set is hashed while it streams (-1: not known yet; long.MaxValue: no usable group length, hash from the file).
    private long _written;
    private long _hashFrom = -1;
    private byte[]? _prefix;
    private const int Part10Prefix = 144; // preamble, "DICM", (0002,0000) UL 4
    private bool _completing;
    private bool _failed;
    // UIDs read from the data set, reported with a rejection too (STOW-RS lists each failed instance by its UIDs).
    private string? _sopClass, _sopInstance, _study, _series;

    private IncomingInstance(IngestService service, IngestRequest request, string tempPath, FileStream file)
    {
        _service = service;
        _request = request;
        _tempPath = tempPath;
        _file = file;
    }

    public IngestRequest Request => _request;

    /// <summary>Data set bytes received so far.</summary>
    public long DatasetBytes => _datasetBytes;

    internal static async Task<IncomingInstance> CreateAsync(IngestService service, IngestRequest request, CancellationToken ct)
    {
        var path = Path.Combine(service.Paths.Tmp, Guid.NewGuid().ToString("N") + ".part");
        // Synchronous file I/O: writes land in the page cache in microseconds, and the asynchronous FileStream on Linux
        // would hop through the thread pool for each one. tmp/ is made at start; it is made again if someone removed it.
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024);
        }
        catch (DirectoryNotFoundException)
        {
            Directory.CreateDirectory(service.Paths.Tmp);
            file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024);
        }
        try
        {
            if (!request.InputIsPart10) file.Write(BuildPart10Header(request));
            ct.ThrowIfCancellationRequested();
            return new IncomingInstance(service, request, path, file);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            IngestService.TryDelete(path);
            throw;
        }
    }

    /// <summary>Preamble, "DICM" and File Meta Information (PS3.10 §7.1) for a data set whose SOP class, instance and
    /// transfer syntax come from the command. The calling AE goes into Source Application Entity Title (0002,0016).</summary>
    internal static byte[] BuildPart10Header(IngestRequest request)
    {
        var previous = new DicomDataset();
        previous.AddOrUpdate(DicomTags.MediaStorageSOPClassUID, DicomVR.UI, request.ExpectedSopClassUid!);
        previous.AddOrUpdate(DicomTags.MediaStorageSOPInstanceUID, DicomVR.UI, request.ExpectedSopInstanceUid!);
        if (request.CallingAe is { Length: > 0 } ae && AeTitle.Validate(ae.Trim(' ')) is null)
            previous.AddOrUpdate(new DicomTag(0x00020016), DicomVR.AE, ae.Trim(' '));
        var meta = DicomWriter.BuildFileMeta(previous, new DicomDataset(), TransferSyntax.Lookup(request.TransferSyntaxUid));
        using var ms = new MemoryStream(512);
        ms.Write(new byte[128]);
        ms.Write("DICM"u8);
        DicomWriter.WriteDataset(ms, meta, TransferSyntax.ExplicitVRLittleEndian, DicomWriteOptions.Default with { KeepGroupLengths = true });
        return ms.ToArray();
    }

    /// <summary>Appends data set bytes (in the request's transfer syntax). Throws <see cref="IngestFailedException"/> when
    /// they cannot be written (full disk: A700); the instance is then abandoned.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var file = _file ?? throw new InvalidOperationException("the instance is complete or abandoned");
        try
        {
            if (!_request.InputIsPart10) _hash.AppendData(data.Span);
            else HashPart10(data.Span);
            cancellationToken.ThrowIfCancellationRequested();
            file.Write(data.Span);
            _datasetBytes += data.Length;
            if (_service.Fsync && file.Position - _writebackFrom >= WritebackChunk)
            {
                // Overlap the disk write with the rest of the transfer: the final fsync then waits for less.
                file.Flush(flushToDisk: false);
                FileSync.StartWriteback(file.SafeFileHandle, _writebackFrom, file.Position - _writebackFrom);
                _writebackFrom = file.Position;
            }
        }
        catch (IOException ex)
        {
            throw await FailAsync(ex).ConfigureAwait(false);
        }
    }

    private void HashPart10(ReadOnlySpan<byte> data)
    {
        long start = _written;
        _written += data.Length;
        if (_hashFrom < 0)
        {
            _prefix ??= new byte[Part10Prefix];
            int n = (int)Math.Min(Part10Prefix - start, data.Length);
            data[..n].CopyTo(_prefix.AsSpan((int)start));
            if (start + n < Part10Prefix) return;
            _hashFrom = MetaEnd(_prefix);
            _prefix = null;
        }
        if (_hashFrom == long.MaxValue || _written <= _hashFrom) return;
        _hash.AppendData(data[(int)Math.Max(0, _hashFrom - start)..]);
    }

    /// <summary>The offset of the data set after the File Meta Information (PS3.10 §7.1): 144 + the group length, when the
    /// meta starts with (0002,0000) UL of length 4 in explicit VR LE; else <see cref="long.MaxValue"/>.</summary>
    private static long MetaEnd(ReadOnlySpan<byte> p)
    {
        if (!p.Slice(128, 4).SequenceEqual("DICM"u8)) return long.MaxValue;
        if (!p.Slice(132, 8).SequenceEqual((ReadOnlySpan<byte>)[0x02, 0x00, 0x00, 0x00, (byte)'U', (byte)'L', 0x04, 0x00])) return long.MaxValue;
        uint length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(p.Slice(140, 4));
        return length > 1 << 20 ? long.MaxValue : Part10Prefix + (long)length;
    }

    private async Task<IngestFailedException> FailAsync(IOException ex)
    {
        var result = IngestResult.FromIo(ex);
        _failed = true;
        await AbandonAsync().ConfigureAwait(false);
        _service.RecordFailure(_request, result, ex);
        return new IngestFailedException(result, ex);
    }

    /// <summary>All bytes have arrived: check, make durable, index. Returns the result (a rejection is a result, not an exception).</summary>
    public async Task<IngestResult> CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_completing || _file is null) throw new InvalidOperationException("the instance is complete or abandoned");
        _completing = true;
        try
        {
            var result = await CompleteCoreAsync(cancellationToken).ConfigureAwait(false);
            _service.Record(_request, result, _started);
            return result;
        }
        catch (IOException ex)
        {
            await AbandonAsync().ConfigureAwait(false);
            // With the UIDs read so far: a STOW-RS response names the failed instance (FailedSOPSequence).
            var result = IngestResult.FromIo(ex) with
            {
                DatasetBytes = _datasetBytes, SopInstanceUid = _sopInstance, SopClassUid = _sopClass, StudyInstanceUid = _study, SeriesInstanceUid = _series,
            };
            _service.RecordFailure(_request, result, ex);
            return result;
        }
        finally
        {
            IngestService.TryDelete(_tempPath); // gone already after a rename; a rejected instance leaves nothing
        }
    }

    private async Task<IngestResult> CompleteCoreAsync(CancellationToken ct)
    {
        var file = _file!;
        ct.ThrowIfCancellationRequested();
        if (_request.InputIsPart10) ClearPreamble(file);
        file.Flush(flushToDisk: false);
        // The fsync waits on a dedicated thread (SyncThreads), never on a thread-pool thread.
        if (_service.Fsync) await _service.SyncThreads.RunAsync(() => RandomAccess.FlushToDisk(file.SafeFileHandle)).ConfigureAwait(false);
        long size = file.Length;
        await file.DisposeAsync().ConfigureAwait(false);
        _file = null;

        DicomFile header;
        try
        {
            header = DicomFile.Open(_tempPath, DicomReadOptions.HeaderOnly);
        }
        catch (Exception ex) when (ex is not IOException || ex is EndOfStreamException)
        {
            _service.Logger.LogDebug(ex, "Unparsable data set");
            return Reject(DicomStatus.CannotUnderstand, "data set cannot be parsed", IngestFailure.Unparsable);
        }
        using (header)
        {
            // A header-only read stops at Pixel Data: check that its declared length fits in what arrived, so a data set
            // cut short (last-fragment bit sent early) is refused rather than stored.
            var ds = header.Dataset;
            string? sopClass = Uid(ds, DicomTags.SOPClassUID), sopInstance = Uid(ds, DicomTags.SOPInstanceUID);
            string? study = Uid(ds, DicomTags.StudyInstanceUID), series = Uid(ds, DicomTags.SeriesInstanceUID);
            (_sopClass, _sopInstance, _study, _series) = (sopClass, sopInstance, study, series);
            if (PixelDataRunsPastEnd(_tempPath, header.PixelDataOffset, header.TransferSyntax, size))
                return Reject(DicomStatus.CannotUnderstand, "data set truncated: Pixel Data (7FE0,0010) runs past its end", IngestFailure.Unparsable);
            if (_request.InputIsPart10)
            {
                _datasetBytes = size - header.DatasetOffset;
                if (CheckPart10(header, sopClass, sopInstance) is { } refused) return refused;
            }
            // PS3.4 §B.2.3: A900 when the data set does not match the SOP class of the command; the instance UID of the
            // command must name the data set we store, else we do not understand the request (C000).
            if (_request.ExpectedSopClassUid is { } cls && !string.Equals(Trim(cls), sopClass, StringComparison.Ordinal))
                return Reject(DicomStatus.DataSetDoesNotMatchSopClass, "SOP Class UID (0008,0016) differs from the command", IngestFailure.Mismatch);
            if (_request.ExpectedSopInstanceUid is { } inst && !string.Equals(Trim(inst), sopInstance, StringComparison.Ordinal))
                return Reject(DicomStatus.CannotUnderstand, "SOP Instance UID (0008,0018) differs from the command", IngestFailure.Mismatch);
            if (!UidRules.IsValid(sopInstance)) return Reject(DicomStatus.InvalidSopInstance, "invalid SOP Instance UID (0008,0018)", IngestFailure.InvalidUid);
            if (!UidRules.IsValid(study)) return Reject(DicomStatus.InvalidSopInstance, "invalid Study Instance UID (0020,000D)", IngestFailure.InvalidUid);
            if (!UidRules.IsValid(series)) return Reject(DicomStatus.InvalidSopInstance, "invalid Series Instance UID (0020,000E)", IngestFailure.InvalidUid);
            if (string.IsNullOrEmpty(sopClass)) return Reject(DicomStatus.DataSetDoesNotMatchSopClass, "SOP Class UID (0008,0016) missing", IngestFailure.Mismatch);
            if (_request.ExpectedStudyInstanceUid is { } expectedStudy && !string.Equals(Trim(expectedStudy), study, StringComparison.Ordinal))
                return Reject(IngestStatus.StudyInstanceUidMismatch, "Study Instance UID (0020,000D) differs from the study of the request", IngestFailure.Mismatch);

            // A Part 10 data set was hashed as it arrived when its group length told where it starts; otherwise (no or a
            // wrong group length, which the reader tolerates) it is hashed from the file.
            string sha = !_request.InputIsPart10 || _hashFrom == header.DatasetOffset ? Convert.ToHexStringLower(_hash.GetHashAndReset())
                : await HashFromAsync(_tempPath, header.DatasetOffset, ct).ConfigureAwait(false);
            var entry = new IndexEntry(sopInstance!, sopClass, study!, series!, ds.GetString(DicomTags.Modality)?.Trim(),
                _request.InputIsPart10 ? header.TransferSyntax.Uid : _request.TransferSyntaxUid,
                StoragePaths.RelativeInstancePath(study!, series!, sopInstance!), size, sha,
                _service.Time.GetUtcNow(), _request.Source == IngestSource.Stow ? "stow" : "dimse", _request.CallingAe?.Trim(' '),
                // QIDO-RS query values (decoded with the data set's character set) and the HTTP sender's identity.
                IndexAttributes.From(ds), _request.Client);
            return await PlaceAsync(entry, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Under the UID's lock: duplicate check, atomic rename into place, directory fsync, index commit.</summary>
    private async Task<IngestResult> PlaceAsync(IndexEntry e, CancellationToken ct)
    {
        if (_service.ObjectStore is { } objects) return await PlaceInObjectStoreAsync(objects, e, ct).ConfigureAwait(false);
        var gate = _service.LockFor(e.SopInstanceUid);
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var final = _service.Paths.FullPath(e.Path);
            // Only a file already at the final path can be a duplicate: a new instance (the common case) skips the lookup.
            // A row at another path (same UID, other study/series) is found by the commit, which reports the replacement.
            var existing = File.Exists(final) ? await _service.FindAsync(e.SopInstanceUid, CancellationToken.None).ConfigureAwait(false) : null;
            // The row is not the only witness: after a replacement whose commit failed, the file can hold other content
            // than its row says. A duplicate is answered from the file's own bytes, never from the row alone.
            if (existing is not null && existing.Sha256 == e.Sha256 && existing.Path == e.Path && await FileHoldsAsync(final, e.Sha256, ct).ConfigureAwait(false))
                return Done(IngestOutcome.Duplicate, e);

            var dir = Path.GetDirectoryName(final)!;
            for (int attempt = 1; ; attempt++)
            {
                _service.CreateDirectoryDurably(dir);
                try
                {
                    // rename(2) over an older version is atomic: a reader sees the old or the new file, never a mix.
                    File.Move(_tempPath, final, overwrite: true);
                    break;
                }
                catch (DirectoryNotFoundException) when (attempt < 3 && File.Exists(_tempPath))
                {
                    // Retention removed the series (or study) folder it had just emptied between our check and the rename:
                    // make it again.
                }
            }
            if (_service.Fsync) await _service.DirectorySync.SyncAsync(dir).ConfigureAwait(false);

            IndexCommitResult commit;
            try
            {
                commit = await _service.Writer.CommitAsync(e, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not IOException)
            {
                // Not indexed: a new file must not stay visible. (A replaced one stays; start-up reconciliation re-indexes it.)
                if (existing is null) IngestService.TryDelete(final);
                _service.Logger.LogError("Index commit failed ({ExceptionType}); the instance is refused", ex.GetType().Name);
                _service.Logger.LogDebug(ex, "Index commit failure detail");
                return Reject(DicomStatus.OutOfResources, "index failure", IngestFailure.Other);
            }
            if (commit is { Kind: IndexCommitKind.Updated, PreviousPath: { } old } && old != e.Path) IngestService.TryDelete(_service.Paths.FullPath(old));
            return Committed(commit.Kind, e);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The outcome of an index commit: a replaced instance, a duplicate, or a new one.</summary>
    private IngestResult Committed(IndexCommitKind kind, IndexEntry e) => Done(kind switch
    {
        IndexCommitKind.Updated => IngestOutcome.Replaced,
        IndexCommitKind.Unchanged => IngestOutcome.Duplicate,
        _ => IngestOutcome.Stored,
    }, e);

    /// <summary>The same steps against the object store, under the UID's lock: duplicate check (the object's own SHA-256
    /// metadata, as the local path checks the file's bytes), upload (PutObject returns only when the store holds the whole
    /// object, and replaces an older version at once), index commit. A store that fails or cannot be reached throws
    /// <see cref="InstanceStoreException"/> (an <see cref="IOException"/>): the instance is refused with A700 and nothing
    /// is indexed.</summary>
    private async Task<IngestResult> PlaceInObjectStoreAsync(S3InstanceStore store, IndexEntry e, CancellationToken ct)
    {
        var gate = _service.LockFor(e.SopInstanceUid);
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var storedSha = await store.HeadAsync(e.Path, ct).ConfigureAwait(false);
            var existing = storedSha is not null ? await _service.FindAsync(e.SopInstanceUid, CancellationToken.None).ConfigureAwait(false) : null;
            if (existing is not null && existing.Sha256 == e.Sha256 && existing.Path == e.Path && storedSha == e.Sha256)
                return Done(IngestOutcome.Duplicate, e);

            await store.PutAsync(e.Path, _tempPath, e.Sha256, ct).ConfigureAwait(false);

            IndexCommitResult commit;
            try
            {
                commit = await _service.Writer.CommitAsync(e, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not IOException)
            {
                // Not indexed: a new object must not stay. (A replaced one stays: its next copy is not taken for a duplicate,
                // as its SHA-256 metadata differs from the row.)
                if (storedSha is null) await TryDeleteObjectAsync(store, e.Path).ConfigureAwait(false);
                _service.Logger.LogError("Index commit failed ({ExceptionType}); the instance is refused", ex.GetType().Name);
                _service.Logger.LogDebug(ex, "Index commit failure detail");
                return Reject(DicomStatus.OutOfResources, "index failure", IngestFailure.Other);
            }
            if (commit is { Kind: IndexCommitKind.Updated, PreviousPath: { } old } && old != e.Path) await TryDeleteObjectAsync(store, old).ConfigureAwait(false);
            return Committed(commit.Kind, e);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task TryDeleteObjectAsync(S3InstanceStore store, string relativePath)
    {
        try
        {
            await store.DeleteAsync(relativePath, CancellationToken.None).ConfigureAwait(false);
        }
        catch (InstanceStoreException)
        {
            _service.Logger.LogWarning("An object that is no longer indexed could not be deleted from the instance store; it stays unreferenced");
        }
    }

    private IngestResult Done(IngestOutcome outcome, IndexEntry e) =>
        new(outcome, DicomStatus.Success)
        {
            SopInstanceUid = e.SopInstanceUid, SopClassUid = e.SopClassUid, StudyInstanceUid = e.StudyInstanceUid, SeriesInstanceUid = e.SeriesInstanceUid,
            RelativePath = e.Path, DatasetBytes = _datasetBytes,
        };

    private IngestResult Reject(ushort status, string reason, string failure) =>
        IngestResult.Rejected(status, reason, failure) with
        {
            DatasetBytes = _datasetBytes, SopInstanceUid = _sopInstance, SopClassUid = _sopClass, StudyInstanceUid = _study, SeriesInstanceUid = _series,
        };

    /// <summary>Checks of a whole PS3.10 file (STOW-RS parts: PS3.18 §10.5.1.4, one PS3.10 instance per part):
    /// preamble and File Meta Information present (PS3.10 §7.1), a transfer syntax we accept (C122, as the DIMSE listener
    /// would not negotiate it), the same as a declared transfer-syntax parameter, a storage SOP class (0122, the classes
    /// the DIMSE listener accepts), and Media Storage SOP Class/Instance UID (0002,0002)/(0002,0003) present and equal to
    /// (0008,0016)/(0008,0018) (A900).</summary>
    private IngestResult? CheckPart10(DicomFile header, string? sopClass, string? sopInstance)
    {
        if (!header.HadPreamble || !header.HadFileMeta)
            return Reject(DicomStatus.CannotUnderstand, "not a PS3.10 file: no preamble, \"DICM\" prefix or File Meta Information", IngestFailure.Unparsable);
        var meta = header.FileMetaInformation;
        var ts = Uid(meta, DicomTags.TransferSyntaxUID);
        if (string.IsNullOrEmpty(ts))
            return Reject(DicomStatus.CannotUnderstand, "Transfer Syntax UID (0002,0010) missing from the File Meta Information", IngestFailure.Unparsable);
        if (!TransferSyntax.TryLookupKnown(ts, out _) || (_request.AcceptedTransferSyntaxes is { } accepted && !accepted.Contains(ts)))
            return Reject(IngestStatus.TransferSyntaxNotSupported, "transfer syntax not accepted", IngestFailure.Other);
        if (_request.TransferSyntaxUid is { Length: > 0 } declared && !string.Equals(Trim(declared), ts, StringComparison.Ordinal))
            return Reject(DicomStatus.CannotUnderstand, "Transfer Syntax UID (0002,0010) differs from the declared transfer syntax", IngestFailure.Mismatch);
        string? metaClass = Uid(meta, DicomTags.MediaStorageSOPClassUID), metaInstance = Uid(meta, DicomTags.MediaStorageSOPInstanceUID);
        // A data set without its own UIDs (a DICOMDIR) is reported by the ones its File Meta Information gives.
        _sopClass ??= metaClass;
        _sopInstance ??= metaInstance;
        if (string.IsNullOrEmpty(metaClass) || string.IsNullOrEmpty(metaInstance))
            return Reject(DicomStatus.DataSetDoesNotMatchSopClass, "Media Storage SOP Class/Instance UID (0002,0002)/(0002,0003) missing", IngestFailure.Mismatch);
        if (!DicomUids.IsStorageSopClass(metaClass))
            return Reject(DicomStatus.SopClassNotSupported, "not a storage SOP class", IngestFailure.Other);
        if (!string.Equals(metaClass, sopClass, StringComparison.Ordinal))
            return Reject(DicomStatus.DataSetDoesNotMatchSopClass, "Media Storage SOP Class UID (0002,0002) differs from SOP Class UID (0008,0016)", IngestFailure.Mismatch);
        if (!string.Equals(metaInstance, sopInstance, StringComparison.Ordinal))
            return Reject(DicomStatus.DataSetDoesNotMatchSopClass, "Media Storage SOP Instance UID (0002,0003) differs from SOP Instance UID (0008,0018)", IngestFailure.Mismatch);
        return null;
    }

    /// <summary>Zeroes the 128-byte preamble of a Part 10 input before it is made durable. PS3.10 §7.1 leaves the preamble
    /// to applications; a sender's preamble can make the file also a valid executable or TIFF (a known way to smuggle
    /// malware in a DICOM file), and nothing here reads it. The data set and File Meta Information are kept byte for byte.</summary>
    private static void ClearPreamble(FileStream file)
    {
        if (file.Length < 132) return;
        Span<byte> dicm = stackalloc byte[4];
        file.Position = 128;
        if (file.Read(dicm) != 4 || !dicm.SequenceEqual("DICM"u8)) { file.Position = file.Length; return; }
        file.Position = 0;
        file.Write(new byte[128]);
        file.Position = file.Length;
    }

    private static string Trim(string uid) => uid.TrimEnd('\0', ' ');

    private static string? Uid(DicomDataset ds, DicomTag tag) => ds.GetString(tag) is { } s ? Trim(s) : null;

    /// <summary>True when the Pixel Data element at <paramref name="offset"/> declares more bytes than the file holds.
    /// Encapsulated pixel data (undefined length) is not judged here; its fragments are checked when frames are read.</summary>
    internal static bool PixelDataRunsPastEnd(string path, long offset, TransferSyntax ts, long fileSize)
    {
        if (offset < 0 || ts.IsDeflated) return false;
        int headerLength = ts.IsExplicitVR ? 12 : 8; // OB/OW in explicit VR: tag, VR, 2 reserved bytes, 32-bit length
        Span<byte> h = stackalloc byte[12];
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (RandomAccess.Read(handle, h[..headerLength], offset) < headerLength) return true;
        var lengthBytes = h.Slice(headerLength - 4, 4);
        uint length = ts.IsLittleEndian
            ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes)
            : System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(lengthBytes);
        return length != 0xFFFFFFFF && offset + headerLength + length > fileSize;
    }

    /// <summary>Whether the stored Part 10 file's data set has the SHA-256 <paramref name="sha256"/>.</summary>
    private static async Task<bool> FileHoldsAsync(string path, string sha256, CancellationToken ct)
    {
        try
        {
            long offset;
            using (var stored = DicomFile.Open(path, DicomReadOptions.HeaderOnly)) offset = stored.DatasetOffset;
            return string.Equals(await HashFromAsync(path, offset, ct).ConfigureAwait(false), sha256, StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or DicomFormatException or UnauthorizedAccessException)
        {
            return false; // unreadable or gone: not a duplicate, store the new one
        }
    }

    /// <summary>SHA-256 of a file's bytes from <paramref name="offset"/> on (the data set of a Part 10 file).</summary>
    internal static async Task<string> HashFromAsync(string path, long offset, CancellationToken ct)
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (fs.ConfigureAwait(false))
        {
            fs.Position = offset;
            var hash = await SHA256.HashDataAsync(fs, ct).ConfigureAwait(false);
            return Convert.ToHexStringLower(hash);
        }
    }

    private async ValueTask AbandonAsync()
    {
        if (_file is { } f)
        {
            _file = null;
            try { await f.DisposeAsync().ConfigureAwait(false); }
            catch (IOException) { /* flushing buffered bytes to a full disk: the file is deleted anyway */ }
        }
        IngestService.TryDelete(_tempPath);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_completing && !_failed) _service.Logger.LogDebug("Instance abandoned before completion");
        await AbandonAsync().ConfigureAwait(false);
        _hash.Dispose();
    }
}
