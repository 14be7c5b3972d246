using QcPipeline.Analysis.SeriesIntegrity;

namespace QcPipeline.Analysis.Labels;

/// <summary>Options of <see cref="SeriesQc.Check"/>.</summary>
/// <param name="Registry">HR mark registry; without one only what a name itself shows is checked.</param>
public sealed record SeriesQcOptions(HrRegistry? Registry = null, SeriesIntegrityOptions? Integrity = null)
{
    public static SeriesQcOptions Default { get; } = new();
}

/// <summary>Runs every header rule on one series: required labels, HR marks, burned-in annotation, series integrity.
/// Pure: headers in, findings out.</summary>
public static class SeriesQc
{
    public static SeriesCheckResult Check(SeriesHeaders series, SeriesQcOptions? options = null)
    {
        options ??= SeriesQcOptions.Default;
        var sink = new FindingSink();
        LabelRules.Check(series, sink);
        HrMarkRules.Check(series, options.Registry, sink);
        BurnedInRule.Check(series, sink);
        SeriesIntegrityRules.Check(series, options.Integrity ?? SeriesIntegrityOptions.Default, sink);
        return new SeriesCheckResult
        {
            SeriesInstanceUid = series.SeriesInstanceUid,
            Modality = series.Modality,
            InstanceCount = series.Instances.Count,
            ChecksMade = sink.ChecksMade,
            ChecksPassed = sink.ChecksPassed,
            Findings = [.. sink.Findings.OrderByDescending(f => f.Severity).ThenBy(f => f.RuleId, StringComparer.Ordinal)],
        };
    }
}
