namespace QcPipeline.Service.Bus;

// Messages on the bus (DESIGN.md: immutable records, commands named as imperatives, events in the past tense). They carry
// references to stored instances (UIDs, paths relative to the data folder), never pixel data or patient values.

/// <summary>Event: an instance is durably stored and indexed (published from the ingest outbox, once per store or
/// replacement; a duplicate publishes nothing).</summary>
/// <param name="InstanceId">The index row's id.</param>
/// <param name="Version">The index row's version: 1 for the first store, more for replacements.</param>
/// <param name="Path">Relative to the data folder, forward slashes.</param>
/// <param name="Source">dimse, stow or reconcile.</param>
public sealed record InstanceStored(
    long InstanceId,
    string SopInstanceUid,
    string SopClassUid,
    string StudyInstanceUid,
    string SeriesInstanceUid,
    string? Modality,
    string Path,
    int Version,
    string Source,
    DateTimeOffset ReceivedAt);

/// <summary>Command: analyse one series (sent when the series has been quiet for the configured period, or on a
/// re-analysis request). <paramref name="ClaimId"/> identifies the claim in the database that makes the work happen once.</summary>
public sealed record AnalyzeSeries(
    Guid ClaimId,
    string StudyInstanceUid,
    string SeriesInstanceUid,
    int InstanceCount,
    string Reason,
    DateTimeOffset RequestedAt);

/// <summary>Event: a result was stored for a series and profile.</summary>
/// <param name="Verdict">pass, fail or inconclusive.</param>
public sealed record QcResultRecorded(
    long ResultId,
    string SeriesInstanceUid,
    string DeviceId,
    string Profile,
    string AlgorithmVersion,
    string Verdict,
    DateTimeOffset RecordedAt);
