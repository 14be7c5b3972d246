using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Workers;

/// <summary>Series assembly and the ingest outbox (configuration section <c>Pipeline</c>).</summary>
public sealed record PipelineOptions
{
    public const string Section = "Pipeline";

    /// <summary>A series is ready for analysis when no instance of it has been committed for this long.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the sweeper looks for quiet series.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A claim not marked analyzed after this long (worker crashed, command dead-lettered) is claimed again, with a
    /// new claim id (so a late result of the old claim and the new one are both kept, never merged).</summary>
    public TimeSpan ClaimTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Most series claimed in one sweep (one transaction).</summary>
    public int SweepBatchSize { get; init; } = 100;

    /// <summary>Run the sweeper in this process: true or false; not set: wherever the receiver role runs.</summary>
    public bool? SweeperEnabled { get; init; }

    /// <summary>Most memory (MB) a worker keeps between series for decoded pixel arrays, reused by the next series instead
    /// of allocated anew (<see cref="QcPipeline.Analysis.FrameBufferPool"/>); 0 keeps none. A 100-slice 512 × 512 CT series
    /// uses 100 MB.</summary>
    public int FrameBufferPoolMegabytes { get; init; } = 256;

    /// <summary>Test hook, off by default: each analysis waits this long after storing its first result, so that a test can
    /// kill a worker in the middle of one. Never set it in production.</summary>
    public TimeSpan TestHookAnalysisDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Whether this process runs the sweeper: <c>Pipeline:SweeperEnabled</c> when set, else the receiver role's.
    /// Read at registration (the hosted service is registered or not).</summary>
    public static bool SweeperRuns(IConfiguration configuration, ServiceRoles roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        return configuration.GetSection(Section).GetValue<bool?>(nameof(SweeperEnabled)) ?? roles.Receiver;
    }

    /// <summary>Most outbox rows read and published in one dispatcher round.</summary>
    public int OutboxBatchSize { get; init; } = 100;

    /// <summary>The dispatcher looks at the outbox at least this often (it is also woken by each commit).</summary>
    public TimeSpan OutboxPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for one publish (a broker that is down makes MassTransit wait for the connection).</summary>
    public TimeSpan OutboxPublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First wait after a failed publish; each next failure doubles it, up to <see cref="OutboxMaxBackoff"/>.</summary>
    public TimeSpan OutboxMinBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan OutboxMaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Dispatched rows are deleted after this long (kept meanwhile for diagnosis); the outbox stays bounded.</summary>
    public TimeSpan OutboxRetention { get; init; } = TimeSpan.FromHours(1);
}

internal sealed class PipelineOptionsValidator : IValidateOptions<PipelineOptions>
{
    public ValidateOptionsResult Validate(string? name, PipelineOptions o)
    {
        const string s = PipelineOptions.Section;
        var errors = new List<string>();
        static bool Within(TimeSpan v, TimeSpan min, TimeSpan max) => v >= min && v <= max;
        if (!Within(o.QuietPeriod, TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1))) errors.Add($"{s}:QuietPeriod must be 100 ms to 1 day, not {o.QuietPeriod}");
        if (!Within(o.SweepInterval, TimeSpan.FromMilliseconds(50), TimeSpan.FromHours(1))) errors.Add($"{s}:SweepInterval must be 50 ms to 1 hour, not {o.SweepInterval}");
        if (!Within(o.ClaimTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7))) errors.Add($"{s}:ClaimTimeout must be 1 s to 7 days, not {o.ClaimTimeout}");
        if (o.SweepBatchSize is < 1 or > 10_000) errors.Add($"{s}:SweepBatchSize must be 1-10000, not {o.SweepBatchSize}");
        if (o.OutboxBatchSize is < 1 or > 10_000) errors.Add($"{s}:OutboxBatchSize must be 1-10000, not {o.OutboxBatchSize}");
        if (!Within(o.OutboxPollInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10))) errors.Add($"{s}:OutboxPollInterval must be 10 ms to 10 min, not {o.OutboxPollInterval}");
        if (!Within(o.OutboxPublishTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10))) errors.Add($"{s}:OutboxPublishTimeout must be 100 ms to 10 min, not {o.OutboxPublishTimeout}");
        if (o.OutboxMinBackoff <= TimeSpan.Zero || o.OutboxMaxBackoff < o.OutboxMinBackoff || o.OutboxMaxBackoff > TimeSpan.FromHours(1))
            errors.Add($"{s}:OutboxMinBackoff must be positive and at most OutboxMaxBackoff (at most 1 hour)");
        if (o.FrameBufferPoolMegabytes is < 0 or > 65_536) errors.Add($"{s}:FrameBufferPoolMegabytes must be 0-65536, not {o.FrameBufferPoolMegabytes}");
        if (!Within(o.TestHookAnalysisDelay, TimeSpan.Zero, TimeSpan.FromMinutes(10))) errors.Add($"{s}:TestHookAnalysisDelay must be 0 to 10 min, not {o.TestHookAnalysisDelay}");
        if (!Within(o.OutboxRetention, TimeSpan.Zero, TimeSpan.FromDays(30))) errors.Add($"{s}:OutboxRetention must be 0 to 30 days, not {o.OutboxRetention}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
