using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace QcPipeline.Dicom.Network;

/// <summary>Serialises upper-layer PDUs (PS3.8 §9.3) to an <see cref="IBufferWriter{T}"/>. All multi-byte
/// fields are big endian; UIDs are written without padding.</summary>
public static class PduWriter
{
    public static void Write(Pdu pdu, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(pdu);
        var body = new ArrayBufferWriter<byte>(256);
        switch (pdu)
        {
            case AssociateRequest rq:
                WriteAssociateHeader(body, rq.ProtocolVersion, rq.CalledAeTitle, rq.CallingAeTitle, rq.ApplicationContextName);
                foreach (var pc in rq.PresentationContexts)
                {
                    if ((pc.Id & 1) == 0) throw new ArgumentException($"presentation context id {pc.Id} is not odd");
                    var pcBody = new ArrayBufferWriter<byte>(128);
                    pcBody.Write<byte>([pc.Id, 0, 0, 0]);
                    WriteItem(pcBody, 0x30, Ascii(pc.AbstractSyntax));
                    foreach (var ts in pc.TransferSyntaxes) WriteItem(pcBody, 0x40, Ascii(ts));
                    WriteItem(body, 0x20, pcBody.WrittenSpan);
                }
                WriteUserInformation(body, rq.UserInformation);
                break;
            case AssociateAccept ac:
                WriteAssociateHeader(body, ac.ProtocolVersion, ac.CalledAeTitle, ac.CallingAeTitle, ac.ApplicationContextName);
                foreach (var pc in ac.PresentationContexts)
                {
                    var pcBody = new ArrayBufferWriter<byte>(64);
                    pcBody.Write<byte>([pc.Id, 0, (byte)pc.Result, 0]);
                    WriteItem(pcBody, 0x40, Ascii(pc.TransferSyntax));
                    WriteItem(body, 0x21, pcBody.WrittenSpan);
                }
                WriteUserInformation(body, ac.UserInformation);
                break;
            case AssociateReject rj:
                body.Write<byte>([0, (byte)rj.Result, (byte)rj.Source, rj.Reason]);
                break;
            case PDataTransfer pd:
                Span<byte> h = stackalloc byte[Pdv.HeaderLength];
                foreach (var pdv in pd.Pdvs)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(h, checked((uint)pdv.Data.Length + 2));
                    h[4] = pdv.PresentationContextId;
                    h[5] = (byte)((pdv.IsCommand ? 1 : 0) | (pdv.IsLast ? 2 : 0));
                    body.Write(h);
                    body.Write(pdv.Data.Span);
                }
                break;
            case ReleaseRequest or ReleaseResponse:
                body.Write<byte>([0, 0, 0, 0]);
                break;
            case Abort ab:
                body.Write<byte>([0, 0, (byte)ab.Source, (byte)ab.Reason]);
                break;
            default:
                throw new ArgumentException($"unknown PDU {pdu.GetType().Name}", nameof(pdu));
        }
        var header = output.GetSpan(6);
        header[0] = (byte)pdu.Type;
        header[1] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[2..], (uint)body.WrittenCount);
        output.Advance(6);
        output.Write(body.WrittenSpan);
    }

    /// <summary>Serialises <paramref name="pdu"/> into a new array.</summary>
    public static byte[] ToArray(Pdu pdu)
    {
        var w = new ArrayBufferWriter<byte>();
        Write(pdu, w);
        return w.WrittenSpan.ToArray();
    }

    /// <summary>Splits one command or data set stream into P-DATA-TF PDUs of one PDV each, so that no PDU
    /// exceeds the peer's maximum PDU length (each PDV carries at most <c>maxPduLength − 6</c> bytes). A
    /// <paramref name="maxPduLength"/> of 0 means the peer set no limit. The last PDV has the last-fragment bit.</summary>
    public static IEnumerable<PDataTransfer> Fragment(byte presentationContextId, bool isCommand, ReadOnlyMemory<byte> data, uint maxPduLength)
    {
        if (maxPduLength != 0 && maxPduLength <= Pdv.HeaderLength)
            throw new ArgumentOutOfRangeException(nameof(maxPduLength), maxPduLength, "maximum PDU length leaves no room for PDV data");
        int chunk = maxPduLength == 0 || maxPduLength - Pdv.HeaderLength > int.MaxValue / 2
            ? int.MaxValue / 2 : (int)(maxPduLength - Pdv.HeaderLength);
        return FragmentIterator(presentationContextId, isCommand, data, chunk);
    }

    private static IEnumerable<PDataTransfer> FragmentIterator(byte pcId, bool isCommand, ReadOnlyMemory<byte> data, int chunk)
    {
        int offset = 0;
        do
        {
            int n = Math.Min(chunk, data.Length - offset);
            bool last = offset + n == data.Length;
            yield return new PDataTransfer([new Pdv(pcId, isCommand, last, data.Slice(offset, n))]);
            offset += n;
        } while (offset < data.Length);
    }

    /// <summary>Writes the fragments of <see cref="Fragment"/> directly to <paramref name="output"/>.</summary>
    public static int WriteFragments(IBufferWriter<byte> output, byte presentationContextId, bool isCommand, ReadOnlyMemory<byte> data, uint maxPduLength)
    {
        int count = 0;
        foreach (var pdu in Fragment(presentationContextId, isCommand, data, maxPduLength)) { Write(pdu, output); count++; }
        return count;
    }

    private static void WriteAssociateHeader(ArrayBufferWriter<byte> body, ushort version, string called, string calling, string appContext)
    {
        Span<byte> fixedPart = stackalloc byte[68];
        fixedPart.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart, version);
        AeTitle.Write(called, fixedPart.Slice(4, 16));
        AeTitle.Write(calling, fixedPart.Slice(20, 16));
        body.Write(fixedPart);
        WriteItem(body, 0x10, Ascii(appContext));
    }

    private static void WriteUserInformation(ArrayBufferWriter<byte> body, UserInformation ui)
    {
        var ub = new ArrayBufferWriter<byte>(128);
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(four, ui.MaxPduLength);
        WriteItem(ub, 0x51, four);
        if (ui.ImplementationClassUid is { } icu) WriteItem(ub, 0x52, Ascii(icu));
        if (ui.AsyncOperationsWindow is { } aow)
        {
            BinaryPrimitives.WriteUInt16BigEndian(four, aow.MaxOperationsInvoked);
            BinaryPrimitives.WriteUInt16BigEndian(four[2..], aow.MaxOperationsPerformed);
            WriteItem(ub, 0x53, four);
        }
        foreach (var rs in ui.RoleSelections)
        {
            var uid = Ascii(rs.SopClassUid);
            var v = new byte[2 + uid.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(v, checked((ushort)uid.Length));
            uid.CopyTo(v, 2);
            v[^2] = rs.ScuRole ? (byte)1 : (byte)0;
            v[^1] = rs.ScpRole ? (byte)1 : (byte)0;
            WriteItem(ub, 0x54, v);
        }
        if (ui.ImplementationVersionName is { } ivn) WriteItem(ub, 0x55, Ascii(ivn));
        if (ui.UserIdentity is { } uid2)
        {
            var v = new byte[2 + 2 + uid2.PrimaryField.Length + 2 + uid2.SecondaryField.Length];
            v[0] = uid2.IdentityType;
            v[1] = uid2.PositiveResponseRequested ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(2), checked((ushort)uid2.PrimaryField.Length));
            uid2.PrimaryField.Span.CopyTo(v.AsSpan(4));
            int o = 4 + uid2.PrimaryField.Length;
            BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(o), checked((ushort)uid2.SecondaryField.Length));
            uid2.SecondaryField.Span.CopyTo(v.AsSpan(o + 2));
            WriteItem(ub, 0x58, v);
        }
        if (ui.UserIdentityResponse is { } resp)
        {
            var v = new byte[2 + resp.Length];
            BinaryPrimitives.WriteUInt16BigEndian(v, checked((ushort)resp.Length));
            resp.Span.CopyTo(v.AsSpan(2));
            WriteItem(ub, 0x59, v);
        }
        foreach (var u in ui.UnknownSubItems) WriteItem(ub, u.ItemType, u.Value.Span);
        WriteItem(body, 0x50, ub.WrittenSpan);
    }

    private static void WriteItem(ArrayBufferWriter<byte> w, byte type, ReadOnlySpan<byte> value)
    {
        if (value.Length > ushort.MaxValue) throw new ArgumentException($"item 0x{type:X2} longer than 65535 bytes");
        Span<byte> h = stackalloc byte[4];
        h[0] = type;
        h[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)value.Length);
        w.Write(h);
        w.Write(value);
    }

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);
}
