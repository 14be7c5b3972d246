using System.Buffers;
using System.Net.Sockets;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Network;

/// <summary>Options of <see cref="DicomServer"/>.</summary>
public sealed record DicomServerOptions
{
    /// <summary>Our (called) AE title; an A-ASSOCIATE-RQ addressed to any other title is rejected (reason 7).</summary>
    public string AeTitle { get; init; } = "QCPIPE";

    /// <summary>Maximum PDU length we receive, announced in the A-ASSOCIATE-AC.</summary>
    public uint MaxPduLength { get; init; } = PduReader.DefaultMaxReceivePduLength;

    /// <summary>A-ABORT the association when no PDU arrives for this long; null waits forever.</summary>
    public TimeSpan? IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);
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
    Cancelled,
    Failed,
}

/// <summary>Summary of one handled connection.</summary>
public sealed record AssociationSummary(
    AssociationOutcome Outcome,
    string? CallingAeTitle,
    string? CalledAeTitle,
    int EchoCount,
    AbortReason? AbortReason = null,
    string? Problem = null);

/// <summary>A minimal association acceptor: the Verification SOP class (C-ECHO SCP, PS3.7 §9.1.5) over the
/// DICOM upper layer (PS3.8). One connection at a time is handled by <see cref="HandleAsync(Stream, CancellationToken)"/>;
/// <see cref="RunAsync"/> accepts connections from a caller-owned <see cref="TcpListener"/>.</summary>
public sealed class DicomServer(DicomServerOptions? options = null)
{
    public const string VerificationSopClass = "1.2.840.10008.1.1";
    private const ushort CEchoRq = 0x0030;
    private const ushort CEchoRsp = 0x8030;
    private const ushort NoDataSet = 0x0101;

    public DicomServerOptions Options { get; } = options ?? new DicomServerOptions();

    /// <summary>Accepts connections until cancelled; each is handled concurrently. Never throws except on cancellation.</summary>
    public async Task RunAsync(TcpListener listener, Action<AssociationSummary>? onCompleted = null, CancellationToken cancellationToken = default)
    {
        var running = new List<Task>();
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
                catch (SocketException) { continue; }
                catch (ObjectDisposedException) { break; }
                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(async () =>
                {
                    var summary = await HandleAsync(client, cancellationToken).ConfigureAwait(false);
                    try { onCompleted?.Invoke(summary); } catch { /* the callback's problem */ }
                }, CancellationToken.None));
            }
        }
        finally
        {
            await Task.WhenAll(running).ConfigureAwait(false);
        }
    }

    /// <summary>Handles one connection and disposes it. Never throws.</summary>
    public async Task<AssociationSummary> HandleAsync(TcpClient client, CancellationToken cancellationToken = default)
    {
        using (client)
        {
            try { client.NoDelay = true; } catch (SocketException) { } catch (ObjectDisposedException) { }
            try
            {
                return await HandleAsync(client.GetStream(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                return new AssociationSummary(AssociationOutcome.Failed, null, null, 0, Problem: ex.Message);
            }
        }
    }

    /// <summary>Runs the acceptor state machine on a connected stream. Never throws; does not dispose the stream.</summary>
    public async Task<AssociationSummary> HandleAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var reader = new PduReader(Options.MaxPduLength);
        string? calling = null, called = null;
        int echoes = 0;
        uint peerMax = 0;
        var accepted = new Dictionary<byte, string>();
        var command = new ArrayBufferWriter<byte>();
        bool associated = false;

        AssociationSummary Sum(AssociationOutcome o, AbortReason? r = null, string? p = null) => new(o, calling, called, echoes, r, p);

        while (true)
        {
            Pdu? pdu;
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (Options.IdleTimeout is { } t) idle.CancelAfter(t);
            try
            {
                pdu = await reader.ReadAsync(stream, idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await TrySend(stream, new Abort(AbortSource.ServiceProvider, AbortReason.NotSpecified)).ConfigureAwait(false);
                return Sum(AssociationOutcome.IdleTimeout, AbortReason.NotSpecified, "idle timeout");
            }
            catch (OperationCanceledException)
            {
                await TrySend(stream, new Abort(AbortSource.ServiceProvider, AbortReason.NotSpecified)).ConfigureAwait(false);
                return Sum(AssociationOutcome.Cancelled);
            }
            catch (DicomNetworkException ex)
            {
                await TrySend(stream, new Abort(AbortSource.ServiceProvider, ex.Reason)).ConfigureAwait(false);
                return Sum(AssociationOutcome.AbortedByUs, ex.Reason, ex.Message);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                return Sum(AssociationOutcome.ClosedByPeer, p: ex.Message);
            }

            if (pdu is null) return Sum(AssociationOutcome.ClosedByPeer);

            try
            {
                switch (pdu)
                {
                    case AssociateRequest rq when !associated:
                        calling = rq.CallingAeTitle;
                        called = rq.CalledAeTitle;
                        if (!string.Equals(rq.CalledAeTitle, Options.AeTitle.Trim(' '), StringComparison.Ordinal))
                        {
                            await Send(stream, new AssociateReject(RejectResult.Permanent, RejectSource.ServiceUser, AssociateReject.CalledAeTitleNotRecognized), cancellationToken).ConfigureAwait(false);
                            return Sum(AssociationOutcome.Rejected, p: $"called AE title '{rq.CalledAeTitle}' is not '{Options.AeTitle}'");
                        }
                        if (rq.ApplicationContextName != AssociateRequest.DicomApplicationContext)
                        {
                            await Send(stream, new AssociateReject(RejectResult.Permanent, RejectSource.ServiceUser, 2), cancellationToken).ConfigureAwait(false);
                            return Sum(AssociationOutcome.Rejected, p: $"application context {rq.ApplicationContextName} not supported");
                        }
                        peerMax = rq.UserInformation.MaxPduLength;
                        var results = new List<PresentationContextAccept>();
                        foreach (var pc in rq.PresentationContexts)
                        {
                            var r = Negotiate(pc);
                            results.Add(r);
                            if (r.Result == PresentationContextResult.Acceptance) accepted[pc.Id] = pc.AbstractSyntax;
                        }
                        var ac = new AssociateAccept(rq.CallingAeTitle, rq.CalledAeTitle, results, new UserInformation
                        {
                            MaxPduLength = Options.MaxPduLength,
                            ImplementationClassUid = DicomImplementation.ClassUid,
                            ImplementationVersionName = DicomImplementation.VersionName,
                        });
                        await Send(stream, ac, cancellationToken).ConfigureAwait(false);
                        associated = true;
                        break;

                    case PDataTransfer pd when associated:
                        foreach (var pdv in pd.Pdvs)
                        {
                            if (!accepted.ContainsKey(pdv.PresentationContextId))
                                throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "PDV", 0,
                                    $"presentation context {pdv.PresentationContextId} was not accepted");
                            if (!pdv.IsCommand)
                                throw new DicomNetworkException(AbortReason.UnexpectedPduParameter, PduType.PDataTransfer, "PDV", 0,
                                    "data set fragment where no data set is expected (C-ECHO carries none)");
                            command.Write(pdv.Data.Span);
                            if (command.WrittenCount > 64 * 1024)
                                throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "PDV", 0, "command set too long");
                            if (!pdv.IsLast) continue;
                            var cmd = ParseCommand(command.WrittenSpan);
                            command.Clear();
                            if (!cmd.TryGetInt32(DicomTags.CommandField, out var cf) || cf != CEchoRq)
                                throw new DicomNetworkException(AbortReason.UnexpectedPduParameter, PduType.PDataTransfer, "command", 0,
                                    "only C-ECHO-RQ is supported");
                            ushort messageId = (ushort)cmd.GetInt32OrDefault(DicomTags.MessageID);
                            string sopClass = cmd.GetString(DicomTags.AffectedSOPClassUID) ?? VerificationSopClass;
                            var rsp = BuildEchoResponse(messageId, sopClass);
                            var output = new ArrayBufferWriter<byte>();
                            PduWriter.WriteFragments(output, pdv.PresentationContextId, isCommand: true, rsp, peerMax);
                            await stream.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
                            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                            echoes++;
                        }
                        break;

                    case ReleaseRequest when associated:
                        await Send(stream, new ReleaseResponse(), cancellationToken).ConfigureAwait(false);
                        return Sum(AssociationOutcome.Released);

                    case Abort:
                        return Sum(AssociationOutcome.AbortedByPeer);

                    default:
                        throw new DicomNetworkException(AbortReason.UnexpectedPdu, pdu.Type, "PDU", 0,
                            $"unexpected {pdu.Type} {(associated ? "during" : "before")} the association");
                }
            }
            catch (DicomNetworkException ex)
            {
                await TrySend(stream, new Abort(AbortSource.ServiceProvider, ex.Reason)).ConfigureAwait(false);
                return Sum(AssociationOutcome.AbortedByUs, ex.Reason, ex.Message);
            }
            catch (OperationCanceledException)
            {
                await TrySend(stream, new Abort(AbortSource.ServiceProvider, AbortReason.NotSpecified)).ConfigureAwait(false);
                return Sum(AssociationOutcome.Cancelled);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                return Sum(AssociationOutcome.ClosedByPeer, p: ex.Message);
            }
            catch (Exception ex)
            {
                await TrySend(stream, new Abort(AbortSource.ServiceProvider, AbortReason.NotSpecified)).ConfigureAwait(false);
                return Sum(AssociationOutcome.Failed, AbortReason.NotSpecified, ex.Message);
            }
        }
    }

    private static PresentationContextAccept Negotiate(PresentationContextRequest pc)
    {
        if (pc.AbstractSyntax != VerificationSopClass)
            return new PresentationContextAccept(pc.Id, PresentationContextResult.AbstractSyntaxNotSupported, "");
        // Explicit VR LE is preferred when offered; Implicit VR LE is the default every SCU must propose.
        foreach (var ts in new[] { TransferSyntax.ExplicitVRLittleEndian.Uid, TransferSyntax.ImplicitVRLittleEndian.Uid })
        {
            if (pc.TransferSyntaxes.Contains(ts))
                return new PresentationContextAccept(pc.Id, PresentationContextResult.Acceptance, ts);
        }
        return new PresentationContextAccept(pc.Id, PresentationContextResult.TransferSyntaxesNotSupported, "");
    }

    /// <summary>Parses a command set (always Implicit VR Little Endian, PS3.7 §6.3.1) with the toolkit's dataset
    /// parser; only group 0000 may appear.</summary>
    internal static DicomDataset ParseCommand(ReadOnlySpan<byte> data)
    {
        var bytes = data.ToArray();
        var ds = new DicomDataset();
        try
        {
            new DatasetParser(bytes, bytes.Length, partial: false, DicomReadOptions.Default).ParseTopLevel(ds, 0, explicitVR: false, littleEndian: true);
        }
        catch (DicomFormatException ex)
        {
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "command", (int)ex.Offset, ex.Message);
        }
        if (ds.FirstOrDefault(i => i.Tag.Group != 0x0000) is { } stray)
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "command", 0, $"element {stray.Tag} outside the command group");
        return ds;
    }

    /// <summary>The C-ECHO-RSP command set (PS3.7 §9.3.5.2), Implicit VR LE, with its group length.</summary>
    internal static byte[] BuildEchoResponse(ushort messageIdBeingRespondedTo, string affectedSopClassUid)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(DicomTags.AffectedSOPClassUID, DicomVR.UI, affectedSopClassUid);
        ds.AddOrUpdate(DicomTags.CommandField, DicomVR.US, CEchoRsp);
        ds.AddOrUpdate(DicomTags.MessageIDBeingRespondedTo, DicomVR.US, messageIdBeingRespondedTo);
        ds.AddOrUpdate(DicomTags.CommandDataSetType, DicomVR.US, NoDataSet);
        ds.AddOrUpdate(DicomTags.Status, DicomVR.US, (ushort)0x0000);
        using var body = new MemoryStream();
        DicomWriter.WriteDataset(body, ds, TransferSyntax.ImplicitVRLittleEndian, DicomWriteOptions.Default);
        // (0000,0000) Command Group Length: the bytes that follow it (PS3.7 §6.3.1).
        ds.AddOrUpdate(DicomTags.CommandGroupLength, DicomVR.UL, checked((uint)body.Length));
        using var all = new MemoryStream();
        DicomWriter.WriteDataset(all, ds, TransferSyntax.ImplicitVRLittleEndian, DicomWriteOptions.Default with { KeepGroupLengths = true });
        return all.ToArray();
    }

    private static async Task Send(Stream stream, Pdu pdu, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(PduWriter.ToArray(pdu), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task TrySend(Stream stream, Pdu pdu)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Send(stream, pdu, cts.Token).ConfigureAwait(false);
        }
        catch
        {
            // the peer may already be gone; nothing more to do
        }
    }
}
