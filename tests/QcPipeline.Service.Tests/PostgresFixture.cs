using Npgsql;

namespace QcPipeline.Service.Tests;

/// <summary>A private PostgreSQL cluster for one test collection, made by <c>scripts/services.sh start postgresql</c> in a
/// temp state folder (fresh initdb, 127.0.0.1, a free port) and stopped with its data on dispose. Private rather than
/// shared so that a test may halt and resume it (a database outage) without disturbing others.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly string _dir = Support.NewTempDir("qc-pg");
    private readonly ServicesScript _script;
    private Dictionary<string, string> _envFile = [];

    public PostgresFixture() => _script = new ServicesScript(_dir);

    /// <summary>The server's database <c>qc</c> (user qc, password qc).</summary>
    public string ConnectionString => _envFile["POSTGRES_CONNECTION"];

    public async Task InitializeAsync()
    {
        // The state folder must be reachable by the postgres user when the tests run as root.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        await _script.RunAsync(TimeSpan.FromSeconds(120), "start", "postgresql"); // scripts/test.sh installs postgresql
        _envFile = _script.Env();
    }

    /// <summary>A new empty database on the server, for one test; its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..12];
        await using (var conn = new NpgsqlConnection(ConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name, Pooling = false }.ConnectionString;
    }

    /// <summary>Stops the server, keeping its data and port (an outage).</summary>
    public async Task HaltAsync()
    {
        await _script.RunAsync(TimeSpan.FromSeconds(60), "halt", "postgresql");
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Starts it again on the same port with the same data.</summary>
    public async Task ResumeAsync()
    {
        await _script.RunAsync(TimeSpan.FromSeconds(60), "resume", "postgresql");
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try { await _script.RunAsync(TimeSpan.FromSeconds(60), "stop", "postgresql"); }
        catch (InvalidOperationException) { /* best effort; its folder goes below */ }
        Support.TryDeleteDir(_dir);
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
