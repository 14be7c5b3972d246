using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Reports;

/// <summary>Trend reports (configuration section <c>Reports</c>).</summary>
public sealed record ReportOptions
{
    public const string Section = "Reports";

    /// <summary>The CJK font embedded in PDF reports: a TrueType file (.ttf) or collection (.ttc, its first face). Null: the
    /// first of <see cref="CjkFont.DebianDefaults"/> that exists. PDFsharp draws TrueType outlines only, so the CFF-outline
    /// Noto Sans/Serif CJK files of fonts-noto-cjk cannot be used.</summary>
    public string? FontPath { get; init; }

    /// <summary>The period of a report that names no <c>from</c>.</summary>
    public int DefaultPeriodDays { get; init; } = 365;

    /// <summary>Longest period one report may cover (a request over it gets 400).</summary>
    public int MaxPeriodDays { get; init; } = 3700;

    /// <summary>Most runs (results) one report may hold, over all its devices: a request over it gets 400 and is asked to
    /// narrow the period, device or test, so that a fleet report cannot exhaust memory.</summary>
    public int MaxRuns { get; init; } = 20_000;

    /// <summary>Most devices in a fleet report.</summary>
    public int MaxDevices { get; init; } = 500;

    /// <summary>IANA or Windows time zone id of the dates in reports and of date-only <c>from</c>/<c>to</c>
    /// (e.g. <c>Asia/Shanghai</c>).</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>Make one small PDF in the background at start, so that the first report is not slowed by the cold start
    /// (font load, JIT, Skia: ~2 s, against ~0.3 s warm).</summary>
    public bool WarmUp { get; init; } = true;
}

internal sealed class ReportOptionsValidator : IValidateOptions<ReportOptions>
{
    public ValidateOptionsResult Validate(string? name, ReportOptions o)
    {
        const string s = ReportOptions.Section;
        var errors = new List<string>();
        if (o.DefaultPeriodDays < 1 || o.DefaultPeriodDays > o.MaxPeriodDays) errors.Add($"{s}:DefaultPeriodDays must be 1 to MaxPeriodDays, not {o.DefaultPeriodDays}");
        if (o.MaxPeriodDays is < 1 or > 36_600) errors.Add($"{s}:MaxPeriodDays must be 1-36600, not {o.MaxPeriodDays}");
        if (o.MaxRuns is < 1 or > 1_000_000) errors.Add($"{s}:MaxRuns must be 1-1000000, not {o.MaxRuns}");
        if (o.MaxDevices is < 1 or > 100_000) errors.Add($"{s}:MaxDevices must be 1-100000, not {o.MaxDevices}");
        if (!TryZone(o.TimeZone, out _)) errors.Add($"{s}:TimeZone '{o.TimeZone}' is not a known time zone id");
        if (!string.IsNullOrWhiteSpace(o.FontPath) && CjkFont.Check(o.FontPath) is { } why) errors.Add($"{s}:FontPath: {why}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool TryZone(string id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id)) return false;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return false;
        }
    }
}
