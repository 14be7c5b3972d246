using Npgsql;

namespace QcPipeline.Service.Tests;

/// <summary>A private PostgreSQL cluster for one test collection, made by <c>scripts/services.sh start postgresql</c> in a
/// temp state folder (fresh initdb, 127.0.0.1, a free port) and stopped with its data on dispose. Private rather than
/// shared so that a test may halt and resume it (a database outage) without disturbing others.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly string _dir = Support.NewTempDir("qc-pg");
    private readonly string _script = Path.Combine(Support.RepoRoot, "scripts", "services.sh");
    private Dictionary<string, string> _envFile = [];

    /// <summary>The server's database <c>qc</c> (user qc, password qc).</summary>
    public string ConnectionString => _envFile["POSTGRES_CONNECTION"];

    private Dictionary<string, string> ScriptEnv => new() { ["QC_SERVICES_DIR"] = _dir };

    public async Task InitializeAsync()
    {
        // The state folder must be reachable by the postgres user when the tests run as root.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var r = await Support.RunAsync("bash", [_script, "start", "postgresql"], TimeSpan.FromSeconds(120), ScriptEnv);
        if (r.ExitCode != 0) throw new InvalidOperationException("services.sh start postgresql failed (scripts/test.sh installs postgresql):\n" + r.All);
        _envFile = File.ReadAllLines(Path.Combine(_dir, "services.env"))
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
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
        var r = await Support.RunAsync("bash", [_script, "halt", "postgresql"], TimeSpan.FromSeconds(60), ScriptEnv);
        if (r.ExitCode != 0) throw new InvalidOperationException(r.All);
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Starts it again on the same port with the same data.</summary>
    public async Task ResumeAsync()
    {
        var r = await Support.RunAsync("bash", [_script, "resume", "postgresql"], TimeSpan.FromSeconds(60), ScriptEnv);
        if (r.ExitCode != 0) throw new InvalidOperationException(r.All);
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await Support.RunAsync("bash", [_script, "stop", "postgresql"], TimeSpan.FromSeconds(60), ScriptEnv);
        Support.TryDeleteDir(_dir);
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
