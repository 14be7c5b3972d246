namespace QcPipeline.Service.Tests;

/// <summary>A private RabbitMQ node for one test collection, made by <c>scripts/services.sh start rabbitmq</c> in a temp state
/// folder (its own node name, epmd and ports on 127.0.0.1) and stopped with its data on dispose. Private so that a test
/// may halt and resume it (a broker outage).</summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private readonly string _dir = Support.NewTempDir("qc-rmq");
    private readonly string _script = Path.Combine(Support.RepoRoot, "scripts", "services.sh");
    private Dictionary<string, string> _env = [];

    public string Host => _env["RABBITMQ_HOST"];
    public int Port => int.Parse(_env["RABBITMQ_PORT"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Service arguments that put its bus on this broker.</summary>
    public string[] BusArgs(params string[] more) =>
        ["--Bus:Transport=RabbitMq", $"--Bus:RabbitMq:Host={Host}", $"--Bus:RabbitMq:Port={Port}", .. more];

    private Dictionary<string, string> ScriptEnv => new() { ["QC_SERVICES_DIR"] = _dir };

    public async Task InitializeAsync()
    {
        var r = await Support.RunAsync("bash", [_script, "start", "rabbitmq"], TimeSpan.FromSeconds(150), ScriptEnv);
        if (r.ExitCode != 0) throw new InvalidOperationException("services.sh start rabbitmq failed (scripts/test.sh installs rabbitmq-server):\n" + r.All);
        _env = File.ReadAllLines(Path.Combine(_dir, "services.env"))
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
    }

    /// <summary>rabbitmqctl against this node; its standard output.</summary>
    public async Task<string> CtlAsync(params string[] args)
    {
        var r = await Support.RunAsync("bash", [_script, "rabbitmqctl", .. args], TimeSpan.FromSeconds(60), ScriptEnv);
        if (r.ExitCode != 0) throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', args)}: {r.All}");
        return r.StdOut;
    }

    /// <summary>Queue name → (messages ready, type, durable), from rabbitmqctl list_queues.</summary>
    public async Task<Dictionary<string, (long Messages, string Type, bool Durable)>> CtlAsyncQueues(string vhost)
    {
        var text = await CtlAsync("list_queues", "-p", vhost, "--no-table-headers", "name", "messages", "type", "durable");
        var result = new Dictionary<string, (long, string, bool)>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            if (f.Length >= 4) result[f[0]] = (long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), f[2], f[3] == "true");
        }
        return result;
    }

    public async Task HaltAsync()
    {
        var r = await Support.RunAsync("bash", [_script, "halt", "rabbitmq"], TimeSpan.FromSeconds(60), ScriptEnv);
        if (r.ExitCode != 0) throw new InvalidOperationException(r.All);
    }

    public async Task ResumeAsync()
    {
        var r = await Support.RunAsync("bash", [_script, "resume", "rabbitmq"], TimeSpan.FromSeconds(150), ScriptEnv);
        if (r.ExitCode != 0) throw new InvalidOperationException(r.All);
    }

    public async Task DisposeAsync()
    {
        await Support.RunAsync("bash", [_script, "stop", "rabbitmq"], TimeSpan.FromSeconds(60), ScriptEnv);
        Support.TryDeleteDir(_dir);
    }
}

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "RabbitMQ";
}
