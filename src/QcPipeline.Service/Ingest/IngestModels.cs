using QcPipeline.Dicom.Network;

namespace QcPipeline.Service.Ingest;

public enum IngestSource { Dimse, Stow }

/// <summary>What is known about an instance before its bytes arrive.</summary>
/// <param name="ExpectedSopClassUid">From the C-STORE command; checked against (0008,0016).</param>
/// <param name="ExpectedSopInstanceUid">From the C-STORE command; checked against (0008,0018).</param>
/// <param name="TransferSyntaxUid">Encoding of the data set bytes (ignored when <paramref name="InputIsPart10"/>: the File Meta says).</param>
/// <param name="InputIsPart10">The bytes are a whole Part 10 file (preamble, File Meta Information, data set), as STOW-RS sends them.</param>
public sealed record IngestRequest(
    IngestSource Source,
    string? CallingAe,
    string? ExpectedSopClassUid,
    string? ExpectedSopInstanceUid,
    string TransferSyntaxUid,
    bool InputIsPart10 = false)
{
    /// <summary>Who sent it over HTTP: the API key's name or the JWT subject (STOW-RS); null for DIMSE (see <see cref="CallingAe"/>).</summary>
    public string? Client { get; init; }
}

public enum IngestOutcome { Stored, Duplicate, Replaced, Rejected }

/// <summary>Bounded failure reasons (metric label values).</summary>
public static class IngestFailure
{
    public const string DiskFull = "disk_full";
    public const string IoError = "io_error";
    public const string Mismatch = "mismatch";
    public const string InvalidUid = "invalid_uid";
    public const string Unparsable = "unparsable";
    public const string Other = "other";
}

/// <summary>The result of one ingest. <see cref="Reason"/> is a short text without patient values (it becomes the DIMSE
/// Error Comment or the STOW failure reason); <see cref="FailureReason"/> is one of <see cref="IngestFailure"/>.</summary>
public sealed record IngestResult(IngestOutcome Outcome, ushort DicomStatus, string? Reason = null, string? FailureReason = null)
{
    public string? SopInstanceUid { get; init; }
    public string? RelativePath { get; init; }
    public long DatasetBytes { get; init; }

    public bool IsSuccess => Outcome != IngestOutcome.Rejected;

    public static IngestResult Rejected(ushort status, string reason, string failureReason) => new(IngestOutcome.Rejected, status, reason, failureReason);

    public static IngestResult FromIo(IOException ex) => IngestService.IsDiskFull(ex)
        ? Rejected(Dicom.Network.DicomStatus.OutOfResources, "storage full", IngestFailure.DiskFull)
        : Rejected(Dicom.Network.DicomStatus.OutOfResources, "storage failure", IngestFailure.IoError);
}

/// <summary>Thrown by <see cref="IncomingInstance.WriteAsync"/> when the instance cannot be stored; carries the result.</summary>
public sealed class IngestFailedException(IngestResult result, Exception? inner = null) : Exception(result.Reason, inner)
{
    public IngestResult Result { get; } = result;

    public StoreFailedException ToStoreFailed() => new(Result.DicomStatus, Result.Reason ?? "storage failure", this);
}
