using System.Text.Json.Serialization;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Analysis.Labels;

/// <summary>One instance of a series as the label and integrity rules see it: the header (read without pixel data),
/// the transfer syntax it arrived in, and optionally where it came from (a file name, for people; never a metric label).</summary>
public sealed record InstanceHeader(DicomDataset Dataset, TransferSyntax TransferSyntax, string? Source = null);

/// <summary>The instances of one series (normally one SeriesInstanceUID), in any order.</summary>
public sealed record SeriesHeaders(IReadOnlyList<InstanceHeader> Instances)
{
    public string? SeriesInstanceUid => Instances.Count > 0 ? Instances[0].Dataset.GetString(DicomTags.SeriesInstanceUID) : null;
    public string Modality => Instances.Count > 0 ? Instances[0].Dataset.GetStringOrEmpty(DicomTags.Modality) : "";
}

[JsonConverter(typeof(JsonStringEnumConverter<FindingSeverity>))]
public enum FindingSeverity
{
    [JsonStringEnumMemberName("info")] Info,
    [JsonStringEnumMemberName("warning")] Warning,
    [JsonStringEnumMemberName("error")] Error,
}

/// <summary>One thing wrong with a series. Identical findings from several instances are merged:
/// <see cref="InstanceCount"/> says on how many, <see cref="FirstInstance"/> names the first.</summary>
/// <remarks><see cref="Value"/> may hold patient data (a name, an ID): it belongs in stored results only, never in a
/// log line or a metric. The messages never contain patient values.</remarks>
public sealed record QcFinding
{
    /// <summary>Stable id, e.g. <c>label.missing</c>, <c>hr.smaller-scope</c>, <c>series.instance-number-gap</c>.</summary>
    public required string RuleId { get; init; }
    public required FindingSeverity Severity { get; init; }
    public required string MessageZh { get; init; }
    public required string MessageEn { get; init; }
    /// <summary>"(gggg,eeee)", or null for a finding about the series as a whole.</summary>
    public string? Tag { get; init; }
    public string? Keyword { get; init; }
    /// <summary>The offending value as decoded (possibly patient data), or null.</summary>
    public string? Value { get; init; }
    public int InstanceCount { get; init; } = 1;
    /// <summary>Source name or SOP Instance UID of the first instance that showed it; null for series-level findings.</summary>
    public string? FirstInstance { get; init; }
}

/// <summary>What the label, HR-mark and integrity rules found in one series.</summary>
public sealed record SeriesCheckResult
{
    public string? SeriesInstanceUid { get; init; }
    public string Modality { get; init; } = "";
    public int InstanceCount { get; init; }
    public int ChecksMade { get; init; }
    public int ChecksPassed { get; init; }
    public required IReadOnlyList<QcFinding> Findings { get; init; }

    /// <summary>Checks passed / checks made (1 when nothing could be checked).</summary>
    public double ComplianceRate => ChecksMade == 0 ? 1.0 : (double)ChecksPassed / ChecksMade;

    /// <summary>No finding of severity error (warnings and info do not make a series non-compliant).</summary>
    public bool IsCompliant => !Findings.Any(f => f.Severity == FindingSeverity.Error);
}

/// <summary>Collects findings and counts checks. A check that produced no finding passed. Findings that are equal in
/// rule, tag, value and message are merged across instances, so a label missing from 500 slices is one line.</summary>
internal sealed class FindingSink
{
    private readonly Dictionary<(string Rule, string? Tag, string? Value, string Message), int> _index = [];
    private readonly List<QcFinding> _findings = [];

    public int ChecksMade { get; private set; }
    public int ChecksPassed { get; private set; }
    public IReadOnlyList<QcFinding> Findings => _findings;

    public void Pass() { ChecksMade++; ChecksPassed++; }

    /// <summary>Counts a failed check and records its finding.</summary>
    public void Fail(string rule, FindingSeverity severity, string zh, string en, DicomTag? tag = null, string? value = null, string? instance = null)
    {
        ChecksMade++;
        string? tagText = tag?.ToString();
        var key = (rule, tagText, value, en);
        if (_index.TryGetValue(key, out int i))
        {
            _findings[i] = _findings[i] with { InstanceCount = _findings[i].InstanceCount + 1 };
            return;
        }
        _index[key] = _findings.Count;
        _findings.Add(new QcFinding
        {
            RuleId = rule,
            Severity = severity,
            MessageZh = zh,
            MessageEn = en,
            Tag = tagText,
            Keyword = tag is { } t ? KeywordOf(t) : null,
            Value = value,
            FirstInstance = instance,
        });
    }

    /// <summary>Counts one check: passed when <paramref name="ok"/>, else a finding.</summary>
    public void Check(bool ok, string rule, FindingSeverity severity, string zh, string en, DicomTag? tag = null, string? value = null, string? instance = null)
    {
        if (ok) Pass();
        else Fail(rule, severity, zh, en, tag, value, instance);
    }

    public static string? KeywordOf(DicomTag tag) => DicomDictionary.Lookup(tag)?.Keyword;

    public static string InstanceName(InstanceHeader h) => h.Source ?? h.Dataset.GetString(DicomTags.SOPInstanceUID) ?? "?";
}
