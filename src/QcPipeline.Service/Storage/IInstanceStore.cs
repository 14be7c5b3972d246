namespace QcPipeline.Service.Storage;

/// <summary>Where complete instances are kept, by their relative path (<c>instances/{Study}/{Series}/{SOP}.dcm</c>, as the
/// index stores it). Readers (worker, WADO-RS, overlays, reports) and retention go through this; the ingest path writes
/// through it too (<see cref="LocalInstanceStore"/>: rename into the folder; <see cref="S3InstanceStore"/>: upload).
/// Failures of the store itself (unreachable, refused) are <see cref="IOException"/>s, so that every caller's existing
/// handling of a failed disk applies (ingest: out of resources, A700; WADO-RS: 500).</summary>
public interface IInstanceStore
{
    /// <summary>"local" or "s3" (logs, health).</summary>
    string Kind { get; }

    /// <summary>Whether an instance is stored at <paramref name="relativePath"/>.</summary>
    Task<bool> ExistsAsync(string relativePath, CancellationToken cancellationToken);

    /// <summary>The stored bytes, streamed, with their length. <see cref="FileNotFoundException"/> when there is none.</summary>
    Task<InstanceStream> OpenReadAsync(string relativePath, CancellationToken cancellationToken);

    /// <summary>Local files for code that reads by path (the DICOM reader, random access to frames): the local store's own
    /// files, or copies of the objects made for the caller and deleted when the checkout is disposed. A path whose instance
    /// is missing names a file that does not exist, so the caller's handling of a missing file applies.</summary>
    Task<InstanceCheckout> CheckoutAsync(IReadOnlyList<string> relativePaths, CancellationToken cancellationToken);

    /// <summary>Deletes the instance; no error when it is already gone.</summary>
    Task DeleteAsync(string relativePath, CancellationToken cancellationToken);
}

/// <summary>A stored instance being read: dispose it when done.</summary>
public sealed class InstanceStream(Stream stream, long length) : IAsyncDisposable
{
    public Stream Stream { get; } = stream;
    public long Length { get; } = length;

    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}

/// <summary>Local paths for a list of stored instances, in the order asked. Disposing deletes the copies, if any.</summary>
public sealed class InstanceCheckout(IReadOnlyList<string> paths, string? copyFolder) : IAsyncDisposable
{
    public IReadOnlyList<string> Paths { get; } = paths;

    public ValueTask DisposeAsync()
    {
        if (copyFolder is not null)
        {
            try { Directory.Delete(copyFolder, recursive: true); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { /* swept at the next start */ }
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>The object store could not be reached or refused a request. An <see cref="IOException"/>: for the caller
/// it is a storage failure like a failing disk.</summary>
public sealed class InstanceStoreException(string message, Exception? inner = null) : IOException(message, inner);
