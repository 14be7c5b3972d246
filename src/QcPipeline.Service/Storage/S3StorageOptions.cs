using System.Text.RegularExpressions;

namespace QcPipeline.Service.Storage;

/// <summary>The values of <c>Storage:Backend</c>.</summary>
public static class StorageBackends
{
    public const string Local = "Local";
    public const string S3 = "S3";
}

/// <summary>An S3-compatible object store for the instances (configuration section <c>Storage:S3</c>, used when
/// <c>Storage:Backend</c> is <c>S3</c>). Object keys are <see cref="Prefix"/> + the instance's relative path
/// (<c>instances/{Study}/{Series}/{SOP}.dcm</c>), the same path the index stores.</summary>
public sealed partial record S3StorageOptions
{
    public const string Section = "Storage:S3";

    /// <summary>Endpoint of the store, e.g. <c>http://minio:9000</c>. Empty: the AWS endpoint of <see cref="Region"/>.</summary>
    public string? ServiceUrl { get; init; }

    public string? Bucket { get; init; }

    /// <summary>Region the requests are signed for (SigV4). S3-compatible servers mostly accept any; AWS needs the bucket's.</summary>
    public string Region { get; init; } = "us-east-1";

    public string? AccessKey { get; init; }

    public string? SecretKey { get; init; }

    /// <summary>Path-style addressing (<c>{ServiceUrl}/{Bucket}/{key}</c>) rather than a host name per bucket: what most
    /// S3-compatible servers (MinIO, Ceph RGW, s3rver) expect.</summary>
    public bool ForcePathStyle { get; init; } = true;

    /// <summary>Prepended to every object key, so that several services (or environments) can share a bucket. A trailing
    /// "/" is added when missing.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Create <see cref="Bucket"/> at start when it does not exist (throwaway and test stores; production buckets
    /// are made by whoever owns the store, with their lifecycle and access rules).</summary>
    public bool CreateBucket { get; init; }

    /// <summary>The prefix as used in keys: empty or ending in "/".</summary>
    public string KeyPrefix => Prefix.Length == 0 || Prefix.EndsWith('/') ? Prefix : Prefix + "/";

    /// <summary>The first problem with <paramref name="o"/>, naming its key, or null.</summary>
    public static string? Validate(S3StorageOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (!string.IsNullOrEmpty(o.ServiceUrl)
            && (!Uri.TryCreate(o.ServiceUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.Query)))
            return $"{Section}:ServiceUrl must be an absolute http:// or https:// URL";
        if (string.IsNullOrWhiteSpace(o.Bucket)) return $"{Section}:Bucket is required when Storage:Backend is S3";
        if (!BucketName().IsMatch(o.Bucket) || o.Bucket.Contains("..", StringComparison.Ordinal))
            return $"{Section}:Bucket is not a valid bucket name (3-63 characters: lower-case letters, digits, '.', '-')";
        if (string.IsNullOrWhiteSpace(o.Region) || !RegionName().IsMatch(o.Region)) return $"{Section}:Region is not a region name (e.g. us-east-1)";
        if (string.IsNullOrEmpty(o.AccessKey)) return $"{Section}:AccessKey is required when Storage:Backend is S3";
        if (string.IsNullOrEmpty(o.SecretKey)) return $"{Section}:SecretKey is required when Storage:Backend is S3";
        if (o.Prefix is null || o.Prefix.StartsWith('/') || o.Prefix.Contains('\\', StringComparison.Ordinal)
            || o.Prefix.Split('/').Any(s => s is "." or "..") || o.Prefix.Any(char.IsControl) || o.Prefix.Length > 512)
            return $"{Section}:Prefix must be a relative key prefix (no leading '/', no '.' or '..' segments, no '\\')";
        return null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();

    [GeneratedRegex("^[a-z0-9-]{2,32}$")]
    private static partial Regex RegionName();
}
