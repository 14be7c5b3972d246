using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Network;

/// <summary>Options of <see cref="DicomClient"/>.</summary>
public sealed record DicomClientOptions
{
    public string CallingAeTitle { get; init; } = "QCSCU";
    public string CalledAeTitle { get; init; } = "ANY-SCP";

    /// <summary>Maximum PDU length we receive (announced in the A-ASSOCIATE-RQ).</summary>
    public uint MaxPduLength { get; init; } = 256 * 1024;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>ARTIM: how long to wait for A-ASSOCIATE-AC/RJ and for A-RELEASE-RP (PS3.8 §9.1.5).</summary>
    public TimeSpan ArtimTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for a DIMSE response once the request has been sent.</summary>
    public TimeSpan DimseTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>TLS client options (target host, certificates); null for plain TCP.</summary>
    public SslClientAuthenticationOptions? Tls { get; init; }

    /// <summary>User identity negotiation (PS3.7 §D.3.3.7); null sends none.</summary>
    public UserIdentityRequest? UserIdentity { get; init; }
}

/// <summary>The association was rejected (A-ASSOCIATE-RJ).</summary>
public sealed class DicomAssociationRejectedException(AssociateReject reject)
    : Exception($"association rejected: result {reject.Result}, source {reject.Source}, reason {reject.Reason} ({Describe(reject)})")
{
    public AssociateReject Reject { get; } = reject;

    public static string Describe(AssociateReject rj) => (rj.Source, rj.Reason) switch
    {
        (RejectSource.ServiceUser, 1) => "no reason given",
        (RejectSource.ServiceUser, 2) => "application context name not supported",
        (RejectSource.ServiceUser, 3) => "calling AE title not recognized",
        (RejectSource.ServiceUser, 7) => "called AE title not recognized",
        (RejectSource.ServiceProviderAcse, 1) => "no reason given",
        (RejectSource.ServiceProviderAcse, 2) => "protocol version not supported",
        (RejectSource.ServiceProviderPresentation, 1) => "temporary congestion",
        (RejectSource.ServiceProviderPresentation, 2) => "local limit exceeded",
        _ => "reserved",
    };
}

/// <summary>The peer aborted the association or broke the protocol.</summary>
public sealed class DicomAssociationAbortedException(string message) : Exception(message);

/// <summary>What a C-FIND returned: the pending responses' identifiers and statuses (FF00/FF01), and the final response.</summary>
public sealed record FindResult(IReadOnlyList<DicomDataset> Matches, IReadOnlyList<ushort> PendingStatuses, DimseResponse Final);

/// <summary>A DIMSE response: its status, error comment and the whole command set.</summary>
public sealed record DimseResponse(ushort Status, string? ErrorComment, DicomDataset Command)
{
    public bool IsSuccess => Status == DicomStatus.Success;
    public string Category => DicomStatus.Category(Status);
}

/// <summary>Association requestor (PS3.8 §9.2 requestor side) with C-ECHO and C-STORE as SCU. One operation at a
/// time; not thread-safe. Dispose aborts an association that was not released.</summary>
public sealed class DicomClient : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly TcpClient _tcp;
    private readonly PduReader _reader;
    private readonly DicomClientOptions _options;
    private ushort _nextMessageId = 1;
    private bool _open;

    private DicomClient(TcpClient tcp, Stream stream, DicomClientOptions options, AssociateAccept accept)
    {
        _tcp = tcp;
        _stream = stream;
        _options = options;
        _reader = new PduReader(options.MaxPduLength) { ReuseDataBuffer = false };
        Accept = accept;
        _open = true;
    }

    /// <summary>The A-ASSOCIATE-AC received.</summary>
    public AssociateAccept Accept { get; }

    /// <summary>The peer's maximum PDU length (0 = unlimited).</summary>
    public uint PeerMaxPduLength => Accept.UserInformation.MaxPduLength;

    /// <summary>Opens a connection and negotiates an association proposing <paramref name="contexts"/>.</summary>
    /// <exception cref="DicomAssociationRejectedException">The peer rejected the association.</exception>
    /// <exception cref="DicomAssociationAbortedException">The peer aborted or broke the protocol.</exception>
    public static async Task<DicomClient> ConnectAsync(string host, int port, IReadOnlyList<PresentationContextRequest> contexts,
        DicomClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DicomClientOptions();
        var tcp = new TcpClient { NoDelay = true };
        Stream? stream = null;
        bool handedOver = false;
        try
        {
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                connect.CancelAfter(options.ConnectTimeout);
                try
                {
                    await tcp.ConnectAsync(host, port, connect.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"no connection to {host}:{port} within {options.ConnectTimeout.TotalSeconds:0.#} s");
                }
            }
            tcp.NoDelay = true;
            stream = tcp.GetStream();
            if (options.Tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                using var hs = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                hs.CancelAfter(options.ArtimTimeout);
                await ssl.AuthenticateAsClientAsync(tls, hs.Token).ConfigureAwait(false);
            }

            var rq = new AssociateRequest(options.CallingAeTitle, options.CalledAeTitle, contexts, new UserInformation
            {
                MaxPduLength = options.MaxPduLength,
                ImplementationClassUid = DicomImplementation.ClassUid,
                ImplementationVersionName = DicomImplementation.VersionName,
                UserIdentity = options.UserIdentity,
            });
            await stream.WriteAsync(PduWriter.ToArray(rq), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            var reader = new PduReader(options.MaxPduLength);
            var pdu = await ReadWithin(reader, stream, options.ArtimTimeout, "A-ASSOCIATE-AC", cancellationToken).ConfigureAwait(false);
            switch (pdu)
            {
                case AssociateAccept ac:
                    var client = new DicomClient(tcp, stream, options, ac);
                    stream = null;
                    handedOver = true;
                    return client;
                case AssociateReject rj:
                    throw new DicomAssociationRejectedException(rj);
                case Abort ab:
                    throw new DicomAssociationAbortedException($"association aborted by the peer (source {ab.Source}, reason {ab.Reason})");
                case null:
                    throw new DicomAssociationAbortedException("the peer closed the connection instead of answering the A-ASSOCIATE-RQ");
                default:
                    await TryAbort(stream).ConfigureAwait(false);
                    throw new DicomAssociationAbortedException($"unexpected {pdu.Type} in answer to A-ASSOCIATE-RQ");
            }
        }
        catch (DicomNetworkException ex)
        {
            if (stream is not null) await TryAbort(stream, ex.Reason).ConfigureAwait(false);
            throw new DicomAssociationAbortedException("malformed answer to A-ASSOCIATE-RQ: " + ex.Message);
        }
        finally
        {
            // stream is null after a successful hand-over to the client; otherwise nothing may leak.
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
            if (!handedOver) tcp.Dispose();
        }
    }

    /// <summary>The accepted presentation context for an abstract syntax; with <paramref name="transferSyntax"/>,
    /// only one accepted with that syntax.</summary>
    public PresentationContextAccept? FindContext(IReadOnlyList<PresentationContextRequest> proposed, string abstractSyntax, string? transferSyntax = null)
    {
        foreach (var ac in Accept.PresentationContexts)
        {
            if (ac.Result != PresentationContextResult.Acceptance) continue;
            var rq = proposed.FirstOrDefault(p => p.Id == ac.Id);
            if (rq is null || rq.AbstractSyntax != abstractSyntax) continue;
            if (transferSyntax is null || ac.TransferSyntax == transferSyntax) return ac;
        }
        return null;
    }

    /// <summary>C-ECHO on an accepted Verification context.</summary>
    public async Task<DimseResponse> EchoAsync(byte presentationContextId, CancellationToken cancellationToken = default)
    {
        ushort id = _nextMessageId++;
        try
        {
            await SendCommand(presentationContextId, DimseCommand.EchoRequest(id), cancellationToken).ConfigureAwait(false);
            return await ReadResponse(id, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Whatever broke (timeout, cancel, malformed answer), the association is mid-message: it cannot go on.
            await AbortAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>C-STORE: sends the command, then the data set read from <paramref name="dataset"/> (already in the
    /// context's transfer syntax, without File Meta Information) in PDVs that fit the peer's maximum PDU length.</summary>
    public async Task<DimseResponse> StoreAsync(byte presentationContextId, string sopClassUid, string sopInstanceUid, Stream dataset,
        ushort priority = 0, CancellationToken cancellationToken = default)
    {
        ushort id = _nextMessageId++;
        try
        {
            return await StoreCoreAsync(presentationContextId, id, sopClassUid, sopInstanceUid, dataset, priority, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Whatever broke (timeout, cancel, a failing input stream, malformed answer), the association is
            // mid-message: a release would be a protocol error, so it is aborted.
            await AbortAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<DimseResponse> StoreCoreAsync(byte presentationContextId, ushort id, string sopClassUid, string sopInstanceUid, Stream dataset,
        ushort priority, CancellationToken cancellationToken)
    {
        await SendCommand(presentationContextId, DimseCommand.StoreRequest(id, sopClassUid, sopInstanceUid, priority), cancellationToken).ConfigureAwait(false);

        uint peerMax = PeerMaxPduLength;
        int chunk = peerMax == 0 || peerMax > 1024 * 1024 ? 1024 * 1024 : (int)peerMax - Pdv.HeaderLength;
        // Data set fragments have even lengths (DCMTK aborts on an odd one: "DIMSE: Odd Fragment Length"), so every
        // fragment but the last is a multiple of 2 and an odd-length data set (only a deflated one can be) gets one
        // trailing 00H pad byte, as DCMTK's storescu sends it; inflaters ignore bytes after the final deflate block.
        chunk &= ~1;
        if (chunk <= 0) throw new InvalidOperationException($"peer maximum PDU length {peerMax} leaves no room for data");
        var buffer = ArrayPool<byte>.Shared.Rent(chunk + 12);
        try
        {
            // Read one chunk ahead so the last PDV can carry the last-fragment bit.
            int have = await dataset.ReadAtLeastAsync(buffer.AsMemory(12, chunk), chunk, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var next = ArrayPool<byte>.Shared.Rent(chunk + 12);
            try
            {
                while (true)
                {
                    int nextHave = have == chunk
                        ? await dataset.ReadAtLeastAsync(next.AsMemory(12, chunk), chunk, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false)
                        : 0;
                    bool last = nextHave == 0;
                    if (last && (have & 1) == 1) buffer[12 + have++] = 0; // have < chunk here: room for the pad
                    // PDU header (6) + PDV header (6) written in front of the data, so each PDU is one write.
                    WritePDataHeader(buffer, have, presentationContextId, isCommand: false, last);
                    await _stream.WriteAsync(buffer.AsMemory(0, 12 + have), cancellationToken).ConfigureAwait(false);
                    if (last) break;
                    (buffer, next) = (next, buffer);
                    have = nextHave;
                }
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(next);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return await ReadResponse(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>C-FIND SCU (PS3.7 §9.1.2): sends the request and its identifier (in the context's transfer syntax) and
    /// collects the pending responses' identifiers until the final response. With <paramref name="cancelAfter"/> ≥ 0 a
    /// C-CANCEL-RQ is sent once that many matches have arrived (the SCP then ends with FE00, or finishes first).</summary>
    /// <param name="rawIdentifier">Bytes sent instead of <paramref name="identifier"/>'s encoding (tests of malformed queries).</param>
    public async Task<FindResult> FindAsync(byte presentationContextId, string sopClassUid, DicomDataset identifier, int cancelAfter = -1,
        ushort priority = 0, byte[]? rawIdentifier = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        ushort id = _nextMessageId++;
        var ts = Accept.PresentationContexts.First(p => p.Id == presentationContextId).TransferSyntax;
        try
        {
            await SendCommand(presentationContextId, DimseCommand.FindRequest(id, sopClassUid, priority), cancellationToken).ConfigureAwait(false);
            var data = rawIdentifier ?? DimseCommand.SerializeDataset(identifier, ts);
            var output = new ArrayBufferWriter<byte>(data.Length + 32);
            PduWriter.WriteFragments(output, presentationContextId, isCommand: false, data, PeerMaxPduLength);
            await _stream.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);

            var matches = new List<DicomDataset>();
            var statuses = new List<ushort>();
            bool cancelled = false;
            while (true)
            {
                if (cancelAfter >= 0 && !cancelled && matches.Count >= cancelAfter)
                {
                    cancelled = true;
                    await SendCommand(presentationContextId, DimseCommand.CancelRequest(id), cancellationToken).ConfigureAwait(false);
                    await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                var (rsp, dataSet) = await ReadMessage(cancellationToken).ConfigureAwait(false);
                if (rsp.Command.GetInt32OrDefault(DicomTags.MessageIDBeingRespondedTo) != id) continue;
                if (rsp.Status is DicomStatus.Pending or DicomStatus.PendingOptionalKeysUnsupported)
                {
                    statuses.Add(rsp.Status);
                    matches.Add(dataSet is null ? new DicomDataset() : DimseCommand.ParseDataset(dataSet, ts));
                    continue;
                }
                return new FindResult(matches, statuses, rsp);
            }
        }
        catch
        {
            await AbortAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>One DIMSE message: the command and, when it announces one, its data set bytes.</summary>
    private async Task<(DimseResponse Response, byte[]? DataSet)> ReadMessage(CancellationToken ct)
    {
        var command = new ArrayBufferWriter<byte>(256);
        DimseResponse? rsp = null;
        ArrayBufferWriter<byte>? data = null;
        while (true)
        {
            var pdu = await ReadWithin(_reader, _stream, _options.DimseTimeout, "DIMSE response", ct).ConfigureAwait(false);
            switch (pdu)
            {
                case PDataTransfer pd:
                    foreach (var pdv in pd.Pdvs)
                    {
                        if (pdv.IsCommand)
                        {
                            command.Write(pdv.Data.Span);
                            if (command.WrittenCount > DimseCommand.MaxCommandLength) throw new DicomAssociationAbortedException("response command set too long");
                            if (!pdv.IsLast) continue;
                            var cmd = DimseCommand.Parse(command.WrittenSpan);
                            rsp = new DimseResponse((ushort)cmd.GetInt32OrDefault(DicomTags.Status, 0xFFFF), cmd.GetString(DicomTags.ErrorComment), cmd);
                            if (!DimseCommand.HasDataSet(cmd)) return (rsp, null);
                            data = new ArrayBufferWriter<byte>(1024);
                        }
                        else
                        {
                            if (data is null || rsp is null) throw new DicomAssociationAbortedException("data set without its command");
                            data.Write(pdv.Data.Span);
                            if (pdv.IsLast) return (rsp, data.WrittenSpan.ToArray());
                        }
                    }
                    break;
                case Abort ab:
                    _open = false;
                    throw new DicomAssociationAbortedException($"association aborted by the peer (source {ab.Source}, reason {ab.Reason})");
                case null:
                    _open = false;
                    throw new DicomAssociationAbortedException("the peer closed the connection before responding");
                default:
                    _open = false;
                    throw new DicomAssociationAbortedException($"unexpected {pdu.Type} while waiting for a response");
            }
        }
    }

    /// <summary>A-RELEASE: sends the request, waits (bounded by ARTIM) for the response and closes.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (!_open) return;
        await _stream.WriteAsync(PduWriter.ToArray(new ReleaseRequest()), cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var pdu = await ReadWithin(_reader, _stream, _options.ArtimTimeout, "A-RELEASE-RP", cancellationToken).ConfigureAwait(false);
            if (pdu is Abort ab) throw new DicomAssociationAbortedException($"association aborted by the peer during release (source {ab.Source}, reason {ab.Reason})");
            if (pdu is not (ReleaseResponse or null)) throw new DicomAssociationAbortedException($"unexpected {pdu.Type} in answer to A-RELEASE-RQ");
        }
        finally
        {
            _open = false;
            await CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends A-ABORT (source service user) and closes.</summary>
    public async Task AbortAsync()
    {
        if (!_open) return;
        _open = false;
        await TryAbort(_stream, AbortReason.NotSpecified, AbortSource.ServiceUser).ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_open) await AbortAsync().ConfigureAwait(false);
        else await CloseAsync().ConfigureAwait(false);
    }

    private async Task CloseAsync()
    {
        try { await _stream.DisposeAsync().ConfigureAwait(false); } catch { /* closing */ }
        _tcp.Dispose();
    }

    private static void WritePDataHeader(byte[] b, int dataLength, byte pcId, bool isCommand, bool last)
    {
        b[0] = (byte)PduType.PDataTransfer;
        b[1] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(2), checked((uint)(dataLength + Pdv.HeaderLength)));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(6), checked((uint)(dataLength + 2)));
        b[10] = pcId;
        b[11] = (byte)((isCommand ? 1 : 0) | (last ? 2 : 0));
    }

    private async Task SendCommand(byte pcId, byte[] command, CancellationToken ct)
    {
        if (!_open) throw new InvalidOperationException("the association is not open");
        var output = new ArrayBufferWriter<byte>(command.Length + 32);
        PduWriter.WriteFragments(output, pcId, isCommand: true, command, PeerMaxPduLength);
        await _stream.WriteAsync(output.WrittenMemory, ct).ConfigureAwait(false);
    }

    private async Task<DimseResponse> ReadResponse(ushort messageId, CancellationToken ct)
    {
        var command = new ArrayBufferWriter<byte>(256);
        while (true)
        {
            Pdu? pdu;
            try
            {
                pdu = await ReadWithin(_reader, _stream, _options.DimseTimeout, "DIMSE response", ct).ConfigureAwait(false);
            }
            catch (DicomNetworkException ex)
            {
                _open = false;
                await TryAbort(_stream, ex.Reason).ConfigureAwait(false);
                throw new DicomAssociationAbortedException("malformed PDU from the peer: " + ex.Message);
            }
            switch (pdu)
            {
                case PDataTransfer pd:
                    foreach (var pdv in pd.Pdvs)
                    {
                        if (!pdv.IsCommand) continue; // C-ECHO/C-STORE responses carry no data set
                        command.Write(pdv.Data.Span);
                        if (command.WrittenCount > DimseCommand.MaxCommandLength)
                            throw new DicomAssociationAbortedException("response command set too long");
                        if (!pdv.IsLast) continue;
                        var cmd = DimseCommand.Parse(command.WrittenSpan);
                        command.Clear();
                        if (cmd.GetInt32OrDefault(DicomTags.MessageIDBeingRespondedTo) != messageId) continue;
                        ushort status = (ushort)cmd.GetInt32OrDefault(DicomTags.Status, 0xFFFF);
                        return new DimseResponse(status, cmd.GetString(DicomTags.ErrorComment), cmd);
                    }
                    break;
                case Abort ab:
                    _open = false;
                    throw new DicomAssociationAbortedException($"association aborted by the peer (source {ab.Source}, reason {ab.Reason})");
                case null:
                    _open = false;
                    throw new DicomAssociationAbortedException("the peer closed the connection before responding");
                default:
                    _open = false;
                    await TryAbort(_stream, AbortReason.UnexpectedPdu).ConfigureAwait(false);
                    throw new DicomAssociationAbortedException($"unexpected {pdu.Type} while waiting for a response");
            }
        }
    }

    private static async Task<Pdu?> ReadWithin(PduReader reader, Stream stream, TimeSpan timeout, string what, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            return await reader.ReadAsync(stream, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no {what} within {timeout.TotalSeconds:0.#} s");
        }
        catch (IOException ex)
        {
            throw new DicomAssociationAbortedException($"connection lost while waiting for {what}: {ex.Message}");
        }
    }

    private static async Task TryAbort(Stream stream, AbortReason reason = AbortReason.NotSpecified, AbortSource source = AbortSource.ServiceProvider)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await stream.WriteAsync(PduWriter.ToArray(new Abort(source, reason)), cts.Token).ConfigureAwait(false);
            await stream.FlushAsync(cts.Token).ConfigureAwait(false);
        }
        catch
        {
            // the peer may be gone already
        }
    }
}
