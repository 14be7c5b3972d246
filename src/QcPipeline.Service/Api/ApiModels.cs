using System.Text.Json;
using System.Text.Json.Serialization;

namespace QcPipeline.Service.Api;

// The shapes the results API answers with (camelCase JSON). No patient name or ID appears in any of them: a device is
// named by its own attributes, a result by its series and study UIDs.

/// <summary>The latest result of a device for one test (profile).</summary>
public sealed record LatestVerdict(string Profile, string Verdict, long ResultId, DateTimeOffset AnalyzedAt);

/// <summary>A registered device.</summary>
public sealed record DeviceView
{
    public required long Id { get; init; }
    /// <summary><c>serial:…</c>, <c>station:…</c>, <c>ae:…</c> or <c>unknown</c>: what identifies it in the images.</summary>
    public required string Key { get; init; }
    public string? DeviceSerialNumber { get; init; }
    public string? StationName { get; init; }
    public string? CallingAe { get; init; }
    public string? Manufacturer { get; init; }
    public string? ManufacturerModelName { get; init; }
    public string? InstitutionName { get; init; }
    public string? DisplayName { get; init; }
    public string? Site { get; init; }
    public string? Modality { get; init; }
    public required bool HasLimitsOverride { get; init; }
    /// <summary>The device's limit set override as stored (format of <c>qc analyze --limits</c>), or null.</summary>
    public JsonElement? LimitsOverride { get; init; }
    /// <summary>The limits its next analysis uses (defaults with the override applied); in the single-device answer only.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? EffectiveLimits { get; init; }
    public required DateTimeOffset FirstSeenAt { get; init; }
    public required DateTimeOffset LastSeenAt { get; init; }
    /// <summary>The newest result per test.</summary>
    public required IReadOnlyList<LatestVerdict> Latest { get; init; }
}

/// <summary>The body of <c>PATCH /api/devices/{id}</c>: a field that is absent stays as it is; <c>null</c> clears it.</summary>
public sealed record DevicePatch
{
    public string? DisplayName { get; init; }
    public string? Site { get; init; }
    public string? Modality { get; init; }
    /// <summary>A limit set in the format of <c>qc analyze --limits</c>:
    /// <c>{"id":"ct2-2026","version":2,"kind":"constancy","limits":{"ct.water_hu":{"min":-4,"max":4}}}</c>.</summary>
    public JsonElement? Limits { get; init; }
    /// <summary>Why (kept in the audit log).</summary>
    public string? Reason { get; init; }
}

/// <summary>One audit log entry.</summary>
public sealed record AuditView(long Id, DateTimeOffset At, string Actor, string Action, string Entity, string EntityKey, JsonElement? Detail);

public sealed record LimitSetRef(string Id, int Version);

/// <summary>A series-level metric of a result, with its limit and verdict.</summary>
public sealed record MetricView(string Name, double? Value, string Unit, double? LimitMin, double? LimitMax, string Verdict);

/// <summary>One analysis of one series with one test.</summary>
public record ResultView
{
    public required long Id { get; init; }
    public required long DeviceId { get; init; }
    public required Guid ClaimId { get; init; }
    public required string SeriesInstanceUid { get; init; }
    public required string StudyInstanceUid { get; init; }
    public required string Profile { get; init; }
    public required string AlgorithmVersion { get; init; }
    /// <summary>pass, fail or inconclusive.</summary>
    public required string Verdict { get; init; }
    public string? InconclusiveReason { get; init; }
    public required LimitSetRef LimitSet { get; init; }
    public required DateTimeOffset AnalyzedAt { get; init; }
    /// <summary>Why it ran: quiet (the series went quiet), reclaim, reanalyze.</summary>
    public required string Reason { get; init; }
    public required int InstanceCount { get; init; }
    public required double DurationMs { get; init; }
    public required IReadOnlyList<MetricView> Metrics { get; init; }
}

/// <summary>A result with the whole analysis output.</summary>
public sealed record ResultDetail : ResultView
{
    /// <summary>The analysis result as kept: metrics with their limits, per-image values, warnings, ROI geometry.</summary>
    public required JsonElement Result { get; init; }
    /// <summary>The analysed images in set order (an ROI's <c>frame</c> indexes this list), when recorded.</summary>
    public required IReadOnlyList<ResultsStore.ResultImage> Images { get; init; }
    /// <summary>Where the overlay PNG is, when the result has ROI geometry.</summary>
    public string? OverlayUrl { get; init; }
}

/// <summary>A page of items, newest first.</summary>
public sealed record Page<T>(int Total, int Offset, int Limit, IReadOnlyList<T> Items);

/// <summary>A label or integrity finding of a series check.</summary>
public sealed record FindingView(long Id, Guid ClaimId, string RuleId, string Severity, string MessageEn, string MessageZh, string? Keyword,
    int InstanceCount, string? FirstInstance, DateTimeOffset At);

/// <summary>Every result of a series (all claims) and its label findings.</summary>
public sealed record SeriesResults
{
    public required string SeriesInstanceUid { get; init; }
    public string? StudyInstanceUid { get; init; }
    /// <summary>open, claimed or analyzed (series assembly), or null when the index no longer has the series.</summary>
    public string? State { get; init; }
    public Guid? CurrentClaimId { get; init; }
    public int? InstanceCount { get; init; }
    public required IReadOnlyList<ResultView> Results { get; init; }
    public required IReadOnlyList<FindingView> Findings { get; init; }
}

/// <summary>The answer to a re-analysis request: the new claim; its results appear under the series.</summary>
public sealed record ReanalyzeAccepted(string SeriesInstanceUid, Guid ClaimId, string Reason, string ResultsUrl);

/// <summary>The body of <c>POST /api/series/{uid}/reanalyze</c> (optional).</summary>
public sealed record ReanalyzeRequest(string? Reason);
