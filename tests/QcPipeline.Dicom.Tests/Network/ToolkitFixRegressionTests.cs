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
}
