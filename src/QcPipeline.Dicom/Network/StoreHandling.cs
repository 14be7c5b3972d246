namespace QcPipeline.Dicom.Network;

/// <summary>What the acceptor knows about an established association.</summary>
public sealed record AssociationInfo(
    string CallingAeTitle,
    string CalledAeTitle,
    string? RemoteAddress,
    string? UserName,
    bool Tls,
    string? PeerImplementationClassUid,
    string? PeerImplementationVersionName);

/// <summary>A C-STORE-RQ whose command has arrived; its data set follows.</summary>
/// <param name="TransferSyntaxUid">The transfer syntax of the presentation context: the encoding of the data set bytes.</param>
public sealed record StoreRequest(
    AssociationInfo Association,
    ushort MessageId,
    string SopClassUid,
    string SopInstanceUid,
    string TransferSyntaxUid,
    ushort Priority,
    string? MoveOriginatorAeTitle,
    ushort? MoveOriginatorMessageId);

/// <summary>The status of a C-STORE with an optional error comment (no patient values) and offending element.</summary>
public readonly record struct StoreOutcome(ushort Status, string? ErrorComment = null, DicomTag? OffendingElement = null)
{
    public static StoreOutcome Success { get; } = new(DicomStatus.Success);
}

/// <summary>Thrown by an <see cref="IInstanceSink"/> (or <see cref="IStoreHandler"/>) to answer with a specific
/// status; any other exception answers 0xA700 (out of resources).</summary>
public sealed class StoreFailedException(ushort status, string errorComment, Exception? inner = null) : Exception(errorComment, inner)
{
    public ushort Status { get; } = status;
}

/// <summary>Receives C-STORE data sets as they arrive.</summary>
public interface IStoreHandler
{
    /// <summary>Called when the C-STORE-RQ command has arrived and before its data set. The data set's bytes are
    /// then written to the returned sink fragment by fragment.</summary>
    ValueTask<IInstanceSink> OpenAsync(StoreRequest request, CancellationToken cancellationToken);
}

/// <summary>One incoming instance. Disposing without a successful <see cref="CompleteAsync"/> abandons it
/// (association aborted, peer gone, or a failed write): nothing of it may become visible.</summary>
public interface IInstanceSink : IAsyncDisposable
{
    /// <summary>Appends data set bytes, in the presentation context's transfer syntax. The memory is valid only during the call.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Every data set byte has arrived: make the instance durable and return the status to send. The
    /// acceptor sends 0000 only when this returns success.</summary>
    ValueTask<StoreOutcome> CompleteAsync(CancellationToken cancellationToken);
}

/// <summary>Hooks for metrics and logging. Implementations must be thread-safe and must not throw.</summary>
public interface IDicomServerObserver
{
    void AssociationStarted() { }
    void AssociationEnded(AssociationSummary summary) { }
    /// <summary>A connection that ended before the association state machine ran (a failed TLS handshake, or a transport
    /// error before the first PDU could be read). <see cref="AssociationStarted"/> was not called for it.</summary>
    void ConnectionFailed(AssociationSummary summary) { }
    void StoreCompleted(StoreRequest request, StoreOutcome outcome, long bytes, TimeSpan elapsed) { }
    void EchoCompleted(AssociationInfo association) { }
    /// <summary>A C-FIND ended with <paramref name="status"/> after <paramref name="matches"/> pending responses.</summary>
    void FindCompleted(AssociationInfo association, string sopClassUid, ushort status, int matches, TimeSpan elapsed) { }
}
