using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Index;

public enum DatabaseProvider { Sqlite, Postgres }

/// <summary>The ingest index database (configuration section <c>Database</c>).</summary>
public sealed record DatabaseOptions
{
    public const string Section = "Database";

    public DatabaseProvider Provider { get; init; } = DatabaseProvider.Sqlite;

    /// <summary>Null or empty: the SQLite file <c>qc.db</c> in the data folder (required for Postgres).</summary>
    public string? ConnectionString { get; init; }

    /// <summary>SQLite <c>PRAGMA synchronous</c>. NORMAL (WAL): a committed row survives a crash of the process but may be
    /// lost to a power failure or OS crash; the instance file it describes is fsynced before the commit, and start-up
    /// reconciliation indexes every file without a row, so no acknowledged instance is lost either way. FULL also fsyncs
    /// the WAL at every commit (about 1 ms more per instance with one sender).</summary>
    public string SqliteSynchronous { get; init; } = "NORMAL";

    /// <summary>The SQLite connection string: the configured one, else the file <c>qc.db</c> in the data folder.</summary>
    public string SqliteConnectionString(string dataRoot) =>
        string.IsNullOrWhiteSpace(ConnectionString) ? $"Data Source={Path.Combine(dataRoot, "qc.db")}" : ConnectionString;

    /// <summary>Most index rows committed in one transaction by the group-commit writer.</summary>
    public int MaxBatchSize { get; init; } = 256;
}

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions o)
    {
        const string s = DatabaseOptions.Section;
        var errors = new List<string>();
        if (!Enum.IsDefined(o.Provider)) errors.Add($"{s}:Provider must be Sqlite or Postgres");
        if (o.Provider == DatabaseProvider.Postgres && string.IsNullOrWhiteSpace(o.ConnectionString))
            errors.Add($"{s}:ConnectionString is required when {s}:Provider is Postgres");
        if (o.SqliteSynchronous.ToUpperInvariant() is not ("OFF" or "NORMAL" or "FULL" or "EXTRA"))
            errors.Add($"{s}:SqliteSynchronous must be OFF, NORMAL, FULL or EXTRA, not '{o.SqliteSynchronous}'");
        if (o.MaxBatchSize is < 1 or > 10_000) errors.Add($"{s}:MaxBatchSize must be 1-10000, not {o.MaxBatchSize}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
