namespace QcPipeline.Dicom.Network;

/// <summary>A C-FIND-RQ with its identifier (PS3.7 §9.1.2.1): the query keys, decoded from the presentation context's
/// transfer syntax in the identifier's own Specific Character Set.</summary>
public sealed record FindRequest(
    AssociationInfo Association,
    ushort MessageId,
    string SopClassUid,
    ushort Priority,
    DicomDataset Identifier);

/// <summary>One match of a C-FIND: its identifier (the requested return keys with their values) and whether it is sent
/// with status FF01 (optional keys not supported for matching or existence, PS3.4 §C.4.1.1.4) rather than FF00.</summary>
public sealed record FindMatch(DicomDataset Identifier, bool OptionalKeysUnsupported = false);

/// <summary>Thrown by an <see cref="IFindHandler"/> to end a C-FIND with a failure status: A900 (identifier does not
/// match SOP class), C000–CFFF (unable to process) or A700 (out of resources), with an error comment (no patient values)
/// and optionally the offending element.</summary>
public sealed class FindFailedException(ushort status, string errorComment, DicomTag? offendingElement = null) : Exception(errorComment)
{
    public ushort Status { get; } = status;
    public DicomTag? OffendingElement { get; } = offendingElement;
}

/// <summary>Answers C-FIND requests of the SOP classes it lists (e.g. the Modality Worklist Information Model – FIND,
/// PS3.4 Annex K). The acceptor negotiates those SOP classes only when a handler is configured.</summary>
public interface IFindHandler
{
    /// <summary>The query/retrieve information models (abstract syntaxes) served.</summary>
    IReadOnlyCollection<string> SopClasses { get; }

    /// <summary>The matches of <paramref name="request"/>, as they are found: the acceptor sends one pending response per
    /// match, then Success. Cancelled on C-CANCEL (the acceptor then answers FE00), on the match limit, or when the
    /// association ends. Throw <see cref="FindFailedException"/> for a failure status.</summary>
    IAsyncEnumerable<FindMatch> FindAsync(FindRequest request, CancellationToken cancellationToken);
}
