using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Retention;

/// <summary>Data retention (configuration section <c>Retention</c>). A period of <c>0</c> or an empty value keeps that kind
/// of data forever. Results, label findings and the audit log are the QC record and are never deleted here.</summary>
public sealed record RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>The longest period accepted (100 years): a larger one is a typing error, and it keeps the cut-off time in range.</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(36_525);

    /// <summary>Run retention in this process (one process per data folder is enough; with PostgreSQL several may).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How often retention runs (the first run is at start, which also finishes a run cut short by a crash).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Images of series that were not routed to phantom analyses (clinical studies a PACS forwards) are deleted this
    /// long after their checks finished. We are not a PACS: the label findings and results stay, the images need not.</summary>
    public TimeSpan? NonQcImages { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Images of QC (phantom) series: kept forever unless set.</summary>
    public TimeSpan? QcImages { get; init; }

    /// <summary>Ingest events (replacements) older than this are deleted.</summary>
    public TimeSpan? IngestEvents { get; init; } = TimeSpan.FromDays(365);

    /// <summary>Most instances deleted in one transaction (a series is never split unless it alone is larger). On SQLite the
    /// transaction holds the database's write lock while the files are deleted, so this bounds how long ingest waits.</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>The period of <paramref name="value"/>, or null when that data is kept forever (unset, empty or 0).</summary>
    public static TimeSpan? Effective(TimeSpan? value) => value is { } v && v > TimeSpan.Zero ? v : null;
}

internal sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions o)
    {
        const string s = RetentionOptions.Section;
        var errors = new List<string>();
        if (o.Interval < TimeSpan.FromSeconds(1) || o.Interval > TimeSpan.FromDays(1)) errors.Add($"{s}:Interval must be 1 s to 1 day, not {o.Interval}");
        foreach (var (key, value) in new[] { ("NonQcImages", o.NonQcImages), ("QcImages", o.QcImages), ("IngestEvents", o.IngestEvents) })
        {
            if (value is { } v && (v < TimeSpan.Zero || v > RetentionOptions.MaxPeriod))
                errors.Add($"{s}:{key} must be 0 (keep forever) to 36525 days, not {v}");
        }
        if (o.BatchSize is < 1 or > 100_000) errors.Add($"{s}:BatchSize must be 1-100000, not {o.BatchSize}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
