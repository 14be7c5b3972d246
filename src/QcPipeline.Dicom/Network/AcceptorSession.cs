using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Network;

/// <summary>One connection on the acceptor side: the upper-layer state machine of PS3.8 §9.2 (Sta2 → Sta3 → Sta6 →
/// Sta8 → Sta13) and the DIMSE service on the established association.</summary>
internal sealed class AcceptorSession : IDisposable
{
    private readonly DicomServer _server;
    private readonly DicomServerOptions _options;
    private readonly Stream _stream;
    private readonly string? _remote;
    private bool _holdsSlot;
    private readonly PduReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Dictionary<byte, (string AbstractSyntax, string TransferSyntax)> _contexts = [];
    private readonly ArrayBufferWriter<byte> _command = new(512);
    private readonly List<Task> _pending = [];
    private readonly long _started = Stopwatch.GetTimestamp();
    private SemaphoreSlim _window = new(1, 1);
    private byte _commandPc;
    private Operation? _op;
    private uint _peerMax;
    private AssociationInfo? _info;
    private string? _calling, _called;
    private int _echoes, _stores, _storeFailures;
    private long _bytes;

    public AcceptorSession(DicomServer server, Stream stream, string? remote)
    {
        _server = server;
        _options = server.Options;
        _stream = stream;
        _remote = remote;
        _reader = new PduReader(_options.MaxPduLength) { ReuseDataBuffer = true };
    }

    public void Dispose()
    {
        ReturnSlot();
        _writeLock.Dispose();
        _window.Dispose();
    }

    private sealed class Operation
    {
        public ushort CommandField;
        public ushort MessageId;
        public byte PcId;
        public string? SopClass;
        public string? SopInstance;
        public StoreRequest? Request;
        public IInstanceSink? Sink;
        public StoreOutcome? Fixed;
        public Exception? Failure;
        public long Bytes;
        public long Started;
        public bool HoldsWindow;
        /// <summary>C-FIND: the identifier's bytes as they arrive (null once it is over the limit).</summary>
        public ArrayBufferWriter<byte>? FindData;
        public ushort Priority;
        public string? TransferSyntax;
    }

    /// <summary>C-FINDs being answered, by message id, so a C-CANCEL-RQ can stop one (PS3.7 §9.3.2.3).</summary>
    private readonly Dictionary<ushort, CancellationTokenSource> _finds = [];
    private int _findCount;

    private AssociationSummary Sum(AssociationOutcome o, AbortReason? r = null, string? p = null) =>
        new(o, _calling, _called, _echoes, r, p)
        {
            RemoteAddress = _remote,
            StoreCount = Volatile.Read(ref _stores),
            StoreFailures = Volatile.Read(ref _storeFailures),
            FindCount = Volatile.Read(ref _findCount),
            BytesReceived = Interlocked.Read(ref _bytes),
            Duration = Stopwatch.GetElapsedTime(_started),
            Tls = _stream is SslStream,
        };

    public async Task<AssociationSummary> RunAsync(CancellationToken cancellationToken)
    {
        using var readCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _readCts = readCts;
        try
        {
            return await Loop(readCts, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            readCts.Cancel();
            // Abandon an instance whose data set never completed: nothing of it may become visible.
            if (_op?.Sink is { } sink) await SafeDispose(sink).ConfigureAwait(false);
            if (_op is { HoldsWindow: true }) _window.Release();
            _op = null;
            Task[] pending;
            lock (_pending) pending = [.. _pending];
            try { await Task.WhenAll(pending).ConfigureAwait(false); } catch { /* each logs its own outcome */ }
        }
    }

    private async Task<AssociationSummary> Loop(CancellationTokenSource readCts, CancellationToken ct)
    {
        // Sta2: transport open, ARTIM running, awaiting A-ASSOCIATE-RQ.
        var (first, firstProblem) = await ReadWithTimeout(readCts, _options.ArtimTimeout, allowWhilePending: false, ct).ConfigureAwait(false);
        if (firstProblem is { } fp) return fp.Outcome == AssociationOutcome.IdleTimeout ? Sum(AssociationOutcome.ArtimTimeout, p: "no A-ASSOCIATE-RQ within the ARTIM timeout") : fp;
        switch (first)
        {
            case null:
                return Sum(AssociationOutcome.ClosedByPeer, p: "closed before A-ASSOCIATE-RQ");
            case Abort:
                return Sum(AssociationOutcome.AbortedByPeer);
            case AssociateRequest { UserInformation.MaxPduLength: > 0 and <= Pdv.HeaderLength + 1 } small:
                // No response PDV would fit (PS3.8 §D.1: the length counts the PDV headers): an invalid parameter value.
                await TrySend(new Abort(AbortSource.ServiceProvider, AbortReason.InvalidPduParameterValue)).ConfigureAwait(false);
                _calling = small.CallingAeTitle;
                _called = small.CalledAeTitle;
                return Sum(AssociationOutcome.AbortedByUs, AbortReason.InvalidPduParameterValue, $"maximum PDU length {small.UserInformation.MaxPduLength} leaves no room for data");
            case AssociateRequest rq:
                if (await OnAssociateRequest(rq, ct).ConfigureAwait(false) is { } rejected)
                {
                    await AwaitPeerClose(readCts, ct).ConfigureAwait(false);
                    return rejected;
                }
                break;
            default:
                await TrySend(new Abort(AbortSource.ServiceProvider, AbortReason.UnexpectedPdu)).ConfigureAwait(false);
                return Sum(AssociationOutcome.AbortedByUs, AbortReason.UnexpectedPdu, $"{first.Type} before A-ASSOCIATE-RQ");
        }

        // Sta6: association established.
        while (true)
        {
            var (pdu, problem) = await ReadWithTimeout(readCts, _options.IdleTimeout, allowWhilePending: true, ct).ConfigureAwait(false);
            if (problem is not null) return problem;
            if (pdu is null) return Sum(AssociationOutcome.ClosedByPeer, p: "connection closed without release");
            try
            {
                switch (pdu)
                {
                    case PDataTransfer pd:
                        foreach (var pdv in pd.Pdvs) await OnPdv(pdv, ct).ConfigureAwait(false);
                        break;
                    case ReleaseRequest:
                        if (_op is not null || _command.WrittenCount > 0)
                            throw new DicomNetworkException(AbortReason.UnexpectedPdu, PduType.ReleaseRequest, "PDU", 0, "A-RELEASE-RQ inside an incomplete DIMSE message");
                        await WaitPending().ConfigureAwait(false);
                        await Send(new ReleaseResponse(), ct).ConfigureAwait(false);
                        ReturnSlot(); // released: the slot is free while ARTIM waits for the peer to close
                        // Sta13: wait for the requestor to close, bounded by ARTIM.
                        await AwaitPeerClose(readCts, ct).ConfigureAwait(false);
                        return Sum(AssociationOutcome.Released);
                    case Abort:
                        return Sum(AssociationOutcome.AbortedByPeer);
                    default:
                        throw new DicomNetworkException(AbortReason.UnexpectedPdu, pdu.Type, "PDU", 0, $"unexpected {pdu.Type} on an established association");
                }
            }
            catch (DicomNetworkException ex)
            {
                await TrySend(new Abort(AbortSource.ServiceProvider, ex.Reason)).ConfigureAwait(false);
                return Sum(AssociationOutcome.AbortedByUs, ex.Reason, ex.Message);
            }
            catch (OperationCanceledException)
            {
                await TrySend(new Abort(AbortSource.ServiceProvider, AbortReason.NotSpecified)).ConfigureAwait(false);
                return Sum(AssociationOutcome.Cancelled);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                return Sum(AssociationOutcome.ClosedByPeer, p: ex.Message);
            }
            catch (Exception ex)
            {
                await TrySend(new Abort(AbortSource.ServiceProvider, AbortReason.NotSpecified)).ConfigureAwait(false);
                return Sum(AssociationOutcome.Failed, AbortReason.NotSpecified, ex.Message);
            }
        }
    }

    /// <summary>Reads the next PDU; a timeout only counts while no operation is being performed for the peer.
    /// Returns a summary instead of a PDU when the connection must end.</summary>
    private async Task<(Pdu? Pdu, AssociationSummary? End)> ReadWithTimeout(CancellationTokenSource readCts, TimeSpan? timeout, bool allowWhilePending, CancellationToken ct)
    {
        // A response could not be written (peer gone or not reading): stop here, even if more PDUs are already buffered.
        // (When the server itself is stopping, the cancellation path below sends its A-ABORT instead.)
        if (_writeFailed && !ct.IsCancellationRequested) return (null, Sum(AssociationOutcome.Failed, p: "the peer stopped reading our responses"));
        var read = _reader.ReadAsync(_stream, readCts.Token).AsTask();
        try
        {
            if (timeout is { } t && !read.IsCompleted)
            {
                while (true)
                {
                    using var delayCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    var delay = Task.Delay(t, delayCts.Token);
                    var done = await Task.WhenAny(read, delay).ConfigureAwait(false);
                    if (done == read) { delayCts.Cancel(); break; }
                    if (ct.IsCancellationRequested) break;
                    if (allowWhilePending && HasPending()) continue;
                    await readCts.CancelAsync().ConfigureAwait(false);
                    try { await read.ConfigureAwait(false); } catch { /* cancelled */ }
                    await TrySend(new Abort(AbortSource.ServiceProvider, AbortReason.NotSpecified)).ConfigureAwait(false);
                    return (null, Sum(AssociationOutcome.IdleTimeout, AbortReason.NotSpecified, "idle timeout"));
                }
            }
            return (await read.ConfigureAwait(false), null);
        }
        catch (OperationCanceledException) when (_writeFailed && !ct.IsCancellationRequested)
        {
            return (null, Sum(AssociationOutcome.Failed, p: "the peer stopped reading our responses"));
        }
        catch (OperationCanceledException)
        {
            await TrySend(new Abort(AbortSource.ServiceProvider, AbortReason.NotSpecified)).ConfigureAwait(false);
            return (null, Sum(AssociationOutcome.Cancelled));
        }
        catch (DicomNetworkException ex) when (ex.ConnectionClosed)
        {
            return (null, Sum(AssociationOutcome.ClosedByPeer, p: ex.Message));
        }
        catch (DicomNetworkException ex)
        {
            await TrySend(new Abort(AbortSource.ServiceProvider, ex.Reason)).ConfigureAwait(false);
            return (null, Sum(AssociationOutcome.AbortedByUs, ex.Reason, ex.Message));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            return (null, Sum(AssociationOutcome.ClosedByPeer, p: ex.Message));
        }
    }

    private bool HasPending()
    {
        lock (_pending)
        {
            _pending.RemoveAll(t => t.IsCompleted);
            return _pending.Count > 0;
        }
    }

    private async Task WaitPending()
    {
        Task[] pending;
        lock (_pending) pending = [.. _pending];
        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    /// <summary>After A-ASSOCIATE-RJ or A-RELEASE-RP the requestor closes the connection; ARTIM bounds the wait (PS3.8 §9.2.3).</summary>
    private async Task AwaitPeerClose(CancellationTokenSource readCts, CancellationToken ct)
    {
        try
        {
            var read = _reader.ReadAsync(_stream, readCts.Token).AsTask();
            using var delayCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var done = await Task.WhenAny(read, Task.Delay(_options.ArtimTimeout, delayCts.Token)).ConfigureAwait(false);
            delayCts.Cancel();
            if (done != read) await readCts.CancelAsync().ConfigureAwait(false);
            try { await read.ConfigureAwait(false); } catch { /* closing anyway */ }
        }
        catch
        {
            // closing anyway
        }
    }

    /// <summary>Sta3: decides on the request. Returns the summary when the association was rejected.</summary>
    private async Task<AssociationSummary?> OnAssociateRequest(AssociateRequest rq, CancellationToken ct)
    {
        _calling = rq.CallingAeTitle;
        _called = rq.CalledAeTitle;

        async Task<AssociationSummary> Reject(RejectResult result, RejectSource source, byte reason, string problem)
        {
            ReturnSlot(); // a rejected request holds no slot while ARTIM waits for the peer to close
            await Send(new AssociateReject(result, source, reason), ct).ConfigureAwait(false);
            return Sum(AssociationOutcome.Rejected, p: problem);
        }

        // PS3.8 §9.3.2: bit 0 of the protocol version is version 1.
        if ((rq.ProtocolVersion & 1) == 0)
            return await Reject(RejectResult.Permanent, RejectSource.ServiceProviderAcse, 2, $"protocol version 0x{rq.ProtocolVersion:X4} not supported").ConfigureAwait(false);
        if (!string.Equals(rq.CalledAeTitle, _options.AeTitle.Trim(' '), StringComparison.Ordinal))
            return await Reject(RejectResult.Permanent, RejectSource.ServiceUser, AssociateReject.CalledAeTitleNotRecognized, $"called AE title '{rq.CalledAeTitle}' is not '{_options.AeTitle}'").ConfigureAwait(false);
        if (rq.ApplicationContextName != AssociateRequest.DicomApplicationContext)
            return await Reject(RejectResult.Permanent, RejectSource.ServiceUser, 2, $"application context {rq.ApplicationContextName} not supported").ConfigureAwait(false);
        _holdsSlot = _server.TryTakeAssociationSlot();
        if (!_holdsSlot)
            return await Reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, 2, $"local limit of {_options.MaxAssociations} associations exceeded").ConfigureAwait(false);

        X509Certificate2? clientCert = _stream is SslStream ssl && ssl.RemoteCertificate is { } rc ? rc as X509Certificate2 ?? new X509Certificate2(rc) : null;
        var decision = (_options.Policy ?? AllowAnyPolicy.Instance).Evaluate(new AssociationRequestContext(rq, _remote is null ? null : IPAddress.Parse(_remote), clientCert));
        if (!decision.Accept)
            return await Reject(decision.Result, decision.Source, decision.Reason, decision.Problem ?? "rejected by policy").ConfigureAwait(false);

        _peerMax = rq.UserInformation.MaxPduLength;
        var results = new List<PresentationContextAccept>(rq.PresentationContexts.Count);
        foreach (var pc in rq.PresentationContexts)
        {
            var r = _server.Negotiate(pc);
            results.Add(r);
            if (r.Result == PresentationContextResult.Acceptance) _contexts[pc.Id] = (pc.AbstractSyntax, r.TransferSyntax);
        }

        AsyncOperationsWindow? aow = null;
        if (rq.UserInformation.AsyncOperationsWindow is { } proposed)
        {
            // The requestor's "invoked" is how many it wants outstanding; we perform at most our configured number (0 = unlimited).
            ushort cap = Math.Max((ushort)1, _options.MaxOperationsPerformed);
            ushort performed = proposed.MaxOperationsInvoked == 0 ? cap : Math.Min(proposed.MaxOperationsInvoked, cap);
            aow = new AsyncOperationsWindow(1, performed);
            _window.Dispose(); // the default window of one, never waited on before the association exists
            _window = new SemaphoreSlim(performed, performed);
            _windowSize = performed;
        }

        // PS3.7 §D.3.3.4: answer each proposed role; the requestor may be SCU, we never take the SCU role here.
        var roles = rq.UserInformation.RoleSelections.Select(r => new RoleSelection(r.SopClassUid, r.ScuRole, false)).ToList();

        ReadOnlyMemory<byte>? identityResponse = null;
        if (rq.UserInformation.UserIdentity is { PositiveResponseRequested: true, IdentityType: 1 or 2 } && decision.UserName is not null)
            identityResponse = ReadOnlyMemory<byte>.Empty; // PS3.7 §D.3.3.7.2: zero length for username types

        var ac = new AssociateAccept(rq.CallingAeTitle, rq.CalledAeTitle, results, new UserInformation
        {
            MaxPduLength = _options.MaxPduLength,
            ImplementationClassUid = DicomImplementation.ClassUid,
            ImplementationVersionName = DicomImplementation.VersionName,
            AsyncOperationsWindow = aow,
            RoleSelections = roles,
            UserIdentityResponse = identityResponse,
        });
        _info = new AssociationInfo(rq.CallingAeTitle, rq.CalledAeTitle, _remote, decision.UserName, _stream is SslStream,
            rq.UserInformation.ImplementationClassUid, rq.UserInformation.ImplementationVersionName);
        await Send(ac, ct).ConfigureAwait(false);
        return null;
    }

    private void ReturnSlot()
    {
        if (!_holdsSlot) return;
        _holdsSlot = false;
        _server.ReturnAssociationSlot();
    }

    private async ValueTask OnPdv(Pdv pdv, CancellationToken ct)
    {
        if (!_contexts.TryGetValue(pdv.PresentationContextId, out _))
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "PDV", 0,
                $"presentation context {pdv.PresentationContextId} was not accepted");
        if (pdv.IsCommand)
        {
            if (_op is not null)
                throw new DicomNetworkException(AbortReason.UnexpectedPduParameter, PduType.PDataTransfer, "PDV", 0, "command fragment while a data set is expected");
            if (_command.WrittenCount > 0 && pdv.PresentationContextId != _commandPc)
                throw new DicomNetworkException(AbortReason.UnexpectedPduParameter, PduType.PDataTransfer, "PDV", 0, "command fragments on two presentation contexts");
            _commandPc = pdv.PresentationContextId;
            if (_command.WrittenCount + pdv.Data.Length > DimseCommand.MaxCommandLength)
                throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "PDV", 0, "command set too long");
            _command.Write(pdv.Data.Span);
            if (!pdv.IsLast) return;
            var cmd = DimseCommand.Parse(_command.WrittenSpan);
            _command.Clear();
            await OnCommand(pdv.PresentationContextId, cmd, ct).ConfigureAwait(false);
            return;
        }

        var op = _op ?? throw new DicomNetworkException(AbortReason.UnexpectedPduParameter, PduType.PDataTransfer, "PDV", 0, "data set fragment without a command that announced one");
        if (pdv.PresentationContextId != op.PcId)
            throw new DicomNetworkException(AbortReason.UnexpectedPduParameter, PduType.PDataTransfer, "PDV", 0, "data set on another presentation context than its command");
        op.Bytes += pdv.Data.Length;
        Interlocked.Add(ref _bytes, pdv.Data.Length);
        if (op.FindData is { } findData)
        {
            if (findData.WrittenCount + pdv.Data.Length > _options.MaxFindIdentifierLength)
            {
                // Read and discard the rest; the answer is a failure, not an abort (the peer did nothing illegal).
                op.FindData = null;
                op.Fixed = new StoreOutcome(DicomStatus.OutOfResources, $"identifier longer than {_options.MaxFindIdentifierLength} bytes");
            }
            else findData.Write(pdv.Data.Span);
        }
        if (op.Sink is { } sink && op.Failure is null)
        {
            try
            {
                await sink.WriteAsync(pdv.Data, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // Keep reading (and discarding) the rest of the data set, then answer with a failure status.
                op.Failure = ex;
                op.Sink = null;
                await SafeDispose(sink).ConfigureAwait(false);
            }
        }
        if (!pdv.IsLast) return;
        _op = null;
        if (op.FindData is not null && op.Fixed is null)
        {
            // A C-FIND runs beside the read loop, so a C-CANCEL-RQ for it can be read while it sends its matches.
            var findTask = Task.Run(() => RunFind(op, ct), CancellationToken.None);
            lock (_pending)
            {
                _pending.RemoveAll(t => t.IsCompleted);
                _pending.Add(findTask);
            }
            return;
        }
        // Only operations holding a slot of the window run in the background, so their number stays bounded;
        // refusals and other fixed answers are sent at once.
        if (_windowSize > 1 && op.HoldsWindow)
        {
            var task = Task.Run(() => Finish(op, ct), CancellationToken.None);
            lock (_pending)
            {
                _pending.RemoveAll(t => t.IsCompleted);
                _pending.Add(task);
            }
        }
        else
        {
            await Finish(op, ct).ConfigureAwait(false);
        }
    }

    private int _windowSize = 1;
    private CancellationTokenSource? _readCts;
    private volatile bool _writeFailed;

    /// <summary>A response that cannot be written for this long means the peer stopped reading: the association ends
    /// rather than holding its slot forever.</summary>
    private TimeSpan WriteTimeout => _options.IdleTimeout ?? TimeSpan.FromSeconds(30);

    /// <summary>Ends the read loop after a failed or timed-out write.</summary>
    private void OnWriteFailed()
    {
        _writeFailed = true;
        try { _readCts?.Cancel(); } catch (ObjectDisposedException) { /* the session is over already */ }
    }

    private async ValueTask OnCommand(byte pcId, DicomDataset cmd, CancellationToken ct)
    {
        if (!cmd.TryGetInt32(DicomTags.CommandField, out var cfRaw))
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "command", 0, "command set without (0000,0100) Command Field");
        ushort cf = (ushort)cfRaw;
        ushort messageId = (ushort)cmd.GetInt32OrDefault(DicomTags.MessageID);
        bool hasData = DimseCommand.HasDataSet(cmd);
        var (abstractSyntax, transferSyntax) = _contexts[pcId];
        var op = new Operation { CommandField = cf, MessageId = messageId, PcId = pcId, Started = Stopwatch.GetTimestamp() };

        switch (cf)
        {
            case CommandField.CCancelRq:
            {
                // Only a C-FIND in progress can be cancelled; a C-CANCEL for anything else (a C-STORE, a finished C-FIND)
                // is ignored: it gets no response of its own (PS3.7 §9.3.2.3).
                ushort target = (ushort)cmd.GetInt32OrDefault(DicomTags.MessageIDBeingRespondedTo, -1);
                lock (_finds)
                    if (_finds.TryGetValue(target, out var cancel)) cancel.Cancel();
                if (hasData)
                    throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "command", 0, "C-CANCEL-RQ announcing a data set");
                return;
            }
            case CommandField.CFindRq:
            {
                op.SopClass = cmd.GetString(DicomTags.AffectedSOPClassUID);
                op.Priority = (ushort)cmd.GetInt32OrDefault(DicomTags.Priority);
                op.TransferSyntax = transferSyntax;
                if (!hasData) { op.Fixed = new StoreOutcome(DicomStatus.UnableToProcess, "C-FIND-RQ without an identifier"); break; }
                if (string.IsNullOrEmpty(op.SopClass) || op.SopClass != abstractSyntax)
                { op.Fixed = new StoreOutcome(DicomStatus.SopClassNotSupported, "SOP class differs from the presentation context"); break; }
                if (!_server.IsFindSopClass(op.SopClass))
                { op.Fixed = new StoreOutcome(DicomStatus.SopClassNotSupported, "C-FIND not offered for this SOP class"); break; }
                await _window.WaitAsync(ct).ConfigureAwait(false);
                op.HoldsWindow = true;
                op.FindData = new ArrayBufferWriter<byte>(1024);
                break;
            }
            case CommandField.CEchoRq:
                op.SopClass = cmd.GetString(DicomTags.AffectedSOPClassUID) ?? DicomUids.Verification;
                op.Fixed = StoreOutcome.Success;
                break;
            case CommandField.CStoreRq:
            {
                op.SopClass = cmd.GetString(DicomTags.AffectedSOPClassUID);
                op.SopInstance = cmd.GetString(DicomTags.AffectedSOPInstanceUID);
                if (!hasData) { op.Fixed = new StoreOutcome(DicomStatus.CannotUnderstand, "C-STORE-RQ without a data set"); break; }
                if (string.IsNullOrEmpty(op.SopClass) || string.IsNullOrEmpty(op.SopInstance))
                { op.Fixed = new StoreOutcome(DicomStatus.CannotUnderstand, "affected SOP class or instance UID missing"); break; }
                if (op.SopClass != abstractSyntax)
                { op.Fixed = new StoreOutcome(DicomStatus.SopClassNotSupported, "SOP class differs from the presentation context"); break; }
                if (_server.StoreHandler is not { } handler)
                { op.Fixed = new StoreOutcome(DicomStatus.SopClassNotSupported, "storage not offered"); break; }
                await _window.WaitAsync(ct).ConfigureAwait(false);
                op.HoldsWindow = true;
                op.Request = new StoreRequest(_info!, messageId, op.SopClass, op.SopInstance, transferSyntax,
                    (ushort)cmd.GetInt32OrDefault(DicomTags.Priority),
                    cmd.GetString(DicomTags.MoveOriginatorApplicationEntityTitle),
                    cmd.TryGetInt32(DicomTags.MoveOriginatorMessageID, out var mo) ? (ushort)mo : null);
                try
                {
                    op.Sink = await handler.OpenAsync(op.Request, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    op.Failure = ex;
                }
                break;
            }
            default:
                op.Fixed = new StoreOutcome(DicomStatus.UnrecognizedOperation, $"command 0x{cf:X4} not supported");
                op.SopClass = cmd.GetString(DicomTags.AffectedSOPClassUID);
                break;
        }

        if (hasData)
        {
            _op = op; // the data set follows; it is written to the sink or discarded
            return;
        }
        await Finish(op, ct).ConfigureAwait(false);
    }

    private async Task Finish(Operation op, CancellationToken ct)
    {
        StoreOutcome outcome;
        try
        {
            if (op.Fixed is { } f) outcome = f;
            else if (op.Failure is { } failure) outcome = Map(failure);
            else if (op.Sink is { } sink)
            {
                try { outcome = await sink.CompleteAsync(ct).ConfigureAwait(false); }
                catch (Exception ex) { outcome = Map(ex); }
            }
            else outcome = new StoreOutcome(DicomStatus.OutOfResources, "storage failure");
        }
        finally
        {
            if (op.Sink is { } s) await SafeDispose(s).ConfigureAwait(false);
            if (op.HoldsWindow) { op.HoldsWindow = false; _window.Release(); }
        }

        if (op.CommandField == CommandField.CEchoRq && outcome.Status == DicomStatus.Success)
        {
            Interlocked.Increment(ref _echoes);
            if (_info is { } info) try { _server.Observer?.EchoCompleted(info); } catch { /* observer */ }
        }
        else if (op.CommandField == CommandField.CStoreRq)
        {
            Interlocked.Increment(ref _stores);
            if (DicomStatus.Category(outcome.Status) == "failure") Interlocked.Increment(ref _storeFailures);
            if (op.Request is { } req)
                try { _server.Observer?.StoreCompleted(req, outcome, op.Bytes, Stopwatch.GetElapsedTime(op.Started)); } catch { /* observer */ }
        }

        else if (op.CommandField == CommandField.CFindRq)
        {
            Interlocked.Increment(ref _findCount);
            if (_info is { } info) try { _server.Observer?.FindCompleted(info, op.SopClass ?? "", outcome.Status, 0, Stopwatch.GetElapsedTime(op.Started)); } catch { /* observer */ }
        }

        var rsp = DimseCommand.Response(op.CommandField, op.MessageId, outcome.Status, op.SopClass, op.SopInstance, outcome.ErrorComment, outcome.OffendingElement);
        await WriteMessage(op.PcId, rsp, null, ct).ConfigureAwait(false);
    }

    /// <summary>C-FIND SCP (PS3.7 §9.1.2, PS3.4 §C.4.1.3): parses the identifier, sends one pending response with its
    /// identifier per match of the handler, then the final status: Success, Cancel (FE00) after a C-CANCEL-RQ, A700 past
    /// <see cref="DicomServerOptions.MaxFindMatches"/>, or the handler's failure (C000 when it fails unexpectedly).</summary>
    private async Task RunFind(Operation op, CancellationToken ct)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        lock (_finds) _finds[op.MessageId] = cancel;
        int matches = 0;
        StoreOutcome outcome;
        try
        {
            DicomDataset? identifier;
            try
            {
                identifier = DimseCommand.ParseDataset(op.FindData!.WrittenSpan, op.TransferSyntax!);
            }
            catch (DicomFormatException)
            {
                identifier = null;
            }
            op.FindData = null;
            if (identifier is null)
            {
                outcome = new StoreOutcome(DicomStatus.UnableToProcess, "identifier cannot be parsed");
            }
            else
            {
                var request = new FindRequest(_info!, op.MessageId, op.SopClass!, op.Priority, identifier);
                outcome = StoreOutcome.Success;
                try
                {
                    await foreach (var match in _server.FindHandler!.FindAsync(request, cancel.Token).WithCancellation(cancel.Token).ConfigureAwait(false))
                    {
                        cancel.Token.ThrowIfCancellationRequested();
                        if (matches >= _options.MaxFindMatches)
                        {
                            outcome = new StoreOutcome(DicomStatus.OutOfResources, $"more than {_options.MaxFindMatches} matches: narrow the query");
                            break;
                        }
                        ushort status = match.OptionalKeysUnsupported ? DicomStatus.PendingOptionalKeysUnsupported : DicomStatus.Pending;
                        var rsp = DimseCommand.Response(CommandField.CFindRq, op.MessageId, status, op.SopClass, dataSetFollows: true);
                        var data = DimseCommand.SerializeDataset(match.Identifier, op.TransferSyntax!);
                        if (!await WriteMessage(op.PcId, rsp, data, ct).ConfigureAwait(false)) return; // the peer is gone
                        matches++;
                    }
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    outcome = new StoreOutcome(DicomStatus.Cancel);
                }
                catch (FindFailedException ex)
                {
                    outcome = new StoreOutcome(ex.Status, ex.Message, ex.OffendingElement);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    outcome = new StoreOutcome(DicomStatus.UnableToProcess, "unable to process");
                }
            }
        }
        finally
        {
            lock (_finds) _finds.Remove(op.MessageId);
            if (op.HoldsWindow) { op.HoldsWindow = false; _window.Release(); }
        }
        Interlocked.Increment(ref _findCount);
        if (_info is { } info) try { _server.Observer?.FindCompleted(info, op.SopClass!, outcome.Status, matches, Stopwatch.GetElapsedTime(op.Started)); } catch { /* observer */ }
        var final = DimseCommand.Response(CommandField.CFindRq, op.MessageId, outcome.Status, op.SopClass, null, outcome.ErrorComment, outcome.OffendingElement);
        await WriteMessage(op.PcId, final, null, ct).ConfigureAwait(false);
    }

    /// <summary>Writes one DIMSE message (command, then the data set if any) as one locked write, so the messages of
    /// operations running side by side never interleave. False when it could not be written (the association is ending).</summary>
    private async Task<bool> WriteMessage(byte pcId, byte[] command, byte[]? data, CancellationToken ct)
    {
        var output = new ArrayBufferWriter<byte>(command.Length + (data?.Length ?? 0) + 64);
        PduWriter.WriteFragments(output, pcId, isCommand: true, command, _peerMax);
        if (data is not null) PduWriter.WriteFragments(output, pcId, isCommand: false, data, _peerMax);
        if (_writeFailed) return false; // the association is ending: nobody reads what we would write
        using var wt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wt.CancelAfter(WriteTimeout);
        bool locked = false;
        try
        {
            await _writeLock.WaitAsync(wt.Token).ConfigureAwait(false);
            locked = true;
            await _stream.WriteAsync(output.WrittenMemory, wt.Token).ConfigureAwait(false);
            await _stream.FlushAsync(wt.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer is gone or stopped reading; the instance is stored (or not) regardless of whether it heard the answer.
            OnWriteFailed();
            return false;
        }
        finally
        {
            if (locked) _writeLock.Release();
        }
    }

    private static StoreOutcome Map(Exception ex) => ex switch
    {
        StoreFailedException sf => new StoreOutcome(sf.Status, sf.Message),
        _ => new StoreOutcome(DicomStatus.OutOfResources, "storage failure"),
    };

    private static async ValueTask SafeDispose(IInstanceSink sink)
    {
        try { await sink.DisposeAsync().ConfigureAwait(false); } catch { /* abandoning */ }
    }

    private async Task Send(Pdu pdu, CancellationToken ct)
    {
        var bytes = PduWriter.ToArray(pdu);
        using var wt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wt.CancelAfter(WriteTimeout);
        await _writeLock.WaitAsync(wt.Token).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(bytes, wt.Token).ConfigureAwait(false);
            await _stream.FlushAsync(wt.Token).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task TrySend(Pdu pdu)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Send(pdu, cts.Token).ConfigureAwait(false);
        }
        catch
        {
            // the peer may already be gone; nothing more to do
        }
    }
}
