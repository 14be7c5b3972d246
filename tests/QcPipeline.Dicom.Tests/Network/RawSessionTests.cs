using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>A requestor written PDU by PDU with <see cref="PduWriter"/> and <see cref="DimseCommand"/>, for what a
/// well-behaved SCU never does: stall half-way, or keep several C-STOREs outstanding.</summary>
internal sealed class RawRequestor : IDisposable
{
    private readonly TcpClient _tcp = new() { NoDelay = true };
    private readonly PduReader _reader = new(1024 * 1024);
    public NetworkStream Stream { get; private set; } = null!;
    public AssociateAccept Accept { get; private set; } = null!;

    public static async Task<RawRequestor> ConnectAsync(int port, AssociateRequest rq, CancellationToken ct)
    {
        var raw = new RawRequestor();
        await raw._tcp.ConnectAsync(IPAddress.Loopback, port, ct);
        raw.Stream = raw._tcp.GetStream();
        await raw.Stream.WriteAsync(PduWriter.ToArray(rq), ct);
        raw.Accept = Assert.IsType<AssociateAccept>(await raw.ReadAsync(ct));
        return raw;
    }

    public async Task<Pdu?> ReadAsync(CancellationToken ct) => await _reader.ReadAsync(Stream, ct);

    public async Task SendCommandAsync(byte pcId, byte[] command, CancellationToken ct)
    {
        var output = new ArrayBufferWriter<byte>();
        PduWriter.WriteFragments(output, pcId, isCommand: true, command, Accept.UserInformation.MaxPduLength);
        await Stream.WriteAsync(output.WrittenMemory, ct);
    }

    public async Task SendDataAsync(byte pcId, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var output = new ArrayBufferWriter<byte>();
        PduWriter.WriteFragments(output, pcId, isCommand: false, data, Accept.UserInformation.MaxPduLength);
        await Stream.WriteAsync(output.WrittenMemory, ct);
    }

    /// <summary>Reads PDUs until a whole command set arrived; returns it.</summary>
    public async Task<DicomDataset> ReadCommandAsync(CancellationToken ct)
    {
        var command = new ArrayBufferWriter<byte>();
        while (true)
        {
            var pdu = await ReadAsync(ct);
            var pd = Assert.IsType<PDataTransfer>(pdu);
            foreach (var pdv in pd.Pdvs)
            {
                Assert.True(pdv.IsCommand);
                command.Write(pdv.Data.Span);
                if (pdv.IsLast) return DimseCommand.Parse(command.WrittenSpan);
            }
        }
    }

    public void Dispose() => _tcp.Dispose();
}

public sealed class RawSessionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qc-raw-session-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AssociateRequest Request(string sopClass, string ts, AsyncOperationsWindow? window = null) => new("QCTEST", "QCPIPE",
        [new PresentationContextRequest(1, sopClass, [ts])],
        new UserInformation { MaxPduLength = 65536, ImplementationClassUid = "1.2.3.4", AsyncOperationsWindow = window });

    [Fact]
    public async Task A_maximum_PDU_length_too_small_for_any_data_is_refused_with_an_abort()
    {
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" });
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port, server.Token);
        var stream = tcp.GetStream();
        var rq = Request(DicomUids.Verification, DicomUids.ImplicitVRLittleEndian);
        rq = rq with { UserInformation = rq.UserInformation with { MaxPduLength = 6 } };
        await stream.WriteAsync(PduWriter.ToArray(rq), server.Token);
        var abort = Assert.IsType<Abort>(await new PduReader().ReadAsync(stream, server.Token));
        Assert.Equal((AbortSource.ServiceProvider, AbortReason.InvalidPduParameterValue), (abort.Source, abort.Reason));
        var summary = Assert.Single(await server.WaitForSummaries(1));
        Assert.Equal(AssociationOutcome.AbortedByUs, summary.Outcome);
    }

    [Fact]
    public async Task A_peer_that_sends_requests_but_never_reads_the_responses_loses_its_association()
    {
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", IdleTimeout = TimeSpan.FromMilliseconds(500) });
        using var tcp = new TcpClient { NoDelay = true, ReceiveBufferSize = 4096 };
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port, server.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(PduWriter.ToArray(Request(DicomUids.Verification, DicomUids.ImplicitVRLittleEndian)), server.Token);
        Assert.IsType<AssociateAccept>(await new PduReader().ReadAsync(stream, server.Token));

        // C-ECHO-RQs, 64 per write, never reading an answer: the server's responses pile up until its writes block.
        var batch = new ArrayBufferWriter<byte>();
        for (ushort i = 1; i <= 64; i++) PduWriter.WriteFragments(batch, 1, isCommand: true, DimseCommand.EchoRequest(i), 65536);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(server.Token);
        var flood = Task.Run(async () =>
        {
            try { while (!stop.IsCancellationRequested) await stream.WriteAsync(batch.WrittenMemory, stop.Token); }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException) { }
        });
        var summary = Assert.Single(await server.WaitForSummaries(1, TimeSpan.FromSeconds(30)));
        await stop.CancelAsync();
        tcp.Close();
        await flood;
        Assert.True(summary.Outcome == AssociationOutcome.Failed, $"{summary.Outcome}: {summary.Problem}, {summary.EchoCount} echoes");
        Assert.Contains("stopped reading", summary.Problem);
        Assert.True(summary.EchoCount > 64);
        Assert.Equal(0, server.Server.ActiveAssociations);
    }

    [Fact]
    public async Task A_store_that_stalls_half_way_is_aborted_and_its_sink_abandoned()
    {
        var handler = new FileStoreHandler(Path.Combine(_dir, "store"));
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", IdleTimeout = TimeSpan.FromMilliseconds(500) }, handler);
        var body = PeerInputs.DatasetBytes(PeerInputs.PhantomCt(1), out var sopClass, out var sop, out var ts);

        using var raw = await RawRequestor.ConnectAsync(server.Port, Request(sopClass, ts), server.Token);
        await raw.SendCommandAsync(1, DimseCommand.StoreRequest(1, sopClass, sop), server.Token);
        // Half the data set in PDVs none of which is marked last, then nothing.
        var half = body.AsMemory(0, body.Length / 2);
        int max = (int)raw.Accept.UserInformation.MaxPduLength - Pdv.HeaderLength;
        for (int o = 0; o < half.Length; o += max)
        {
            var chunk = half.Slice(o, Math.Min(max, half.Length - o));
            await raw.Stream.WriteAsync(PduWriter.ToArray(new PDataTransfer([new Pdv(1, false, false, chunk)])), server.Token);
        }
        var sw = Stopwatch.StartNew();
        var abort = Assert.IsType<Abort>(await raw.ReadAsync(server.Token));
        Assert.Equal(AbortSource.ServiceProvider, abort.Source);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"abort after {sw.Elapsed}");
        Assert.Null(await raw.ReadAsync(server.Token)); // and the connection is closed

        var summary = Assert.Single(await server.WaitForSummaries(1));
        Assert.Equal(AssociationOutcome.IdleTimeout, summary.Outcome);
        Assert.Equal(0, summary.StoreCount);
        Assert.Equal(half.Length, summary.BytesReceived);
        Assert.Equal(1, handler.Opened);
        Assert.Equal(0, handler.Completed);
        Assert.Equal(1, handler.Abandoned); // disposed without CompleteAsync
        Assert.Empty(handler.PartialFiles());
        Assert.Empty(handler.FinalFiles());
    }

    [Fact]
    public async Task A_peer_that_closes_half_way_through_a_store_leaves_nothing()
    {
        var handler = new FileStoreHandler(Path.Combine(_dir, "store"));
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" }, handler);
        var body = PeerInputs.DatasetBytes(PeerInputs.PhantomCt(1), out var sopClass, out var sop, out var ts);
        using (var raw = await RawRequestor.ConnectAsync(server.Port, Request(sopClass, ts), server.Token))
        {
            await raw.SendCommandAsync(1, DimseCommand.StoreRequest(1, sopClass, sop), server.Token);
            await raw.Stream.WriteAsync(PduWriter.ToArray(new PDataTransfer([new Pdv(1, false, false, body.AsMemory(0, 10000))])), server.Token);
            await raw.Stream.WriteAsync(new byte[] { 0x04, 0x00, 0x00 }, server.Token); // and a torn P-DATA-TF header
        }
        var summary = Assert.Single(await server.WaitForSummaries(1));
        // End of stream inside a PDU: the peer is gone, no A-ABORT is sent to the closed socket.
        Assert.Equal(AssociationOutcome.ClosedByPeer, summary.Outcome);
        Assert.Contains("closed inside a PDU", summary.Problem);
        Assert.Equal(1, handler.Abandoned);
        Assert.Empty(handler.PartialFiles());
        Assert.Empty(handler.FinalFiles());
    }

    [Fact]
    public async Task A_partial_association_request_ends_when_ARTIM_expires()
    {
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", ArtimTimeout = TimeSpan.FromMilliseconds(400) });
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port, server.Token);
        var stream = tcp.GetStream();
        var rq = PduWriter.ToArray(Request(DicomUids.Verification, DicomUids.ImplicitVRLittleEndian));
        await stream.WriteAsync(rq.AsMemory(0, rq.Length / 2), server.Token);
        var sw = Stopwatch.StartNew();
        var pdu = await new PduReader().ReadAsync(stream, server.Token);
        Assert.True(pdu is null or Abort, $"got {pdu}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(AssociationOutcome.ArtimTimeout, Assert.Single(await server.WaitForSummaries(1)).Outcome);
    }

    [Fact]
    public async Task Four_outstanding_stores_in_an_async_window_are_performed_together_and_each_answered()
    {
        // Each completion waits until all four sinks are open: only a server that performs four operations at
        // once can answer at all.
        FileStoreHandler handler = null!;
        handler = new FileStoreHandler(Path.Combine(_dir, "store"))
        {
            BeforeComplete = async (_, ct) =>
            {
                var sw = Stopwatch.StartNew();
                while (handler.Opened < 4)
                {
                    if (sw.Elapsed > TimeSpan.FromSeconds(10)) throw new StoreFailedException(DicomStatus.ProcessingFailure, "window not used");
                    await Task.Delay(5, ct);
                }
            },
        };
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", MaxOperationsPerformed = 8 }, handler);
        var body = PeerInputs.DatasetBytes(PeerInputs.PhantomCt(1), out var sopClass, out _, out var ts);

        // PS3.7 §D.3.3.3: we may invoke 4 at once and perform 1.
        using var raw = await RawRequestor.ConnectAsync(server.Port, Request(sopClass, ts, new AsyncOperationsWindow(4, 1)), server.Token);
        var window = raw.Accept.UserInformation.AsyncOperationsWindow;
        Assert.NotNull(window);
        Assert.Equal(4, window.MaxOperationsPerformed); // what the acceptor performs: at most what we invoke
        Assert.Equal(1, window.MaxOperationsInvoked);

        var uids = Enumerable.Range(0, 4).Select(_ => PeerInputs.NewUid()).ToArray();
        for (ushort id = 1; id <= 4; id++)
        {
            await raw.SendCommandAsync(1, DimseCommand.StoreRequest((ushort)(100 + id), sopClass, uids[id - 1]), server.Token);
            await raw.SendDataAsync(1, body, server.Token);
        }
        var answered = new Dictionary<int, (int Status, string? Sop)>();
        for (int i = 0; i < 4; i++)
        {
            var rsp = await raw.ReadCommandAsync(server.Token);
            Assert.Equal(CommandField.CStoreRsp, rsp.GetInt32OrDefault(DicomTags.CommandField));
            answered.Add(rsp.GetInt32OrDefault(DicomTags.MessageIDBeingRespondedTo), (rsp.GetInt32OrDefault(DicomTags.Status, -1), rsp.GetString(DicomTags.AffectedSOPInstanceUID)));
        }
        Assert.Equal([101, 102, 103, 104], answered.Keys.Order());
        foreach (var (id, (status, sop)) in answered)
        {
            Assert.Equal(DicomStatus.Success, status);
            Assert.Equal(uids[id - 101], sop);
        }
        await raw.Stream.WriteAsync(PduWriter.ToArray(new ReleaseRequest()), server.Token);
        Assert.IsType<ReleaseResponse>(await raw.ReadAsync(server.Token));
        raw.Dispose();

        var summary = Assert.Single(await server.WaitForSummaries(1));
        Assert.Equal(AssociationOutcome.Released, summary.Outcome);
        Assert.Equal(4, summary.StoreCount);
        Assert.Equal(4, handler.FinalFiles().Length);
    }
}
