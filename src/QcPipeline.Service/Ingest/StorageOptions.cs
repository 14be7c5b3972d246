using Microsoft.Extensions.Options;
using QcPipeline.Service.Storage;

namespace QcPipeline.Service.Ingest;

/// <summary>The instance store (configuration section <c>Storage</c>).</summary>
public sealed record StorageOptions
{
    public const string Section = "Storage";

    /// <summary>Data folder, relative to the current directory unless absolute. Holds <c>tmp/</c>, <c>instances/</c> and the SQLite index.</summary>
    public string DataPath { get; init; } = "./data";

    /// <summary>fsync each instance file and the directories it is linked into before answering success.
    /// Turning it off trades the durability guarantee for speed (tests, throwaway instances).</summary>
    public bool Fsync { get; init; } = true;

    /// <summary>Where complete instances are kept: <c>Local</c> (under <see cref="DataPath"/>) or <c>S3</c> (an S3-compatible
    /// object store, <see cref="S3"/>). Instances are received into <c>tmp/</c> under <see cref="DataPath"/> either way.</summary>
    public string Backend { get; init; } = StorageBackends.Local;

    /// <summary>The object store when <see cref="Backend"/> is <c>S3</c> (section <c>Storage:S3</c>).</summary>
    public S3StorageOptions S3 { get; init; } = new();

    /// <summary>True when instances are kept in the object store.</summary>
    public bool IsS3 => string.Equals(Backend, StorageBackends.S3, StringComparison.OrdinalIgnoreCase);
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.DataPath)) return ValidateOptionsResult.Fail($"{StorageOptions.Section}:DataPath is empty");
        if (o.DataPath.IndexOfAny(Path.GetInvalidPathChars()) >= 0) return ValidateOptionsResult.Fail($"{StorageOptions.Section}:DataPath contains invalid characters");
        if (!string.Equals(o.Backend, StorageBackends.Local, StringComparison.OrdinalIgnoreCase) && !o.IsS3)
            return ValidateOptionsResult.Fail($"{StorageOptions.Section}:Backend must be {StorageBackends.Local} or {StorageBackends.S3}");
        if (o.IsS3 && S3StorageOptions.Validate(o.S3) is { } problem) return ValidateOptionsResult.Fail(problem);
        return ValidateOptionsResult.Success;
    }
}

/// <summary>The folders of the instance store, resolved once against the current directory.</summary>
public sealed class StoragePaths
{
    public StoragePaths(IOptions<StorageOptions> options)
    {
        Root = Path.GetFullPath(options.Value.DataPath, Environment.CurrentDirectory);
        Tmp = Path.Combine(Root, "tmp");
        Instances = Path.Combine(Root, "instances");
    }

    public string Root { get; }
    /// <summary>Instances being received: <c>*.part</c>, never read by anything else; emptied at start.</summary>
    public string Tmp { get; }
    /// <summary>Complete instances: <c>{StudyUID}/{SeriesUID}/{SOPInstanceUID}.dcm</c>.</summary>
    public string Instances { get; }

    /// <summary>Path of an instance relative to <see cref="Root"/>, with forward slashes (stored in the index).</summary>
    public static string RelativeInstancePath(string study, string series, string sopInstance) =>
        $"instances/{study}/{series}/{sopInstance}.dcm";

    public string FullPath(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));
}
