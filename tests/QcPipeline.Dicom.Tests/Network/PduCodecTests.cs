using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Dicom.Tests.Network;

public class PduCodecTests
{
    internal static AssociateRequest SampleRequest() => new(
        "QCTEST", "QCPIPE",
        [
            new PresentationContextRequest(1, "1.2.840.10008.1.1", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]),
            new PresentationContextRequest(3, "1.2.840.10008.5.1.4.1.1.2", ["1.2.840.10008.1.2.4.50"]),
        ],
        new UserInformation
        {
            MaxPduLength = 16384,
            ImplementationClassUid = "1.2.3.4",
            ImplementationVersionName = "QC_1",
            AsyncOperationsWindow = new AsyncOperationsWindow(1, 1),
            RoleSelections = [new RoleSelection("1.2.840.10008.5.1.4.1.1.2", true, false)],
            UserIdentity = new UserIdentityRequest(2, true, Encoding.ASCII.GetBytes("user"), Encoding.ASCII.GetBytes("pw")),
            UnknownSubItems = [new UnknownSubItem(0x56, new byte[] { 0, 3, 0x31, 0x2E, 0x32, 1 })],
        });

    internal static AssociateAccept SampleAccept() => new(
        "QCTEST", "QCPIPE",
        [
            new PresentationContextAccept(1, PresentationContextResult.Acceptance, "1.2.840.10008.1.2.1"),
            new PresentationContextAccept(3, PresentationContextResult.AbstractSyntaxNotSupported, ""),
        ],
        new UserInformation
        {
            MaxPduLength = 0,
            ImplementationClassUid = "1.2.3.4.5",
            UserIdentityResponse = Encoding.ASCII.GetBytes("token"),
        });

    internal static IEnumerable<Pdu> AllSamples() =>
    [
        SampleRequest(),
        SampleAccept(),
        new AssociateReject(RejectResult.Permanent, RejectSource.ServiceUser, AssociateReject.CalledAeTitleNotRecognized),
        new PDataTransfer([new Pdv(1, true, true, new byte[] { 1, 2, 3, 4 }), new Pdv(3, false, false, new byte[] { 9 }), new Pdv(5, false, true, Array.Empty<byte>())]),
        new ReleaseRequest(),
        new ReleaseResponse(),
        new Abort(AbortSource.ServiceProvider, AbortReason.UnexpectedPdu),
    ];

    public static TheoryData<int> SampleIndexes() => [0, 1, 2, 3, 4, 5, 6];

    [Theory]
    [MemberData(nameof(SampleIndexes))]
    public void Round_trip_is_byte_exact(int index)
    {
        var pdu = AllSamples().ElementAt(index);
        var bytes = PduWriter.ToArray(pdu);
        var back = new PduReader().Parse(bytes);
        Assert.Equal(pdu.Type, back.Type);
        Assert.Equal(bytes, PduWriter.ToArray(back));
    }

    [Fact]
    public void Round_trip_keeps_fields()
    {
        var rq = (AssociateRequest)new PduReader().Parse(PduWriter.ToArray(SampleRequest()));
        Assert.Equal("QCTEST", rq.CallingAeTitle);
        Assert.Equal("QCPIPE", rq.CalledAeTitle);
        Assert.Equal(AssociateRequest.DicomApplicationContext, rq.ApplicationContextName);
        Assert.Equal(2, rq.PresentationContexts.Count);
        Assert.Equal(["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"], rq.PresentationContexts[0].TransferSyntaxes);
        var ui = rq.UserInformation;
        Assert.Equal(16384u, ui.MaxPduLength);
        Assert.Equal("1.2.3.4", ui.ImplementationClassUid);
        Assert.Equal("QC_1", ui.ImplementationVersionName);
        Assert.Equal(new AsyncOperationsWindow(1, 1), ui.AsyncOperationsWindow);
        Assert.Equal(new RoleSelection("1.2.840.10008.5.1.4.1.1.2", true, false), Assert.Single(ui.RoleSelections));
        Assert.Equal("user", Encoding.ASCII.GetString(ui.UserIdentity!.PrimaryField.Span));
        Assert.Equal("pw", Encoding.ASCII.GetString(ui.UserIdentity.SecondaryField.Span));
        Assert.True(ui.UserIdentity.PositiveResponseRequested);
        Assert.Equal(0x56, Assert.Single(ui.UnknownSubItems).ItemType);

        var ac = (AssociateAccept)new PduReader().Parse(PduWriter.ToArray(SampleAccept()));
        Assert.Equal(PresentationContextResult.AbstractSyntaxNotSupported, ac.PresentationContexts[1].Result);
        Assert.Equal("token", Encoding.ASCII.GetString(ac.UserInformation.UserIdentityResponse!.Value.Span));

        var pd = (PDataTransfer)new PduReader().Parse(PduWriter.ToArray(AllSamples().ElementAt(3)));
        Assert.Equal(3, pd.Pdvs.Count);
        Assert.True(pd.Pdvs[0].IsCommand && pd.Pdvs[0].IsLast);
        Assert.False(pd.Pdvs[1].IsCommand || pd.Pdvs[1].IsLast);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, pd.Pdvs[0].Data.ToArray());
    }

    /// <summary>An A-ASSOCIATE-RQ assembled field by field from PS3.8 Tables 9-11, 9-12, 9-13, 9-14, 9-15,
    /// 9-16 and D.1-1/D.3-1 (maximum length) and D.3-2 (implementation class UID).</summary>
    [Fact]
    public void Associate_request_matches_hand_built_bytes()
    {
        static byte[] A(string s) => Encoding.ASCII.GetBytes(s);
        static byte[] Item(byte type, params byte[][] parts)
        {
            var v = parts.SelectMany(p => p).ToArray();
            return [type, 0, (byte)(v.Length >> 8), (byte)v.Length, .. v];
        }
        byte[] appCtx = Item(0x10, A("1.2.840.10008.3.1.1.1"));
        byte[] pc = Item(0x20, [1, 0, 0, 0], Item(0x30, A("1.2.840.10008.1.1")), Item(0x40, A("1.2.840.10008.1.2")));
        byte[] ui = Item(0x50, Item(0x51, [0, 0, 0x40, 0]), Item(0x52, A("1.2.3")));
        byte[] fixedPart =
        [
            0, 1, 0, 0,                     // protocol version 1, reserved
            .. A("CALLED          "),       // called AE, bytes 11-26
            .. A("CALLING         "),       // calling AE, bytes 27-42
            .. new byte[32],                // reserved, bytes 43-74
        ];
        byte[] body = [.. fixedPart, .. appCtx, .. pc, .. ui];
        byte[] expected = [0x01, 0, (byte)(body.Length >> 24), (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];

        var rq = new AssociateRequest(" CALLING", "CALLED ",
            [new PresentationContextRequest(1, "1.2.840.10008.1.1", ["1.2.840.10008.1.2"])],
            new UserInformation { MaxPduLength = 0x4000, ImplementationClassUid = "1.2.3" });
        Assert.Equal(expected, PduWriter.ToArray(rq));
        var back = (AssociateRequest)new PduReader().Parse(expected);
        Assert.Equal("CALLING", back.CallingAeTitle);
        Assert.Equal("CALLED", back.CalledAeTitle);
    }

    [Fact]
    public void Reject_release_abort_bytes()
    {
        Assert.Equal(new byte[] { 3, 0, 0, 0, 0, 4, 0, 1, 1, 7 },
            PduWriter.ToArray(new AssociateReject(RejectResult.Permanent, RejectSource.ServiceUser, AssociateReject.CalledAeTitleNotRecognized)));
        Assert.Equal(new byte[] { 5, 0, 0, 0, 0, 4, 0, 0, 0, 0 }, PduWriter.ToArray(new ReleaseRequest()));
        Assert.Equal(new byte[] { 6, 0, 0, 0, 0, 4, 0, 0, 0, 0 }, PduWriter.ToArray(new ReleaseResponse()));
        Assert.Equal(new byte[] { 7, 0, 0, 0, 0, 4, 0, 0, 2, 6 }, PduWriter.ToArray(new Abort(AbortSource.ServiceProvider, AbortReason.InvalidPduParameterValue)));
        Assert.Equal(new byte[] { 4, 0, 0, 0, 0, 8, 0, 0, 0, 4, 1, 3, 0xAA, 0xBB },
            PduWriter.ToArray(new PDataTransfer([new Pdv(1, true, true, new byte[] { 0xAA, 0xBB })])));
    }

    [Theory]
    [InlineData("")]
    [InlineData("A\\B")]
    [InlineData("TAB\tAE")]
    [InlineData("SEVENTEEN_CHARS_X")]
    public void Invalid_ae_titles_are_refused_on_write(string ae)
    {
        var rq = SampleRequest() with { CallingAeTitle = ae };
        Assert.Throws<ArgumentException>(() => PduWriter.ToArray(rq));
    }

    [Theory]
    [InlineData(0, 16384, 1)]
    [InlineData(1, 16384, 1)]
    [InlineData(16378, 16384, 1)]
    [InlineData(16379, 16384, 2)]
    [InlineData(100_000, 16384, 7)]
    [InlineData(100_000, 0, 1)]
    public void Fragmentation_respects_peer_max_pdu(int size, uint max, int expectedPdus)
    {
        var data = Enumerable.Range(0, size).Select(i => (byte)i).ToArray();
        var w = new ArrayBufferWriter<byte>();
        Assert.Equal(expectedPdus, PduWriter.WriteFragments(w, 5, false, data, max));
        var seq = new ReadOnlySequence<byte>(w.WrittenMemory);
        var reader = new PduReader(max == 0 ? 0 : max, 0);
        var got = new List<byte>();
        int n = 0;
        while (reader.TryRead(ref seq, out var pdu))
        {
            n++;
            var pdv = Assert.Single(((PDataTransfer)pdu!).Pdvs);
            Assert.Equal(n == expectedPdus, pdv.IsLast);
            Assert.False(pdv.IsCommand);
            Assert.Equal(5, pdv.PresentationContextId);
            if (max != 0) Assert.True(pdv.Data.Length <= max - 6);
            got.AddRange(pdv.Data.ToArray());
        }
        Assert.True(seq.IsEmpty);
        Assert.Equal(expectedPdus, n);
        Assert.Equal(data, got.ToArray());
    }

    [Fact]
    public void TryRead_needs_more_bytes_until_complete()
    {
        var bytes = PduWriter.ToArray(SampleRequest());
        var reader = new PduReader();
        for (int n = 0; n < bytes.Length; n++)
        {
            var seq = new ReadOnlySequence<byte>(bytes, 0, n);
            Assert.False(reader.TryRead(ref seq, out _));
            Assert.Equal(n, seq.Length);
        }
        var all = new ReadOnlySequence<byte>([.. bytes, .. PduWriter.ToArray(new ReleaseRequest())]);
        Assert.True(reader.TryRead(ref all, out var first));
        Assert.IsType<AssociateRequest>(first);
        Assert.True(reader.TryRead(ref all, out var second));
        Assert.IsType<ReleaseRequest>(second);
        Assert.True(all.IsEmpty);
    }

    [Fact]
    public async Task Reads_from_pipe_and_stream_in_small_chunks()
    {
        var bytes = AllSamples().SelectMany(PduWriter.ToArray).ToArray();
        var pipe = new Pipe();
        var writer = Task.Run(async () =>
        {
            for (int i = 0; i < bytes.Length; i += 7)
            {
                await pipe.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(7, bytes.Length - i)));
                await pipe.Writer.FlushAsync();
            }
            await pipe.Writer.CompleteAsync();
        });
        var reader = new PduReader();
        var fromPipe = new List<Pdu>();
        while (await reader.ReadAsync(pipe.Reader) is { } p) fromPipe.Add(p);
        await writer;
        Assert.Equal(AllSamples().Select(p => p.Type), fromPipe.Select(p => p.Type));

        using var ms = new MemoryStream(bytes);
        var fromStream = new List<Pdu>();
        while (await reader.ReadAsync(ms) is { } p) fromStream.Add(p);
        Assert.Equal(bytes, fromStream.SelectMany(PduWriter.ToArray).ToArray());
    }
}
