using System.Buffers;
using System.Buffers.Binary;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Dicom.Tests.Network;

public class MalformedPduTests
{
    private static byte[] Rq() => PduWriter.ToArray(PduCodecTests.SampleRequest());

    private static DicomNetworkException Fails(byte[] bytes, AbortReason reason)
    {
        var ex = Assert.Throws<DicomNetworkException>(() => new PduReader().Parse(bytes));
        Assert.Equal(reason, ex.Reason);
        Assert.Contains("offset", ex.Message);
        return ex;
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x08)]
    [InlineData(0xFF)]
    public void Unknown_pdu_type_is_unrecognized_pdu(byte type)
    {
        var ex = Fails([type, 0, 0, 0, 0, 4, 0, 0, 0, 0], AbortReason.UnrecognizedPdu);
        Assert.Null(ex.PduType);
        var seq = new ReadOnlySequence<byte>(new byte[] { type, 0, 0, 0, 0, 4 });
        Assert.Throws<DicomNetworkException>(() => new PduReader().TryRead(ref seq, out _));
    }

    [Fact]
    public async Task Oversize_length_is_refused_from_the_header_alone()
    {
        var seq = new ReadOnlySequence<byte>(new byte[] { 4, 0, 0x7F, 0xFF, 0xFF, 0xFF });
        var ex = Assert.Throws<DicomNetworkException>(() => new PduReader(16384).TryRead(ref seq, out _));
        Assert.Equal(AbortReason.InvalidPduParameterValue, ex.Reason);
        Assert.Equal(PduType.PDataTransfer, ex.PduType);
        Assert.Contains("exceeds the maximum 17408", ex.Message);
        using var s = new MemoryStream([4, 0, 0, 0x01, 0x00, 0x00]); // 65536 > 16384 + 1024
        await Assert.ThrowsAsync<DicomNetworkException>(() => new PduReader(16384).ReadAsync(s).AsTask());
    }

    [Fact]
    public async Task Truncated_pdu_fails_in_parse_and_at_end_of_stream()
    {
        var bytes = Rq()[..^3];
        Fails(bytes, AbortReason.InvalidPduParameterValue);
        using var s = new MemoryStream(bytes);
        var ex = await Assert.ThrowsAsync<DicomNetworkException>(() => new PduReader().ReadAsync(s).AsTask());
        Assert.Equal(PduType.AssociateRequest, ex.PduType);
        Fails([1, 0, 0], AbortReason.InvalidPduParameterValue);
    }

    [Fact]
    public void Item_length_beyond_the_pdu_is_invalid()
    {
        var b = Rq();
        Assert.Equal(0x10, b[6 + 68]);               // application context item follows the fixed part
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6 + 68 + 2), 0xFFF0);
        var ex = Fails(b, AbortReason.InvalidPduParameterValue);
        Assert.Equal("item 0x10", ex.Item);
        Assert.Equal(74, ex.Offset);
    }

    [Fact]
    public void Sub_item_length_beyond_its_item_is_invalid()
    {
        var b = Rq();
        int pc = 6 + 68 + 4 + 21;                    // after the 21-byte application context name
        Assert.Equal(0x20, b[pc]);
        Assert.Equal(0x30, b[pc + 8]);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(pc + 8 + 2), 200);
        var ex = Fails(b, AbortReason.InvalidPduParameterValue);
        Assert.Contains("exceeds", ex.Message);
    }

    [Fact]
    public void Unknown_and_misplaced_items()
    {
        var b = Rq();
        int pc = 6 + 68 + 4 + 21;
        b[pc] = 0x77;
        Fails(b, AbortReason.UnrecognizedPduParameter);
        b[pc] = 0x21;                                 // AC presentation context inside an RQ
        Fails(b, AbortReason.UnexpectedPduParameter);
        b[pc] = 0x20;
        b[pc + 4] = 2;                                // even presentation context id
        Fails(b, AbortReason.InvalidPduParameterValue);
    }

    [Fact]
    public void Bad_ae_title_in_request_is_invalid()
    {
        var b = Rq();
        b[6 + 20 + 2] = (byte)'\\';
        var ex = Fails(b, AbortReason.InvalidPduParameterValue);
        Assert.Equal("Calling-AE-title", ex.Item);
        b = Rq();
        b[6 + 4 + 1] = 0x07;
        Assert.Equal("Called-AE-title", Fails(b, AbortReason.InvalidPduParameterValue).Item);
        b = Rq();
        b.AsSpan(6 + 4, 16).Fill((byte)' ');
        Fails(b, AbortReason.InvalidPduParameterValue);
    }

    [Fact]
    public void Bad_pdv_and_fixed_length_pdus()
    {
        Fails([4, 0, 0, 0, 0, 5, 0, 0, 0, 1, 1], AbortReason.InvalidPduParameterValue);        // PDV length 1 < 2 and short
        Fails([4, 0, 0, 0, 0, 6, 0, 0, 0, 9, 1, 3], AbortReason.InvalidPduParameterValue);     // PDV length past the PDU
        Fails([4, 0, 0, 0, 0, 0], AbortReason.InvalidPduParameterValue);                       // no PDV
        Fails([5, 0, 0, 0, 0, 2, 0, 0], AbortReason.InvalidPduParameterValue);                 // release with length 2
        Fails([3, 0, 0, 0, 0, 4, 0, 9, 1, 1], AbortReason.InvalidPduParameterValue);           // reject result 9
        Fails([7, 0, 0, 0, 0, 4, 0, 0, 1, 0], AbortReason.InvalidPduParameterValue);           // abort source 1 is reserved
    }

    [Fact]
    public void Missing_maximum_length_is_invalid()
    {
        var b = Rq();
        int o = 6 + 68;                               // walk the variable items to the user information item
        while (b[o] != 0x50) o += 4 + BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(o + 2));
        Assert.Equal(0x51, b[o + 4]);
        b[o + 4] = 0x5F;                              // turn max length into an unknown sub-item
        Fails(b, AbortReason.InvalidPduParameterValue);
    }
}
