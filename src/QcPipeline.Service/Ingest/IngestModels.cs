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
    /// <summary>The longest <see cref="Client"/> kept (the index column's length).</summary>
    public const int ClientMaxLength = 128;

    /// <summary>Who sent it over HTTP: the API key's name or the JWT subject (STOW-RS); null for DIMSE (see <see cref="CallingAe"/>).
    /// Cut to <see cref="ClientMaxLength"/> characters: a JWT subject or key name can be longer than the index column, and
    /// PostgreSQL would refuse the whole commit.</summary>
    public string? Client
    {
        get => _client;
        init => _client = value is { Length: > ClientMaxLength }
            ? value[..(char.IsHighSurrogate(value[ClientMaxLength - 1]) ? ClientMaxLength - 1 : ClientMaxLength)]
            : value;
    }
    private readonly string? _client;

    /// <summary>STOW-RS <c>/studies/{StudyInstanceUID}</c>: the instance must belong to this study, checked before anything
    /// becomes visible (failure <see cref="IngestStatus.StudyInstanceUidMismatch"/>).</summary>
    public string? ExpectedStudyInstanceUid { get; init; }

    /// <summary>Part 10 input: the transfer syntaxes accepted (the DIMSE listener's list, so both paths accept the same);
    /// null accepts any the toolkit knows. Another is refused with <see cref="IngestStatus.TransferSyntaxNotSupported"/>.</summary>
    public IReadOnlyCollection<string>? AcceptedTransferSyntaxes { get; init; }
}

/// <summary>Status codes of the Part 10 (STOW-RS) input that the toolkit's <see cref="DicomStatus"/> does not name.</summary>
public static class IngestStatus
{
    /// <summary>PS3.18 Table I.2-2: C122 Referenced Transfer Syntax not supported.</summary>
    public const ushort TransferSyntaxNotSupported = 0xC122;

    /// <summary>The instance's Study Instance UID differs from the one in the STOW-RS path. PS3.18 §10.5.3 names this
    /// conflict (409) but gives it no failure reason code; Table I.2-2 allows implementation codes. We use A901: in the
    /// A9xx "does not match" range, so a generic client still classes it as an error, yet distinct from A900.</summary>
    public const ushort StudyInstanceUidMismatch = 0xA901;
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
    /// <summary>SOP Class, Study and Series Instance UIDs, when the data set could be read (also for a rejection).</summary>
    public string? SopClassUid { get; init; }
    public string? StudyInstanceUid { get; init; }
    public string? SeriesInstanceUid { get; init; }
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
