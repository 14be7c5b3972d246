using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;

namespace QcPipeline.Dicom.Network;

/// <summary>Reads upper-layer PDUs (PS3.8 §9.3). The PDU length in the 6-byte header is checked against
/// <see cref="MaxPduLength"/> before any body byte is buffered; every item and sub-item length is checked
/// against the bytes that remain in its parent. Violations throw <see cref="DicomNetworkException"/> whose
/// <see cref="DicomNetworkException.Reason"/> is the A-ABORT reason to send. Offsets are from the PDU start.</summary>
public sealed class PduReader
{
    public const int HeaderLength = 6;
    public const uint DefaultMaxReceivePduLength = 16384;
    public const uint DefaultHeaderSlack = 1024;

    /// <summary><paramref name="maxReceivePduLength"/> is the maximum length we announce (sub-item 0x51);
    /// <paramref name="slack"/> allows for an A-ASSOCIATE-RQ/AC larger than that and for peers that count
    /// the PDV headers loosely.</summary>
    public PduReader(uint maxReceivePduLength = DefaultMaxReceivePduLength, uint slack = DefaultHeaderSlack)
    {
        // 0 announces "no limit"; we still never buffer more than an array can hold.
        const uint hardLimit = int.MaxValue - 64;
        MaxPduLength = maxReceivePduLength == 0 ? hardLimit : (uint)Math.Min((ulong)maxReceivePduLength + slack, hardLimit);
    }

    /// <summary>Largest A-ASSOCIATE-RQ/AC body accepted whatever <see cref="MaxPduLength"/> is: 128 presentation
    /// contexts with a dozen transfer syntaxes each fit several times over.</summary>
    public const uint MaxAssociatePduLength = 1024 * 1024;

    /// <summary>Largest PDU body (length field) accepted.</summary>
    public uint MaxPduLength { get; }

    /// <summary>Parses one PDU from the start of <paramref name="buffer"/>. Returns false (and leaves the
    /// buffer unchanged) when more bytes are needed; on success slices the PDU off the buffer.</summary>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out Pdu? pdu)
    {
        pdu = null;
        if (buffer.Length < HeaderLength) return false;
        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        uint length = CheckHeader(header);
        if (buffer.Length - HeaderLength < length) return false;
        var body = buffer.Slice(HeaderLength, length).ToArray();
        pdu = ParseBody((PduType)header[0], body);
        buffer = buffer.Slice(HeaderLength + (long)length);
        return true;
    }

    /// <summary>Parses exactly one complete PDU; a short or overlong input is an error.</summary>
    public Pdu Parse(ReadOnlySpan<byte> pdu)
    {
        if (pdu.Length < HeaderLength)
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, pdu.Length > 0 && pdu[0] is >= 1 and <= 7 ? (PduType)pdu[0] : null, "PDU header", pdu.Length, "truncated PDU header");
        uint length = CheckHeader(pdu);
        if ((ulong)pdu.Length - HeaderLength != length)
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, (PduType)pdu[0], "PDU length", 2,
                $"PDU length {length} but {pdu.Length - HeaderLength} bytes follow the header");
        return ParseBody((PduType)pdu[0], pdu[HeaderLength..].ToArray());
    }

    /// <summary>Reads the next PDU; null when the pipe completes cleanly between PDUs.</summary>
    public async ValueTask<Pdu?> ReadAsync(PipeReader reader, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            Pdu? pdu;
            bool ok;
            try
            {
                ok = TryRead(ref buffer, out pdu);
            }
            catch
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                throw;
            }
            if (ok)
            {
                reader.AdvanceTo(buffer.Start);
                return pdu;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                if (buffer.IsEmpty) return null;
                throw Truncated(buffer.First.Span[0], buffer.Length);
            }
            if (result.IsCanceled) throw new OperationCanceledException(cancellationToken);
        }
    }

    /// <summary>Reads the next PDU from a stream; null on end of stream before the first header byte.</summary>
    public async ValueTask<Pdu?> ReadAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var header = _header;
        int got = await stream.ReadAtLeastAsync(header, HeaderLength, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got == 0) return null;
        if (got < HeaderLength) throw Truncated(header[0], got);
        uint length = CheckHeader(header);
        // P-DATA-TF bodies go to one buffer reused for every PDU: their PDVs are consumed before the next read.
        // Other PDUs keep references into their body, so each gets its own array.
        bool reuse = ReuseDataBuffer && header[0] == (byte)PduType.PDataTransfer;
        byte[] body;
        if (reuse)
        {
            if (_dataBuffer is null || _dataBuffer.Length < length) _dataBuffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(length, Math.Min(MaxPduLength, 64 * 1024)));
            body = _dataBuffer;
        }
        else
        {
            body = new byte[length];
        }
        got = await stream.ReadAtLeastAsync(body.AsMemory(0, (int)length), (int)length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (got < length) throw Truncated(header[0], HeaderLength + got);
        return ParseBody((PduType)header[0], body, (int)length);
    }

    private byte[]? _dataBuffer;
    private readonly byte[] _header = new byte[HeaderLength];

    /// <summary>When true, <see cref="ReadAsync(Stream, CancellationToken)"/> reads every P-DATA-TF into one reused
    /// buffer: the PDVs of a P-DATA-TF are then valid only until the next read.</summary>
    public bool ReuseDataBuffer { get; init; }

    private static DicomNetworkException Truncated(byte type, long have) =>
        new(AbortReason.InvalidPduParameterValue, type is >= 1 and <= 7 ? (PduType)type : null, "PDU", have, "connection closed inside a PDU")
        {
            ConnectionClosed = true,
        };

    private uint CheckHeader(ReadOnlySpan<byte> header)
    {
        byte type = header[0];
        if (type is < 1 or > 7)
            throw new DicomNetworkException(AbortReason.UnrecognizedPdu, null, $"PDU type 0x{type:X2}", 0, "unrecognized PDU type");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header[2..]);
        // The announced maximum limits P-DATA-TF PDUs only (PS3.8 §D.1); an A-ASSOCIATE-RQ/AC proposing many
        // presentation contexts (storescu: over 100, about 14 KB) must still be read when that maximum is small.
        uint limit = type is (byte)PduType.AssociateRequest or (byte)PduType.AssociateAccept ? Math.Max(MaxPduLength, MaxAssociatePduLength) : MaxPduLength;
        if (length > limit)
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, (PduType)type, "PDU length", 2,
                $"PDU length {length} exceeds the maximum {limit}");
        // A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT have a fixed 4-byte body (PS3.8 §9.3.4, §9.3.6–9.3.8): refuse
        // another length from the header, before a buffer of that size is allocated.
        if (type is (byte)PduType.AssociateReject or (byte)PduType.ReleaseRequest or (byte)PduType.ReleaseResponse or (byte)PduType.Abort && length != 4)
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, (PduType)type, "PDU length", 2, $"length {length}, expected 4");
        return length;
    }

    private static Pdu ParseBody(PduType type, byte[] body) => ParseBody(type, body, body.Length);

    private static Pdu ParseBody(PduType type, byte[] body, int length)
    {
        var p = new Parser(type, body, length);
        return type switch
        {
            PduType.AssociateRequest or PduType.AssociateAccept => p.Associate(),
            PduType.AssociateReject => p.Fixed4(b => new AssociateReject(
                b[1] is 1 or 2 ? (RejectResult)b[1] : throw p.Error(AbortReason.InvalidPduParameterValue, "Result", 7, $"reject result {b[1]}"),
                b[2] is >= 1 and <= 3 ? (RejectSource)b[2] : throw p.Error(AbortReason.InvalidPduParameterValue, "Source", 8, $"reject source {b[2]}"),
                b[3])),
            PduType.PDataTransfer => p.PData(),
            PduType.ReleaseRequest => p.Fixed4(_ => new ReleaseRequest()),
            PduType.ReleaseResponse => p.Fixed4(_ => new ReleaseResponse()),
            PduType.Abort => p.Fixed4(b => new Abort(
                b[2] is 0 or 2 ? (AbortSource)b[2] : throw p.Error(AbortReason.InvalidPduParameterValue, "Source", 8, $"abort source {b[2]}"),
                (AbortReason)b[3])),
            _ => throw new DicomNetworkException(AbortReason.UnrecognizedPdu, null, "PDU type", 0, "unrecognized PDU type"),
        };
    }

    private readonly struct Parser(PduType type, byte[] body, int bodyLength)
    {
        public DicomNetworkException Error(AbortReason reason, string item, long offset, string problem) =>
            new(reason, type, item, offset, problem);

        public Pdu Fixed4(Func<byte[], Pdu> make)
        {
            if (bodyLength != 4) throw Error(AbortReason.InvalidPduParameterValue, "PDU length", 2, $"length {bodyLength}, expected 4");
            return make(body);
        }

        public PDataTransfer PData()
        {
            var pdvs = new List<Pdv>();
            int o = 0;
            if (bodyLength == 0) throw Error(AbortReason.InvalidPduParameterValue, "PDV", HeaderLength, "P-DATA-TF without a PDV");
            while (o < bodyLength)
            {
                if (bodyLength - o < Pdv.HeaderLength) throw Error(AbortReason.InvalidPduParameterValue, "PDV item", HeaderLength + o, "truncated PDV header");
                uint len = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(o));
                if (len < 2 || len > (uint)(bodyLength - o - 4))
                    throw Error(AbortReason.InvalidPduParameterValue, "PDV item length", HeaderLength + o, $"PDV length {len} with {bodyLength - o - 4} bytes remaining");
                byte pcId = body[o + 4], mch = body[o + 5];
                if ((pcId & 1) == 0) throw Error(AbortReason.InvalidPduParameterValue, "PDV presentation context ID", HeaderLength + o + 4, $"even presentation context id {pcId}");
                if ((mch & 0xFC) != 0) throw Error(AbortReason.InvalidPduParameterValue, "PDV message control header", HeaderLength + o + 5, $"reserved bits set in 0x{mch:X2}");
                pdvs.Add(new Pdv(pcId, (mch & 1) != 0, (mch & 2) != 0, body.AsMemory(o + 6, (int)len - 2)));
                o += 4 + (int)len;
            }
            return new PDataTransfer(pdvs);
        }

        public Pdu Associate()
        {
            bool rq = type == PduType.AssociateRequest;
            if (bodyLength < 68) throw Error(AbortReason.InvalidPduParameterValue, "PDU length", 2, $"length {bodyLength} shorter than the fixed 68-byte part");
            ushort version = BinaryPrimitives.ReadUInt16BigEndian(body);
            var called = AeTitle.Read(body.AsSpan(4, 16), out var calledProblem);
            var calling = AeTitle.Read(body.AsSpan(20, 16), out var callingProblem);
            if (rq && calledProblem is not null) throw Error(AbortReason.InvalidPduParameterValue, "Called-AE-title", HeaderLength + 4, calledProblem);
            if (rq && callingProblem is not null) throw Error(AbortReason.InvalidPduParameterValue, "Calling-AE-title", HeaderLength + 20, callingProblem);
            string? appContext = null;
            var rqContexts = new List<PresentationContextRequest>();
            var acContexts = new List<PresentationContextAccept>();
            UserInformation? ui = null;
            int o = 68;
            while (o < bodyLength)
            {
                var (itemType, start, len) = Item(o, bodyLength, "variable item");
                int at = HeaderLength + o;
                switch (itemType)
                {
                    case 0x10:
                        if (appContext is not null) throw Error(AbortReason.UnexpectedPduParameter, "Application Context Item", at, "second application context item");
                        appContext = Uid(start, len, "Application Context Item");
                        break;
                    case 0x20 when rq:
                        rqContexts.Add(PcRequest(start, len));
                        break;
                    case 0x21 when !rq:
                        acContexts.Add(PcAccept(start, len));
                        break;
                    case 0x50:
                        if (ui is not null) throw Error(AbortReason.UnexpectedPduParameter, "User Information Item", at, "second user information item");
                        ui = UserInfo(start, len, rq);
                        break;
                    case 0x20 or 0x21 or 0x30 or 0x40 or >= 0x51 and <= 0x59:
                        throw Error(AbortReason.UnexpectedPduParameter, $"item 0x{itemType:X2}", at, "item not allowed here");
                    default:
                        throw Error(AbortReason.UnrecognizedPduParameter, $"item 0x{itemType:X2}", at, "unrecognized item type");
                }
                o = start + len;
            }
            if (appContext is null) throw Error(AbortReason.InvalidPduParameterValue, "Application Context Item", HeaderLength + 68, "missing application context item");
            ui ??= new UserInformation();
            Pdu pdu = rq
                ? new AssociateRequest(calling, called, rqContexts, ui) { ProtocolVersion = version, ApplicationContextName = appContext }
                : new AssociateAccept(calling, called, acContexts, ui) { ProtocolVersion = version, ApplicationContextName = appContext };
            return pdu;
        }

        /// <summary>Reads a 4-byte item header at <paramref name="o"/> inside a parent ending at <paramref name="end"/>.</summary>
        private (byte Type, int Start, int Length) Item(int o, int end, string what)
        {
            if (end - o < 4) throw Error(AbortReason.InvalidPduParameterValue, what, HeaderLength + o, $"truncated item header ({end - o} bytes left)");
            byte t = body[o];
            int len = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(o + 2));
            if (len > end - o - 4)
                throw Error(AbortReason.InvalidPduParameterValue, $"item 0x{t:X2}", HeaderLength + o, $"item length {len} exceeds the {end - o - 4} bytes remaining");
            return (t, o + 4, len);
        }

        private string Uid(int start, int len, string item)
        {
            var s = Encoding.ASCII.GetString(body, start, len).TrimEnd('\0', ' ');
            if (s.Length == 0 || s.Length > 64) throw Error(AbortReason.InvalidPduParameterValue, item, HeaderLength + start, $"UID of length {s.Length}");
            foreach (char c in s)
                if (c is not ('.' or >= '0' and <= '9'))
                    throw Error(AbortReason.InvalidPduParameterValue, item, HeaderLength + start, $"UID contains '{(c < 0x20 ? '?' : c)}'");
            return s;
        }

        private PresentationContextRequest PcRequest(int start, int len)
        {
            const string item = "Presentation Context Item (RQ)";
            if (len < 4) throw Error(AbortReason.InvalidPduParameterValue, item, HeaderLength + start, $"item length {len}");
            byte id = body[start];
            if ((id & 1) == 0) throw Error(AbortReason.InvalidPduParameterValue, "Presentation-context-ID", HeaderLength + start, $"even presentation context id {id}");
            int end = start + len, o = start + 4;
            string? abs = null;
            var ts = new List<string>();
            while (o < end)
            {
                var (t, s, l) = Item(o, end, item + " sub-item");
                if (t == 0x30 && abs is null) abs = Uid(s, l, "Abstract Syntax Sub-Item");
                else if (t == 0x40) ts.Add(Uid(s, l, "Transfer Syntax Sub-Item"));
                else throw Error(AbortReason.UnexpectedPduParameter, $"sub-item 0x{t:X2} of context {id}", HeaderLength + o, "sub-item not allowed in a presentation context");
                o = s + l;
            }
            if (abs is null || ts.Count == 0)
                throw Error(AbortReason.InvalidPduParameterValue, item, HeaderLength + start, $"context {id} lacks an abstract syntax or transfer syntax");
            return new PresentationContextRequest(id, abs, ts);
        }

        private PresentationContextAccept PcAccept(int start, int len)
        {
            const string item = "Presentation Context Item (AC)";
            if (len < 4) throw Error(AbortReason.InvalidPduParameterValue, item, HeaderLength + start, $"item length {len}");
            byte id = body[start];
            byte result = body[start + 2];
            if (result > 4) throw Error(AbortReason.InvalidPduParameterValue, "Result/Reason", HeaderLength + start + 2, $"result {result}");
            int end = start + len, o = start + 4;
            string? ts = null;
            while (o < end)
            {
                var (t, s, l) = Item(o, end, item + " sub-item");
                if (t != 0x40 || ts is not null) throw Error(AbortReason.UnexpectedPduParameter, $"sub-item 0x{t:X2} of context {id}", HeaderLength + o, "sub-item not allowed in an accepted context");
                ts = result == 0 || l > 0 ? Uid(s, l, "Transfer Syntax Sub-Item") : "";
                o = s + l;
            }
            if (result == 0 && ts is null) throw Error(AbortReason.InvalidPduParameterValue, item, HeaderLength + start, $"accepted context {id} without transfer syntax");
            return new PresentationContextAccept(id, (PresentationContextResult)result, ts ?? "");
        }

        private UserInformation UserInfo(int start, int len, bool rq)
        {
            int end = start + len, o = start;
            uint? max = null;
            string? icu = null, ivn = null;
            AsyncOperationsWindow? aow = null;
            var roles = new List<RoleSelection>();
            UserIdentityRequest? identity = null;
            ReadOnlyMemory<byte>? identityResponse = null;
            var unknown = new List<UnknownSubItem>();
            while (o < end)
            {
                var (t, s, l) = Item(o, end, "User Information sub-item");
                int at = HeaderLength + o;
                string name = $"User Information sub-item 0x{t:X2}";
                switch (t)
                {
                    case 0x51:
                        if (l != 4) throw Error(AbortReason.InvalidPduParameterValue, "Maximum Length Sub-Item", at, $"length {l}, expected 4");
                        max = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(s));
                        break;
                    case 0x52:
                        icu = Uid(s, l, "Implementation Class UID Sub-Item");
                        break;
                    case 0x53:
                        if (l != 4) throw Error(AbortReason.InvalidPduParameterValue, "Asynchronous Operations Window Sub-Item", at, $"length {l}, expected 4");
                        aow = new AsyncOperationsWindow(BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(s)), BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(s + 2)));
                        break;
                    case 0x54:
                    {
                        if (l < 2) throw Error(AbortReason.InvalidPduParameterValue, "SCP/SCU Role Selection Sub-Item", at, $"length {l}");
                        int ul = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(s));
                        if (ul + 4 != l) throw Error(AbortReason.InvalidPduParameterValue, "SCP/SCU Role Selection Sub-Item", at, $"UID length {ul} inconsistent with item length {l}");
                        roles.Add(new RoleSelection(Uid(s + 2, ul, "SCP/SCU Role Selection Sub-Item"), body[s + 2 + ul] == 1, body[s + 3 + ul] == 1));
                        break;
                    }
                    case 0x55:
                        if (l is 0 or > 16) throw Error(AbortReason.InvalidPduParameterValue, "Implementation Version Name Sub-Item", at, $"length {l}");
                        ivn = Encoding.ASCII.GetString(body, s, l).TrimEnd(' ', '\0');
                        break;
                    case 0x58 when rq:
                    {
                        const string n = "User Identity Negotiation Sub-Item";
                        if (l < 6) throw Error(AbortReason.InvalidPduParameterValue, n, at, $"length {l}");
                        int pl = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(s + 2));
                        if (4 + pl + 2 > l) throw Error(AbortReason.InvalidPduParameterValue, n, at, $"primary field length {pl} exceeds the item");
                        int sl = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(s + 4 + pl));
                        if (4 + pl + 2 + sl != l) throw Error(AbortReason.InvalidPduParameterValue, n, at, $"secondary field length {sl} inconsistent with item length {l}");
                        identity = new UserIdentityRequest(body[s], body[s + 1] == 1, body.AsMemory(s + 4, pl), body.AsMemory(s + 6 + pl, sl));
                        break;
                    }
                    case 0x59 when !rq:
                    {
                        if (l < 2) throw Error(AbortReason.InvalidPduParameterValue, "User Identity Server Response Sub-Item", at, $"length {l}");
                        int rl = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(s));
                        if (rl + 2 != l) throw Error(AbortReason.InvalidPduParameterValue, "User Identity Server Response Sub-Item", at, $"response length {rl} inconsistent with item length {l}");
                        identityResponse = body.AsMemory(s + 2, rl);
                        break;
                    }
                    case 0x58 or 0x59:
                        throw Error(AbortReason.UnexpectedPduParameter, name, at, "user identity sub-item in the wrong PDU");
                    default:
                        unknown.Add(new UnknownSubItem(t, body.AsMemory(s, l)));
                        break;
                }
                o = s + l;
            }
            if (max is null) throw Error(AbortReason.InvalidPduParameterValue, "User Information Item", HeaderLength + start - 4, "missing maximum length sub-item");
            return new UserInformation
            {
                MaxPduLength = max.Value,
                ImplementationClassUid = icu,
                ImplementationVersionName = ivn,
                AsyncOperationsWindow = aow,
                RoleSelections = roles,
                UserIdentity = identity,
                UserIdentityResponse = identityResponse,
                UnknownSubItems = unknown,
            };
        }
    }
}
