using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Bus;

public enum BusTransport { InMemory, RabbitMq }

/// <summary>The message bus (configuration section <c>Bus</c>). The embedded default is MassTransit's in-memory transport;
/// RabbitMQ is for several processes (roles) sharing the work.</summary>
public sealed record BusOptions
{
    public const string Section = "Bus";

    public BusTransport Transport { get; init; } = BusTransport.InMemory;

    public RabbitMqOptions RabbitMq { get; init; } = new();

    /// <summary>Messages a consumer endpoint fetches ahead (RabbitMQ prefetch). Analyses are CPU-bound: a small number keeps
    /// one busy process from hoarding work that an idle replica could take.</summary>
    public int PrefetchCount { get; init; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>Messages handled at once per endpoint; default the processor count (CPU-bound analyses).</summary>
    public int ConcurrentMessageLimit { get; init; } = Environment.ProcessorCount;

    /// <summary>Redelivery attempts inside the consumer (with the intervals below) before a message goes to its
    /// <c>_error</c> queue.</summary>
    public int RetryLimit { get; init; } = 5;

    /// <summary>First retry interval; each next one doubles, up to <see cref="RetryMaxInterval"/>.</summary>
    public TimeSpan RetryMinInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxInterval { get; init; } = TimeSpan.FromSeconds(30);
}

public sealed record RabbitMqOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 5672;
    public string VirtualHost { get; init; } = "/";
    public string Username { get; init; } = "guest";
    public string Password { get; init; } = "guest";
    /// <summary>AMQPS (TLS); the server certificate must be valid for <see cref="Host"/>.</summary>
    public bool UseTls { get; init; }
    /// <summary>Declare the queues as quorum queues (replicated, for a RabbitMQ cluster) instead of classic durable queues.</summary>
    public bool QuorumQueues { get; init; }
    /// <summary>Wait for the broker's confirmation of every publish (on by default: a publish is not done until the broker has it).</summary>
    public bool PublisherConfirms { get; init; } = true;
}

internal sealed class BusOptionsValidator : IValidateOptions<BusOptions>
{
    public ValidateOptionsResult Validate(string? name, BusOptions o)
    {
        const string s = BusOptions.Section;
        var errors = new List<string>();
        if (!Enum.IsDefined(o.Transport)) errors.Add($"{s}:Transport must be InMemory or RabbitMq");
        if (o.PrefetchCount is < 1 or > 10_000) errors.Add($"{s}:PrefetchCount must be 1-10000, not {o.PrefetchCount}");
        if (o.ConcurrentMessageLimit is < 1 or > 1_000) errors.Add($"{s}:ConcurrentMessageLimit must be 1-1000, not {o.ConcurrentMessageLimit}");
        if (o.RetryLimit is < 0 or > 100) errors.Add($"{s}:RetryLimit must be 0-100, not {o.RetryLimit}");
        if (o.RetryMinInterval <= TimeSpan.Zero || o.RetryMaxInterval < o.RetryMinInterval)
            errors.Add($"{s}:RetryMinInterval must be positive and at most RetryMaxInterval");
        if (o.Transport == BusTransport.RabbitMq)
        {
            var r = o.RabbitMq;
            if (string.IsNullOrWhiteSpace(r.Host)) errors.Add($"{s}:RabbitMq:Host is required when {s}:Transport is RabbitMq");
            if (r.Port is < 1 or > 65535) errors.Add($"{s}:RabbitMq:Port must be 1-65535, not {r.Port}");
            if (string.IsNullOrEmpty(r.VirtualHost)) errors.Add($"{s}:RabbitMq:VirtualHost must not be empty (the default is /)");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
