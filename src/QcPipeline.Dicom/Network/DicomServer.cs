using System.ComponentModel;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Network;

/// <summary>Options of <see cref="DicomServer"/>.</summary>
public sealed record DicomServerOptions
{
    /// <summary>Our (called) AE title; an A-ASSOCIATE-RQ addressed to any other title is rejected (reason 7).</summary>
    public string AeTitle { get; init; } = "QCPIPE";

    /// <summary>Maximum PDU length we receive, announced in the A-ASSOCIATE-AC (sub-item 0x51).</summary>
    public uint MaxPduLength { get; init; } = 256 * 1024;

    /// <summary>ARTIM (PS3.8 §9.1.5): how long a new connection may take to send its A-ASSOCIATE-RQ, and how long
    /// we wait for the peer to close after a release or reject.</summary>
    public TimeSpan ArtimTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A-ABORT an established association when no PDU arrives for this long; null waits forever.</summary>
    public TimeSpan? IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Concurrent associations. Beyond it an A-ASSOCIATE-RQ is answered A-ASSOCIATE-RJ transient,
    /// source service-provider (presentation), reason 2 "local limit exceeded" (PS3.8 §9.3.4).</summary>
    public int MaxAssociations { get; init; } = 32;

    /// <summary>Operations we perform at once per association when the requestor negotiates an asynchronous
    /// operations window (PS3.7 §D.3.3.3); without negotiation, one.</summary>
    public ushort MaxOperationsPerformed { get; init; } = 8;

    /// <summary>Largest C-FIND identifier accepted (bytes); a longer one is answered A700 (out of resources) after its
    /// bytes are read and discarded.</summary>
    public int MaxFindIdentifierLength { get; init; } = 64 * 1024;

    /// <summary>Most matches sent for one C-FIND; when the handler has more, the last response is A700 (out of resources,
    /// "narrow the query") after this many pending responses.</summary>
    public int MaxFindMatches { get; init; } = 1000;

    /// <summary>Transfer syntaxes we accept, most preferred first. For each presentation context the first of these
    /// that the requestor proposed is chosen.</summary>
    public IReadOnlyList<string> TransferSyntaxes { get; init; } = DefaultTransferSyntaxes;

    /// <summary>Which abstract syntaxes are accepted; null means Verification and every Storage SOP class.</summary>
    public Func<string, bool>? AcceptAbstractSyntax { get; init; }

    /// <summary>Calling AE / host / user identity policy; null accepts every calling AE title.</summary>
    public IAssociationPolicy? Policy { get; init; }

    /// <summary>TLS (PS3.15 Annex B.1): when set, every connection is a TLS server stream with these options.</summary>
    public SslServerAuthenticationOptions? Tls { get; init; }

    /// <summary>Limit for the TLS handshake.</summary>
    public TimeSpan TlsHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Explicit VR LE, Implicit VR LE, Deflate, RLE, JPEG Lossless (SV1 and process 14), JPEG-LS lossless,
    /// JPEG 2000 lossless; then Explicit VR big endian and the lossy syntaxes, so a sender that has only those can still deliver.</summary>
    public static IReadOnlyList<string> DefaultTransferSyntaxes { get; } =
    [
        DicomUids.ExplicitVRLittleEndian,
        DicomUids.ImplicitVRLittleEndian,
        DicomUids.DeflatedExplicitVRLittleEndian,
        DicomUids.RLELossless,
        DicomUids.JPEGLosslessSV1,
        DicomUids.JPEGLossless,
        DicomUids.JPEGLSLossless,
        DicomUids.JPEG2000Lossless,
        DicomUids.ExplicitVRBigEndian,
        DicomUids.JPEGLSNearLossless,
        DicomUids.JPEG2000,
        DicomUids.JPEGBaseline8Bit,
        DicomUids.JPEGExtended12Bit,
    ];
}

/// <summary>How one connection ended.</summary>
public enum AssociationOutcome
{
    Released,
    Rejected,
    AbortedByUs,
    AbortedByPeer,
    ClosedByPeer,
    IdleTimeout,
    ArtimTimeout,
    Cancelled,
    Failed,
}

/// <summary>Summary of one handled connection. <see cref="Problem"/> never carries data set values.</summary>
public sealed record AssociationSummary(
    AssociationOutcome Outcome,
    string? CallingAeTitle,
    string? CalledAeTitle,
    int EchoCount,
    AbortReason? AbortReason = null,
    string? Problem = null)
{
    public string? RemoteAddress { get; init; }
    public int StoreCount { get; init; }
    public int StoreFailures { get; init; }
    /// <summary>C-FIND operations answered (any final status).</summary>
    public int FindCount { get; init; }
    public long BytesReceived { get; init; }
    public TimeSpan Duration { get; init; }
    public bool Tls { get; init; }
}

/// <summary>DICOM association acceptor (PS3.8): Verification (C-ECHO SCP); with an <see cref="IStoreHandler"/>,
/// the Storage Service Class as SCP (C-STORE, PS3.4 Annex B); with an <see cref="IFindHandler"/>, C-FIND SCP of its
/// SOP classes (e.g. Modality Worklist, PS3.4 Annex K). <see cref="RunAsync"/> accepts connections from a
/// caller-owned <see cref="TcpListener"/>; <see cref="HandleAsync(Stream, CancellationToken)"/> runs one connection.</summary>
public sealed class DicomServer(DicomServerOptions? options = null, IStoreHandler? storeHandler = null, IDicomServerObserver? observer = null,
    IFindHandler? findHandler = null)
{
    public const string VerificationSopClass = DicomUids.Verification;

    private int _active;

    public DicomServerOptions Options { get; } = options ?? new DicomServerOptions();

    /// <summary>Connections being handled now (from accept, or the end of the TLS handshake, to close).</summary>
    public int ActiveAssociations => Volatile.Read(ref _active);

    /// <summary>Accepts connections until cancelled; each is handled concurrently. Never throws except on cancellation.</summary>
    public async Task RunAsync(TcpListener listener, Action<AssociationSummary>? onCompleted = null, CancellationToken cancellationToken = default)
    {
        var running = new HashSet<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { break; }
                catch (SocketException)
                {
                    // e.g. out of file descriptors: back off instead of spinning on a failing accept
                    try { await Task.Delay(200, cancellationToken).ConfigureAwait(false); } catch (OperationCanceledException) { break; }
                    continue;
                }
                catch (ObjectDisposedException) { break; }
                lock (running) running.RemoveWhere(t => t.IsCompleted);
                // Connections beyond twice the cap are not even read: the rejecting ones must stay bounded too.
                if (running.Count >= Math.Max(1, Options.MaxAssociations) * 2 + 8)
                {
                    client.Dispose();
                    continue;
                }
                var task = Task.Run(async () =>
                {
                    var summary = await HandleAsync(client, cancellationToken).ConfigureAwait(false);
                    try { onCompleted?.Invoke(summary); } catch { /* the callback's problem */ }
                }, CancellationToken.None);
                lock (running) running.Add(task);
            }
        }
        finally
        {
            Task[] all;
            lock (running) all = [.. running];
            await Task.WhenAll(all).ConfigureAwait(false);
        }
    }

    /// <summary>Handles one connection and disposes it. Never throws.</summary>
    public async Task<AssociationSummary> HandleAsync(TcpClient client, CancellationToken cancellationToken = default)
    {
        using (client)
        {
            string? remote = null;
            try
            {
                client.NoDelay = true; // PS3.8 traffic is request/response: delayed ACKs would cap throughput
                remote = (client.Client.RemoteEndPoint as IPEndPoint)?.Address.ToString();
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
            try
            {
                Stream stream = client.GetStream();
                if (Options.Tls is { } tls)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = ssl;
                    using var hs = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    hs.CancelAfter(Options.TlsHandshakeTimeout);
                    try
                    {
                        await ssl.AuthenticateAsServerAsync(tls, hs.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException or Win32Exception)
                    {
                        await ssl.DisposeAsync().ConfigureAwait(false);
                        return ConnectionFailed(new AssociationSummary(AssociationOutcome.Failed, null, null, 0, Problem: "TLS handshake failed: " + ex.Message) { RemoteAddress = remote });
                    }
                }
                await using (stream.ConfigureAwait(false))
                {
                    return await RunSession(stream, remote, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                return ConnectionFailed(new AssociationSummary(AssociationOutcome.Failed, null, null, 0, Problem: ex.Message) { RemoteAddress = remote });
            }
        }
    }

    private AssociationSummary ConnectionFailed(AssociationSummary summary)
    {
        try { observer?.ConnectionFailed(summary); } catch { /* observer's problem */ }
        return summary;
    }

    /// <summary>Runs the acceptor state machine on a connected stream. Never throws; does not dispose the stream.</summary>
    public Task<AssociationSummary> HandleAsync(Stream stream, CancellationToken cancellationToken = default) =>
        RunSession(stream, null, cancellationToken);

    private async Task<AssociationSummary> RunSession(Stream stream, string? remote, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _active);
        try { observer?.AssociationStarted(); } catch { /* observer's problem */ }
        AssociationSummary summary;
        try
        {
            using var session = new AcceptorSession(this, stream, remote);
            summary = await session.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            summary = new AssociationSummary(AssociationOutcome.Failed, null, null, 0, Problem: ex.Message) { RemoteAddress = remote };
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
        try { observer?.AssociationEnded(summary); } catch { /* observer's problem */ }
        return summary;
    }

    /// <summary>Takes one of the <see cref="DicomServerOptions.MaxAssociations"/> slots for an association being
    /// accepted; false when all are taken. Only associations count (from the A-ASSOCIATE-RQ on), not connections
    /// still in ARTIM: a probe or a slow peer must not push real associations over the limit. The compare-exchange
    /// makes simultaneous requests see distinct counts.</summary>
    internal bool TryTakeAssociationSlot()
    {
        int cap = Math.Max(1, Options.MaxAssociations);
        while (true)
        {
            int taken = Volatile.Read(ref _slots);
            if (taken >= cap) return false;
            if (Interlocked.CompareExchange(ref _slots, taken + 1, taken) == taken) return true;
        }
    }

    internal void ReturnAssociationSlot() => Interlocked.Decrement(ref _slots);

    private int _slots;

    internal IStoreHandler? StoreHandler => storeHandler;
    internal IDicomServerObserver? Observer => observer;
    internal IFindHandler? FindHandler => findHandler;

    /// <summary>True when the find handler serves this SOP class.</summary>
    internal bool IsFindSopClass(string uid) => findHandler is not null && findHandler.SopClasses.Contains(uid);

    internal bool IsAcceptedAbstractSyntax(string uid) =>
        Options.AcceptAbstractSyntax is { } f ? f(uid) : uid == VerificationSopClass || storeHandler is not null && DicomUids.IsStorageSopClass(uid) || IsFindSopClass(uid);

    /// <summary>PS3.8 §9.3.3.2: one result per proposed context; the first of our preferred syntaxes the requestor offered.</summary>
    internal PresentationContextAccept Negotiate(PresentationContextRequest pc)
    {
        if (!IsAcceptedAbstractSyntax(pc.AbstractSyntax))
            return new PresentationContextAccept(pc.Id, PresentationContextResult.AbstractSyntaxNotSupported, "");
        // A C-FIND identifier is a small data set: only the uncompressed little endian syntaxes (PS3.5 §10.1), in our order
        // of preference; the compressed ones have no meaning for it.
        if (IsFindSopClass(pc.AbstractSyntax))
        {
            foreach (var ts in Options.TransferSyntaxes.Where(t => t is DicomUids.ExplicitVRLittleEndian or DicomUids.ImplicitVRLittleEndian).Append(DicomUids.ImplicitVRLittleEndian))
            {
                if (pc.TransferSyntaxes.Contains(ts))
                    return new PresentationContextAccept(pc.Id, PresentationContextResult.Acceptance, ts);
            }
            return new PresentationContextAccept(pc.Id, PresentationContextResult.TransferSyntaxesNotSupported, "");
        }
        // Verification needs no data set: any of the uncompressed syntaxes will do.
        foreach (var ts in Options.TransferSyntaxes)
        {
            if (pc.TransferSyntaxes.Contains(ts))
                return new PresentationContextAccept(pc.Id, PresentationContextResult.Acceptance, ts);
        }
        return new PresentationContextAccept(pc.Id, PresentationContextResult.TransferSyntaxesNotSupported, "");
    }
}
