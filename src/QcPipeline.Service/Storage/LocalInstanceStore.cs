using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Storage;

/// <summary>Instances as files under <c>{DataPath}/instances/</c> (the default). Readers get the stored files themselves, so
/// reading costs what it cost before the store was an abstraction; the ingest path renames into this folder itself
/// (<see cref="IncomingInstance"/>), with its directory fsyncs.</summary>
public sealed class LocalInstanceStore(StoragePaths paths) : IInstanceStore
{
    private const int CopyBuffer = 64 * 1024;

    public string Kind => "local";

    public Task<bool> ExistsAsync(string relativePath, CancellationToken cancellationToken) => Task.FromResult(File.Exists(paths.FullPath(relativePath)));

    public Task<InstanceStream> OpenReadAsync(string relativePath, CancellationToken cancellationToken)
    {
        // FileShare.Delete: retention or a replacement may remove or replace the file while it is being sent.
        var fs = new FileStream(paths.FullPath(relativePath), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, CopyBuffer,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        return Task.FromResult(new InstanceStream(fs, fs.Length));
    }

    public Task<InstanceCheckout> CheckoutAsync(IReadOnlyList<string> relativePaths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(relativePaths);
        return Task.FromResult(new InstanceCheckout(relativePaths.Select(paths.FullPath).ToArray(), copyFolder: null));
    }

    public Task DeleteAsync(string relativePath, CancellationToken cancellationToken)
    {
        try
        {
            File.Delete(paths.FullPath(relativePath));
        }
        catch (DirectoryNotFoundException)
        {
            // Its folder is gone too: nothing left to delete.
        }
        return Task.CompletedTask;
    }
}
