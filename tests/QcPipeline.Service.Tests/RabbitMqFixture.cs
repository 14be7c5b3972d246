namespace QcPipeline.Service.Tests;

/// <summary>A private RabbitMQ node for one test collection, made by <c>scripts/services.sh start rabbitmq</c> in a temp state
/// folder (its own node name, epmd and ports on 127.0.0.1) and stopped with its data on dispose. Private so that a test
/// may halt and resume it (a broker outage).</summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private readonly string _dir = Support.NewTempDir("qc-rmq");
    private readonly ServicesScript _script;
    private Dictionary<string, string> _env = [];

    public RabbitMqFixture() => _script = new ServicesScript(_dir);

    public string Host => _env["RABBITMQ_HOST"];
    public int Port => int.Parse(_env["RABBITMQ_PORT"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Service arguments that put its bus on this broker.</summary>
    public string[] BusArgs(params string[] more) =>
        ["--Bus:Transport=RabbitMq", $"--Bus:RabbitMq:Host={Host}", $"--Bus:RabbitMq:Port={Port}", .. more];

    public async Task InitializeAsync()
    {
        await _script.RunAsync(TimeSpan.FromSeconds(150), "start", "rabbitmq"); // scripts/test.sh installs rabbitmq-server
        _env = _script.Env();
    }

    /// <summary>rabbitmqctl against this node; its standard output.</summary>
    public async Task<string> CtlAsync(params string[] args)
    {
        // Generous: rabbitmqctl boots an Erlang VM per call, which takes tens of seconds on a loaded 2-core machine.
        return (await _script.RunAsync(TimeSpan.FromSeconds(120), ["rabbitmqctl", .. args])).StdOut;
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
        await _script.RunAsync(TimeSpan.FromSeconds(120), "halt", "rabbitmq");
    }

    public async Task ResumeAsync()
    {
        await _script.RunAsync(TimeSpan.FromSeconds(150), "resume", "rabbitmq");
    }

    public async Task DisposeAsync()
    {
        try { await _script.RunAsync(TimeSpan.FromSeconds(60), "stop", "rabbitmq"); }
        catch (InvalidOperationException) { /* best effort; its folder goes below */ }
        Support.TryDeleteDir(_dir);
    }
}

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "RabbitMQ";
}
