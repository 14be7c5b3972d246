using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Storage;

/// <summary>Instances as objects in an S3-compatible store (AWSSDK.S3), keyed by <c>Prefix</c> + relative path. The ingest
/// path uploads the complete, checked file from its local spool (<see cref="PutAsync"/>): PutObject answers only once the
/// store has the object, and an object replaces an older one at once, so readers see the old or the new version, never a
/// part. Readers that need a file get a copy under <c>{DataPath}/cache/</c>, deleted after use.</summary>
public sealed class S3InstanceStore : IInstanceStore, IDisposable
{
    /// <summary>User metadata with the SHA-256 of the data set (as in the index row): the object's own witness of what it
    /// holds, so a resent instance is answered as a duplicate only when the stored object really is the same.</summary>
    internal const string Sha256Metadata = "qc-sha256";

    private const int CheckoutParallelism = 4;

    private readonly AmazonS3Client _client;
    private readonly S3StorageOptions _options;
    private readonly string _prefix;
    private readonly string _cache;
    private readonly ILogger<S3InstanceStore> _logger;

    public S3InstanceStore(IOptions<StorageOptions> options, StoragePaths paths, ILogger<S3InstanceStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(paths);
        _options = options.Value.S3;
        _prefix = _options.KeyPrefix;
        _cache = Path.Combine(paths.Root, "cache");
        _logger = logger;
        _client = new AmazonS3Client(new BasicAWSCredentials(_options.AccessKey, _options.SecretKey), CreateConfig(_options));
    }

    /// <summary>The client configuration. AWS SDK v4 adds CRC checksums to every upload by default (an aws-chunked body
    /// with trailing checksum headers), which many S3-compatible servers refuse: checksums only where an operation
    /// requires one. Integrity of an upload is checked by its Content-MD5 instead (<see cref="PutAsync"/>).</summary>
    internal static AmazonS3Config CreateConfig(S3StorageOptions o)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = o.ForcePathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            // A store that does not answer must fail the instance (A700) while the sender still waits, not after minutes.
            Timeout = TimeSpan.FromSeconds(60),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            MaxErrorRetry = 2,
        };
        if (string.IsNullOrEmpty(o.ServiceUrl))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(o.Region);
        }
        else
        {
            config.ServiceURL = o.ServiceUrl;
            config.AuthenticationRegion = o.Region;
        }
        return config;
    }

    public string Kind => "s3";

    public string Bucket => _options.Bucket!;

    internal string Key(string relativePath) => _prefix + relativePath;

    public async Task<bool> ExistsAsync(string relativePath, CancellationToken cancellationToken) =>
        await HeadAsync(relativePath, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>The stored object's data-set SHA-256 (empty when the object has none), or null when there is no object.</summary>
    internal async Task<string?> HeadAsync(string relativePath, CancellationToken ct)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = Key(relativePath) }, ct).ConfigureAwait(false);
            return head.Metadata[Sha256Metadata] ?? "";
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception ex) when (IsStoreFailure(ex, ct))
        {
            throw Failure("look-up", ex);
        }
    }

    /// <summary>Uploads the file at <paramref name="filePath"/> as the instance at <paramref name="relativePath"/>. Returns
    /// when the store has answered that it holds the object; a failure is an <see cref="InstanceStoreException"/>.</summary>
    internal async Task PutAsync(string relativePath, string filePath, string sha256, CancellationToken ct)
    {
        string md5;
        var fs = new FileStream(filePath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (fs.ConfigureAwait(false))
        {
            // Content-MD5 (RFC 1864) is the integrity check every S3-compatible server knows; it guards against damage in
            // transit, not against an adversary (the request is signed with SigV4), so MD5 is the right tool here.
#pragma warning disable CA5351
            md5 = Convert.ToBase64String(await MD5.HashDataAsync(fs, ct).ConfigureAwait(false));
#pragma warning restore CA5351
        }
        var request = new PutObjectRequest
        {
            BucketName = Bucket,
            Key = Key(relativePath),
            FilePath = filePath,
            ContentType = "application/dicom",
            // The store checks the body against this and refuses a damaged upload (BadDigest).
            MD5Digest = md5,
            // A plain signed body: aws-chunked streaming is not understood by every S3-compatible server.
            UseChunkEncoding = false,
        };
        request.Metadata[Sha256Metadata] = sha256;
        try
        {
            try
            {
                await _client.PutObjectAsync(request, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchBucket" && _options.CreateBucket)
            {
                // The store was unreachable when the service started (or the bucket was removed since): make it now, once.
                await EnsureBucketAsync(ct).ConfigureAwait(false);
                await _client.PutObjectAsync(request, ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsStoreFailure(ex, ct))
        {
            throw Failure("upload", ex);
        }
    }

    public async Task<InstanceStream> OpenReadAsync(string relativePath, CancellationToken cancellationToken)
    {
        GetObjectResponse response;
        try
        {
            response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = Key(relativePath) }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new FileNotFoundException("the instance is not in the object store", ex);
        }
        catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
        {
            throw Failure("read", ex);
        }
        return new InstanceStream(response.ResponseStream, response.ContentLength);
    }

    public async Task<InstanceCheckout> CheckoutAsync(IReadOnlyList<string> relativePaths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(relativePaths);
        var folder = Path.Combine(_cache, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var checkout = new InstanceCheckout(Place(relativePaths, folder), folder);
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, relativePaths.Count),
                new ParallelOptions { MaxDegreeOfParallelism = CheckoutParallelism, CancellationToken = cancellationToken },
                async (i, ct) => await DownloadAsync(relativePaths[i], checkout.Paths[i], ct).ConfigureAwait(false)).ConfigureAwait(false);
            return checkout;
        }
        catch
        {
            await checkout.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Local names keep the instance's file name (the worker reports unreadable files by name); a second instance
    /// of the same name (same SOP Instance UID under another series) goes into a sub-folder.</summary>
    private static string[] Place(IReadOnlyList<string> relativePaths, string folder)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var result = new string[relativePaths.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var name = Path.GetFileName(relativePaths[i]);
            if (string.IsNullOrEmpty(name) || name is "." or "..") name = "instance.dcm";
            result[i] = used.Add(name) ? Path.Combine(folder, name) : Path.Combine(folder, i.ToString(System.Globalization.CultureInfo.InvariantCulture), name);
        }
        return result;
    }

    private async Task DownloadAsync(string relativePath, string localPath, CancellationToken ct)
    {
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = Key(relativePath) }, ct).ConfigureAwait(false);
            Directory.CreateDirectory(Path.GetDirectoryName(localPath)!);
            var file = new FileStream(localPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
                await response.ResponseStream.CopyToAsync(file, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // Removed since the caller's query (retention, a replacement under another series): the caller sees a missing file.
        }
        catch (Exception ex) when (IsStoreFailure(ex, ct))
        {
            throw Failure("read", ex);
        }
    }

    public async Task DeleteAsync(string relativePath, CancellationToken cancellationToken)
    {
        try
        {
            // S3 answers 204 for a key that is not there: deleting twice is no error.
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = Key(relativePath) }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStoreFailure(ex, cancellationToken))
        {
            throw Failure("delete", ex);
        }
    }

    /// <summary>HeadBucket: the store answers and the bucket is there with our credentials.</summary>
    internal async Task CheckBucketAsync(CancellationToken ct)
    {
        try
        {
            await _client.HeadBucketAsync(new HeadBucketRequest { BucketName = Bucket }, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new InstanceStoreException("the bucket does not exist", ex);
        }
        catch (Exception ex) when (IsStoreFailure(ex, ct))
        {
            throw Failure("bucket check", ex);
        }
    }

    /// <summary>Creates the bucket when it does not exist (<c>Storage:S3:CreateBucket</c>).</summary>
    internal async Task EnsureBucketAsync(CancellationToken ct)
    {
        try
        {
            await _client.HeadBucketAsync(new HeadBucketRequest { BucketName = Bucket }, ct).ConfigureAwait(false);
            return;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // made below
        }
        catch (Exception ex) when (IsStoreFailure(ex, ct))
        {
            throw Failure("bucket check", ex);
        }
        try
        {
            await _client.PutBucketAsync(new PutBucketRequest { BucketName = Bucket }, ct).ConfigureAwait(false);
            _logger.LogInformation("Instance store: bucket {Bucket} created", Bucket);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
            // Another replica made it meanwhile.
        }
        catch (Exception ex) when (IsStoreFailure(ex, ct))
        {
            throw Failure("bucket creation", ex);
        }
    }

    /// <summary>Removes read copies older than an hour that a process which ended abruptly left behind.</summary>
    internal void SweepCache()
    {
        if (!Directory.Exists(_cache)) return;
        var limit = DateTime.UtcNow.AddHours(-1);
        foreach (var dir in Directory.EnumerateDirectories(_cache))
        {
            try
            {
                if (Directory.GetLastWriteTimeUtc(dir) < limit) Directory.Delete(dir, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _logger.LogDebug(ex, "Instance store: an old read copy could not be removed");
            }
        }
    }

    /// <summary>A failure of the store or the way to it (not the caller's cancellation).</summary>
    private static bool IsStoreFailure(Exception ex, CancellationToken ct) =>
        ex is AmazonServiceException or AmazonClientException or HttpRequestException or SocketException or IOException
        || (ex is OperationCanceledException && !ct.IsCancellationRequested); // the client's timeout

    private InstanceStoreException Failure(string operation, Exception ex)
    {
        // The key names UIDs: it stays out of the message and the warning (debug only).
        var detail = ex is AmazonServiceException s ? $"{(int)s.StatusCode} {s.ErrorCode}".Trim() : ex.GetType().Name;
        _logger.LogWarning("Instance store (S3): {Operation} failed ({Detail})", operation, detail);
        _logger.LogDebug(ex, "Instance store (S3) {Operation} failure", operation);
        return new InstanceStoreException($"object store {operation} failed ({detail})", ex);
    }

    public void Dispose() => _client.Dispose();
}
