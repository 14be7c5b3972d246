using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace QcPipeline.Service.Tests;

/// <summary>A private PostgreSQL and a private RabbitMQ for the multi-process pipeline tests (one collection: the tests halt
/// and resume them).</summary>
public sealed class PipelineServicesFixture : IAsyncLifetime
{
    public PostgresFixture Postgres { get; } = new();
    public RabbitMqFixture Rabbit { get; } = new();

    public Task InitializeAsync() => Task.WhenAll(Postgres.InitializeAsync(), Rabbit.InitializeAsync());

    public Task DisposeAsync() => Task.WhenAll(Postgres.DisposeAsync(), Rabbit.DisposeAsync());
}

[CollectionDefinition(Name)]
public sealed class PipelineProcessesCollection : ICollectionFixture<PipelineServicesFixture>
{
    public const string Name = "Pipeline processes";
}

/// <summary>One test's pipeline: a fresh database and RabbitMQ virtual host, a data folder shared by every process (as a
/// shared volume would be), and the service processes started with <c>--roles</c>. Reads the database directly.</summary>
public sealed class PipelineProcesses : IAsyncDisposable
{
    private readonly PipelineServicesFixture _services;
    private readonly List<ChildService> _processes = [];
    private readonly string _vhost;

    private PipelineProcesses(PipelineServicesFixture services, string db, string vhost)
    {
        _services = services;
        Database = db;
        _vhost = vhost;
        Root = Support.NewTempDir("qcpipe");
        Data = Path.Combine(Root, "data");
        Input = Path.Combine(Root, "in");
    }

    public string Root { get; }
    public string Data { get; }
    public string Input { get; }
    /// <summary>Connection string of this test's database (unpooled, for the test's reads).</summary>
    public string Database { get; }

    public static async Task<PipelineProcesses> CreateAsync(PipelineServicesFixture services)
    {
        var db = await services.Postgres.CreateDatabaseAsync();
        var vhost = "p" + Guid.NewGuid().ToString("N")[..10];
        await services.Rabbit.CtlAsync("add_vhost", vhost);
        await services.Rabbit.CtlAsync("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*");
        return new PipelineProcesses(services, db, vhost);
    }

    /// <summary>The arguments every process gets: shared data folder, the database (pooled, as in production), the broker,
    /// free ports, a 1 s quiet period and short retry intervals so that outages heal within a test's time.</summary>
    private string[] Args(string roles, string[] more) =>
    [
        "--roles", roles,
        $"--Storage:DataPath={Data}", "--Storage:Fsync=false",
        "--Dicom:Port=0", "--Http:Urls=http://127.0.0.1:0",
        "--Database:Provider=Postgres", $"--Database:ConnectionString={new NpgsqlConnectionStringBuilder(Database) { Pooling = true }}",
        .. _services.Rabbit.BusArgs($"--Bus:RabbitMq:VirtualHost={_vhost}"),
        "--Pipeline:QuietPeriod=00:00:01", "--Pipeline:SweepInterval=00:00:00.25",
        "--Pipeline:OutboxMaxBackoff=00:00:02", "--Pipeline:OutboxPublishTimeout=00:00:03",
        "--Bus:RetryLimit=10", "--Bus:RetryMinInterval=00:00:00.5", "--Bus:RetryMaxInterval=00:00:04",
        .. more,
    ];

    /// <summary>Starts a process without waiting for it.</summary>
    public ChildService Start(string roles, params string[] more)
    {
        var child = ChildService.Start(Root, Args(roles, more));
        lock (_processes) _processes.Add(child);
        return child;
    }

    /// <summary>Starts a process and waits for its "Service started" line.</summary>
    public async Task<ChildService> StartAsync(string roles, params string[] more)
    {
        var child = Start(roles, more);
        Assert.Equal(roles, await child.WaitStartedAsync(TimeSpan.FromSeconds(90)));
        return child;
    }

    /// <summary>/health/ready of a process: HTTP status and the checks' names and statuses.</summary>
    public static async Task<(int Status, Dictionary<string, string> Checks)> ReadyAsync(ChildService child)
    {
        using var http = new HttpClient { BaseAddress = child.HttpBase, Timeout = TimeSpan.FromSeconds(20) };
        using var r = await http.GetAsync("/health/ready");
        var body = await r.Content.ReadFromJsonAsync<JsonElement>();
        return ((int)r.StatusCode, body.GetProperty("checks").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("status").GetString()!));
    }

    /// <summary>Waits until the process's bus check is Healthy (connected, endpoints bound).</summary>
    public static async Task WaitBusHealthyAsync(ChildService child, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var (_, checks) = await ReadyAsync(child);
            if (checks.GetValueOrDefault("bus") == "Healthy") return;
            if (DateTime.UtcNow > until) throw new TimeoutException("bus not healthy: " + string.Join(", ", checks) + "\n" + child.Output);
            await Task.Delay(200);
        }
    }

    public sealed record Series(string Uid, string State, Guid? ClaimId, int InstanceCount, string? ClaimedBy);

    public sealed record Result(long Id, string SeriesUid, Guid ClaimId, string Profile, string Verdict, string? Worker, Dictionary<string, double?> Metrics);

    private async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> row)
    {
        await using var c = new NpgsqlConnection(Database);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<T>();
        while (await r.ReadAsync()) list.Add(row(r));
        return list;
    }

    public Task<List<Series>> SeriesAsync() => QueryAsync("""SELECT "SeriesInstanceUid", "State", "ClaimId", "InstanceCount", "ClaimedBy" FROM "Series" """,
        r => new Series(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetGuid(2), r.GetInt32(3), r.IsDBNull(4) ? null : r.GetString(4)));

    public async Task<long> InstanceCountAsync() =>
        (await QueryAsync("""SELECT count(*) FROM "Instances" """, r => r.GetInt64(0)))[0];

    public async Task<List<Result>> ResultsAsync()
    {
        var metrics = (await QueryAsync("""SELECT "ResultId", "Name", "Value" FROM "ResultMetrics" """,
                r => (Id: r.GetInt64(0), Name: r.GetString(1), Value: r.IsDBNull(2) ? (double?)null : r.GetDouble(2))))
            .ToLookup(m => m.Id);
        return await QueryAsync("""SELECT "Id", "SeriesInstanceUid", "ClaimId", "Profile", "Verdict", "Worker" FROM "Results" """,
            r => new Result(r.GetInt64(0), r.GetString(1), r.GetGuid(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
                metrics[r.GetInt64(0)].ToDictionary(m => m.Name, m => m.Value)));
    }

    /// <summary>The worker queue's (ready, unacknowledged) message counts in this test's virtual host; (0, 0) before it exists.</summary>
    public async Task<(long Ready, long Unacked)> AnalyzeQueueAsync()
    {
        var text = await _services.Rabbit.CtlAsync("list_queues", "-p", _vhost, "--no-table-headers", "name", "messages_ready", "messages_unacknowledged");
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            if (f.Length >= 3 && f[0] == "analyze-series")
                return (long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), long.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture));
        }
        return (0, 0);
    }

    /// <summary>What a process records as ClaimedBy and Worker: host name and process id.</summary>
    public static string InstanceName(ChildService child) => $"{Environment.MachineName}/{child.Pid}";

    /// <summary>Outbox rows not yet published.</summary>
    public async Task<long> OutboxPendingAsync() =>
        (await QueryAsync("""SELECT count(*) FROM "Outbox" WHERE "DispatchedAt" IS NULL""", r => r.GetInt64(0)))[0];

    /// <summary>Polls until every given series is analyzed (or the time is up); returns the series rows.</summary>
    public async Task<List<Series>> WaitAnalyzedAsync(IReadOnlyCollection<string> seriesUids, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var rows = (await SeriesAsync()).Where(s => seriesUids.Contains(s.Uid)).ToList();
            if ((rows.Count == seriesUids.Count && rows.All(s => s.State == "analyzed")) || DateTime.UtcNow > until) return rows;
            await Task.Delay(250);
        }
    }

    /// <summary>Every series analysed exactly once: analyzed, its results all under its one claim, one row per profile, and
    /// at least the expected profile present. Returns the results of those series.</summary>
    public async Task<List<Result>> AssertAnalysedOnceAsync(IReadOnlyCollection<string> seriesUids, string? profile, TimeSpan timeout)
    {
        var series = await WaitAnalyzedAsync(seriesUids, timeout);
        Assert.True(series.Count == seriesUids.Count && series.All(s => s.State == "analyzed"),
            "not every series was analysed: " + string.Join(", ", series.Select(s => s.State)) + "\n" + Logs());
        // The last result write and the mark are separate commits: the results are all there once the series is analyzed.
        var results = (await ResultsAsync()).Where(r => seriesUids.Contains(r.SeriesUid)).ToList();
        foreach (var s in series)
        {
            var mine = results.Where(r => r.SeriesUid == s.Uid).ToList();
            Assert.NotEmpty(mine);
            Assert.Equal(s.ClaimId, Assert.Single(mine.Select(r => r.ClaimId).Distinct()));
            Assert.All(mine.GroupBy(r => r.Profile), g => Assert.Single(g));
            if (profile is not null) Assert.Contains(mine, r => r.Profile == profile);
        }
        return results;
    }

    /// <summary>The output of every process, for a failure message.</summary>
    public string Logs()
    {
        lock (_processes)
            return string.Join("\n", _processes.Select((p, i) => $"===== process {i} (pid {p.Pid}) =====\n{Tail(p.Output)}"));
    }

    private static string Tail(string s) => s.Length <= 6000 ? s : s[^6000..];

    public async ValueTask DisposeAsync()
    {
        List<ChildService> all;
        lock (_processes) all = [.. _processes];
        foreach (var p in all) await p.DisposeAsync();
        Support.TryDeleteDir(Root);
    }
}
