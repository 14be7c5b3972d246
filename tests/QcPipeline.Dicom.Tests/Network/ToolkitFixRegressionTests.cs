using System.Buffers;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>Regressions for toolkit bugs found by the peer tests.</summary>
public sealed class ToolkitFixRegressionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qc-fix-regress-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AssociateRequest ManyContexts(int count) => new("QCTEST", "QCPIPE",
        [.. Enumerable.Range(0, count).Select(i => new PresentationContextRequest((byte)(2 * i + 1), $"1.2.840.10008.5.1.4.1.1.{i}.1",
            [DicomUids.ExplicitVRLittleEndian, DicomUids.ExplicitVRBigEndian, DicomUids.ImplicitVRLittleEndian]))],
        new UserInformation { MaxPduLength = 16384, ImplementationClassUid = "1.2.3.4" });

    /// <summary>Bug: the maximum PDU length we announce (it limits P-DATA-TF, PS3.8 §D.1) was applied to the
    /// A-ASSOCIATE-RQ too, so a server with a small maximum aborted storescu's 14 KB request.</summary>
    [Fact]
    public void A_large_association_request_is_read_whatever_the_announced_maximum()
    {
        var rq = PduWriter.ToArray(ManyContexts(127));
        Assert.True(rq.Length > 8 * 1024, $"{rq.Length} bytes");
        var reader = new PduReader(1024);
        var seq = new ReadOnlySequence<byte>(rq);
        Assert.True(reader.TryRead(ref seq, out var pdu));
        Assert.Equal(127, Assert.IsType<AssociateRequest>(pdu).PresentationContexts.Count);

        // P-DATA-TF is still held to the announced maximum (plus slack).
        var big = PduWriter.ToArray(new PDataTransfer([new Pdv(1, false, true, new byte[4096])]));
        var bigSeq = new ReadOnlySequence<byte>(big);
        Assert.Throws<DicomNetworkException>(() => reader.TryRead(ref bigSeq, out _));
        // And an association request beyond the fixed cap is refused from its header alone.
        var huge = new ReadOnlySequence<byte>(new byte[] { 1, 0, 0x00, 0x20, 0x00, 0x00 });
        Assert.Throws<DicomNetworkException>(() => reader.TryRead(ref huge, out _));
    }

    [Fact]
    public async Task Storescu_reaches_a_server_that_announces_a_small_maximum_pdu()
    {
        var handler = new FileStoreHandler(Path.Combine(_dir, "store"));
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", MaxPduLength = 4096 }, handler);
        var r = await PeerTool.RunAsync("storescu", ["-xr", "-aec", "QCPIPE", "127.0.0.1", server.PortText, PeerInputs.PhantomCt(1)]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var (_, path) = Assert.Single(handler.Stored);
        await DcmdumpCompare.AssertSameDataset(PeerInputs.PhantomCt(1), path);
    }

    /// <summary>Bug: DicomClient sent an odd-length data set (deflated) with an odd last fragment, and with an odd
    /// peer maximum every fragment was odd; DCMTK's storescp aborts on that ("DIMSE: Odd Fragment Length").</summary>
    [Fact]
    public async Task Every_data_set_fragment_our_client_sends_is_even()
    {
        var handler = new MemoryStoreHandler();
        // An odd maximum PDU length (4097) and an odd data set length (10001).
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", MaxPduLength = 4097 }, handler);
        var data = new byte[10001];
        new Random(7).NextBytes(data);
        string sop = PeerInputs.NewUid();
        PresentationContextRequest[] pcs = [new(1, "1.2.840.10008.5.1.4.1.1.7", [DicomUids.DeflatedExplicitVRLittleEndian])];
        var recorded = await RecordingProxy.RecordOne(server.Port, async port =>
        {
            await using var client = await DicomClient.ConnectAsync("127.0.0.1", port, pcs, new DicomClientOptions { CalledAeTitle = "QCPIPE" });
            var rsp = await client.StoreAsync(1, "1.2.840.10008.5.1.4.1.1.7", sop, new MemoryStream(data));
            Assert.True(rsp.IsSuccess);
            await client.ReleaseAsync();
        }, server.Token);

        var reader = new PduReader(8192);
        var seq = new ReadOnlySequence<byte>(recorded);
        var fragments = new List<int>();
        while (reader.TryRead(ref seq, out var pdu))
            if (pdu is PDataTransfer pd) fragments.AddRange(pd.Pdvs.Where(v => !v.IsCommand).Select(v => v.Data.Length));
        Assert.True(fragments.Count >= 3, string.Join(",", fragments));
        Assert.All(fragments, f => Assert.Equal(0, f % 2));
        Assert.All(fragments, f => Assert.True(f + Pdv.HeaderLength <= 4097));
        var stored = Assert.Single(handler.Stored);
        Assert.Equal([.. data, 0], stored.Data); // one trailing 00H pad byte
    }

    /// <summary>Bug: the association cap counted TCP connections from the moment they were accepted, so a connection
    /// that had not (yet) sent an A-ASSOCIATE-RQ, a port probe or a slow peer, took a slot for up to ARTIM and real
    /// associations were rejected "local limit exceeded" with none established.</summary>
    [Fact]
    public async Task A_connection_without_an_association_does_not_count_against_the_cap()
    {
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", MaxAssociations = 1, ArtimTimeout = TimeSpan.FromSeconds(10) });
        using var idle = new System.Net.Sockets.TcpClient();
        await idle.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (server.Server.ActiveAssociations < 1 && sw.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(10);

        var echo = await PeerTool.RunAsync("echoscu", ["-aec", "QCPIPE", "127.0.0.1", server.PortText]);
        Assert.True(echo.ExitCode == 0, echo.ToString());

        // The cap itself still holds once an association is established.
        PresentationContextRequest[] pcs = [new(1, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian])];
        await using var holder = await DicomClient.ConnectAsync("127.0.0.1", server.Port, pcs, new DicomClientOptions { CalledAeTitle = "QCPIPE" });
        var rejected = await PeerTool.RunAsync("echoscu", ["-aec", "QCPIPE", "127.0.0.1", server.PortText]);
        Assert.NotEqual(0, rejected.ExitCode);
        Assert.Contains("Local Limit Exceeded", rejected.Text, StringComparison.OrdinalIgnoreCase);
        await holder.ReleaseAsync();
    }

    /// <summary>Bug: the over-limit decision read the shared counter after incrementing it, so two associations
    /// arriving together at a cap of one could both see two and both be rejected.</summary>
    [Fact]
    public async Task Simultaneous_requests_at_a_cap_of_one_never_all_get_rejected()
    {
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", MaxAssociations = 1 });
        PresentationContextRequest[] pcs = [new(1, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian])];
        for (int round = 0; round < 30; round++)
        {
            var attempts = Enumerable.Range(0, 3).Select(async _ =>
            {
                try
                {
                    var c = await DicomClient.ConnectAsync("127.0.0.1", server.Port, pcs, new DicomClientOptions { CalledAeTitle = "QCPIPE" });
                    return c;
                }
                catch (DicomAssociationRejectedException) { return null; }
            }).ToList();
            var clients = await Task.WhenAll(attempts);
            var accepted = clients.Where(c => c is not null).ToList();
            Assert.True(accepted.Count == 1, $"round {round}: {accepted.Count} of 3 accepted at a cap of 1");
            foreach (var c in accepted) { await c!.ReleaseAsync(); await c.DisposeAsync(); }
            // Wait until the released association has ended on the server before the next round.
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (server.Server.ActiveAssociations > 0 && sw.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(5);
        }
    }
}

public class FixedLengthPduTests
{
    [Theory]
    [InlineData((byte)0x03)]
    [InlineData((byte)0x05)]
    [InlineData((byte)0x06)]
    [InlineData((byte)0x07)]
    public async Task A_fixed_length_PDU_announcing_another_length_is_refused_from_its_header(byte type)
    {
        // Only the 6-byte header is there: the reader must refuse it at once instead of waiting for (or allocating) 1000 bytes.
        var stream = new MemoryStream([type, 0, 0, 0, 0x03, 0xE8]);
        var ex = await Assert.ThrowsAsync<DicomNetworkException>(async () => await new PduReader().ReadAsync(stream));
        Assert.Equal(AbortReason.InvalidPduParameterValue, ex.Reason);
        Assert.Contains("expected 4", ex.Message);
        Assert.False(ex.ConnectionClosed);
    }
}
