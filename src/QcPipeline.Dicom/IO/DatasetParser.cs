using System.Buffers.Binary;

namespace QcPipeline.Dicom.IO;

/// <summary>Parses a dataset from a contiguous buffer (PS3.5 §7). Element values are slices of the buffer
/// (no copy) except in big-endian syntax, where binary values are swapped into a copy. Every length is checked
/// against the bytes that remain; a violation is a <see cref="DicomFormatException"/> naming tag and offset.</summary>
internal sealed class DatasetParser
{
    private const uint UndefinedLength = 0xFFFFFFFF;
    private static readonly DicomTag PixelData = new(0x7FE00010);
    private static readonly DicomTag FloatPixelData = new(0x7FE00008);
    private static readonly DicomTag DoubleFloatPixelData = new(0x7FE00009);

    private readonly byte[] _buffer;
    private readonly int _limit;
    private readonly bool _partial;
    private readonly DicomReadOptions _options;
    private readonly long _baseOffset;

    /// <param name="buffer">the bytes</param>
    /// <param name="limit">index just past the last valid byte</param>
    /// <param name="partial">the buffer is a prefix of a longer stream: running out of bytes asks for more instead of failing</param>
    /// <param name="baseOffset">offset of buffer[0] in the original stream, for error messages</param>
    public DatasetParser(byte[] buffer, int limit, bool partial, DicomReadOptions options, long baseOffset = 0)
    {
        _buffer = buffer; _limit = limit; _partial = partial; _options = options; _baseOffset = baseOffset;
    }

    /// <summary>Offset of the top-level Pixel Data element header when reading stopped there, else -1.</summary>
    public long PixelDataOffset { get; private set; } = -1;

    /// <summary>Thrown when a partial buffer ends before the requested data; the caller reads more and retries.</summary>
    internal sealed class NeedMoreDataException : Exception
    {
        public NeedMoreDataException() : base("more data needed") { }
    }

    /// <summary>Parses the top-level dataset from <paramref name="start"/> to the end of the buffer. Returns the end position.</summary>
    public int ParseTopLevel(DicomDataset ds, int start, bool explicitVR, bool littleEndian)
    {
        int end = ParseItems(ds, start, _limit, explicitVR, littleEndian, depth: 0, untilItemDelimiter: false, topLevel: true);
        ds.FinishParse();
        return end;
    }

    /// <summary>Parses group 0002 (always explicit VR little endian, PS3.10 §7.1) and stops at the first other group.</summary>
    public int ParseFileMeta(DicomDataset meta, int start)
    {
        int pos = start;
        while (true)
        {
            if (_limit - pos < 8) { if (_partial) throw new NeedMoreDataException(); break; }
            ushort group = BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(pos));
            if (group != 0x0002) break;
            pos = ParseElement(meta, pos, _limit, explicitVR: true, littleEndian: true, depth: 0, topLevel: false, out _);
        }
        meta.FinishParse();
        return pos;
    }

    private int ParseItems(DicomDataset ds, int pos, int end, bool explicitVR, bool littleEndian, int depth, bool untilItemDelimiter, bool topLevel)
    {
        while (pos < end)
        {
            if (end - pos < 8)
            {
                if (_partial && end == _limit) throw new NeedMoreDataException();
                // Trailing bytes shorter than an element header: PS3.10 files sometimes end with padding garbage.
                if (topLevel && IsAllZero(pos, end)) return end;
                throw Error(null, pos, $"{end - pos} bytes remain, too few for an element header");
            }
            var tag = ReadTag(pos, littleEndian);
            if (tag.Group == 0xFFFE)
            {
                if (tag == DicomTag.ItemDelimitationItem && untilItemDelimiter) return pos + 8;
                if (tag == DicomTag.SequenceDelimitationItem && topLevel)
                {
                    // A stray sequence delimiter at the top level (seen in files written by some toolkits): skip it.
                    pos += 8;
                    continue;
                }
                throw Error(tag, pos, untilItemDelimiter ? "unexpected delimiter inside an item" : "unexpected item or delimiter tag in a dataset");
            }
            if (topLevel && _options.StopBeforePixelData && (tag == PixelData || tag == FloatPixelData || tag == DoubleFloatPixelData))
            {
                PixelDataOffset = _baseOffset + pos;
                return pos;
            }
            pos = ParseElement(ds, pos, end, explicitVR, littleEndian, depth, topLevel, out _);
        }
        if (topLevel && _partial) throw new NeedMoreDataException();
        if (untilItemDelimiter)
        {
            if (_partial && end == _limit) throw new NeedMoreDataException();
            throw Error(null, pos, "item of undefined length has no Item Delimitation Item before the end of the data");
        }
        return pos;
    }

    private bool IsAllZero(int pos, int end)
    {
        for (int i = pos; i < end; i++) if (_buffer[i] != 0) return false;
        return true;
    }

    private DicomTag ReadTag(int pos, bool littleEndian)
    {
        var span = _buffer.AsSpan(pos, 4);
        return littleEndian
            ? new DicomTag(BinaryPrimitives.ReadUInt16LittleEndian(span), BinaryPrimitives.ReadUInt16LittleEndian(span[2..]))
            : new DicomTag(BinaryPrimitives.ReadUInt16BigEndian(span), BinaryPrimitives.ReadUInt16BigEndian(span[2..]));
    }

    private uint ReadUInt32(int pos, bool littleEndian) =>
        littleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(pos, 4)) : BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(pos, 4));

    private ushort ReadUInt16(int pos, bool littleEndian) =>
        littleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(pos, 2)) : BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(pos, 2));

    /// <summary>Reads one element header and value at <paramref name="pos"/>; returns the position after it.</summary>
    private int ParseElement(DicomDataset ds, int pos, int end, bool explicitVR, bool littleEndian, int depth, bool topLevel, out DicomItem item)
    {
        var tag = ReadTag(pos, littleEndian);
        DicomVR vr;
        uint length;
        int valuePos;
        bool vrWasExplicit = false;

        if (explicitVR && DicomVRInfo.TryParse(_buffer.AsSpan(pos + 4, 2), out vr))
        {
            vrWasExplicit = true;
            if (vr.HasLongLength())
            {
                if (end - pos < 12) { if (_partial && end == _limit) throw new NeedMoreDataException(); throw Error(tag, pos, "element header truncated"); }
                length = ReadUInt32(pos + 8, littleEndian);
                valuePos = pos + 12;
            }
            else
            {
                length = ReadUInt16(pos + 6, littleEndian);
                valuePos = pos + 8;
            }
        }
        else
        {
            // Implicit VR (PS3.5 §7.1.3), or an explicit-VR stream holding an element without a valid VR:
            // read it as implicit, taking the VR from the dictionary (as DCMTK does for such files).
            if (explicitVR && IsUpperAlpha(_buffer[pos + 4]) && IsUpperAlpha(_buffer[pos + 5]))
            {
                // Two letters that are not a VR: an unknown VR. PS3.5 §6.2 says such a value is to be treated as UN
                // with a 4-byte length after two reserved bytes.
                vr = DicomVR.UN;
                if (end - pos < 12) { if (_partial && end == _limit) throw new NeedMoreDataException(); throw Error(tag, pos, "element header truncated"); }
                length = ReadUInt32(pos + 8, littleEndian);
                valuePos = pos + 12;
            }
            else
            {
                vr = ImplicitVR(tag, ds);
                length = ReadUInt32(pos + 4, littleEndian);
                valuePos = pos + 8;
            }
        }

        if (length == UndefinedLength)
        {
            if (tag == PixelData && vr is DicomVR.OB or DicomVR.OW or DicomVR.UN)
            {
                // Encapsulated pixel data has VR OB (PS3.5 §A.4), whatever VR (OW, UN) the header spelled.
                item = ParseFragments(tag, DicomVR.OB, valuePos, end, littleEndian, out int after);
                ds.AddParsed(item);
                return after;
            }
            if (vr is DicomVR.SQ or DicomVR.UN || (!vrWasExplicit && vr != DicomVR.None))
            {
                // UN of undefined length holds an implicit VR LE sequence (PS3.5 §6.2.2); so does an unknown tag in implicit VR.
                bool innerExplicit = vr == DicomVR.SQ && explicitVR;
                bool innerLittle = vr == DicomVR.SQ ? littleEndian : true;
                var sq = new DicomSequence(tag);
                int after = ParseSequence(sq, valuePos, end, undefinedLength: true, innerExplicit, innerLittle, depth + 1, ds);
                ds.AddParsed(sq);
                item = sq;
                return after;
            }
            throw Error(tag, pos, $"undefined length is not allowed for VR {vr.Code()}");
        }

        if (length > (uint)(end - valuePos))
        {
            if (_partial && end == _limit) throw new NeedMoreDataException();
            throw Error(tag, pos, $"value length {length} exceeds the {end - valuePos} bytes that remain");
        }
        int valueEnd = valuePos + (int)length;

        if (vr == DicomVR.SQ)
        {
            var sq = new DicomSequence(tag);
            ParseSequence(sq, valuePos, valueEnd, undefinedLength: false, explicitVR, littleEndian, depth + 1, ds);
            ds.AddParsed(sq);
            item = sq;
            return valueEnd;
        }

        ReadOnlyMemory<byte> data;
        int unit = vr.BinaryUnitSize();
        if (!littleEndian && unit > 1 && length > 0)
        {
            var copy = _buffer.AsSpan(valuePos, (int)length).ToArray();
            SwapInPlace(copy, unit);
            data = copy;
        }
        else
        {
            data = new ReadOnlyMemory<byte>(_buffer, valuePos, (int)length);
        }
        item = new DicomElement(tag, vr, data);
        ds.AddParsed(item);
        return valueEnd;
    }

    private static bool IsUpperAlpha(byte b) => b >= (byte)'A' && b <= (byte)'Z';

    private static readonly DicomTag PixelRepresentation = new(0x00280103);

    private static DicomVR ImplicitVR(DicomTag tag, DicomDataset ds)
    {
        if (tag.IsGroupLength) return DicomVR.UL;
        if (tag.IsPrivate) return tag.IsPrivateCreator ? DicomVR.LO : DicomVR.UN;
        var vr = DicomDictionary.GetDefaultVR(tag);
        if (vr == DicomVR.US && DicomDictionary.Lookup(tag) is { AlternateVR: DicomVR.SS })
        {
            // "US or SS" attributes (e.g. Smallest Image Pixel Value, Pixel Padding Value) take the VR that Pixel
            // Representation (0028,0103) implies (PS3.5 Annex A.1 note; PS3.3 C.7.6.3.1). It precedes them in the
            // same dataset, or stands in an enclosing one.
            for (var d = ds; d is not null; d = d.Parent)
                if (d.TryGetInt32(PixelRepresentation, out var rep)) return rep == 1 ? DicomVR.SS : DicomVR.US;
        }
        return vr == DicomVR.None ? DicomVR.UN : vr;
    }

    private int ParseSequence(DicomSequence sq, int pos, int end, bool undefinedLength, bool explicitVR, bool littleEndian, int depth, DicomDataset parent)
    {
        int maxDepth = Math.Min(_options.MaxSequenceDepth, DicomReadOptions.HardMaxSequenceDepth);
        if (depth > maxDepth) throw Error(sq.Tag, pos, $"sequences nested deeper than {maxDepth}");
        // A raised MaxSequenceDepth must not turn deep input into an uncatchable StackOverflow.
        if (!System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw Error(sq.Tag, pos, $"sequences nested {depth} deep exceed the thread's stack");
        while (true)
        {
            if (pos >= end)
            {
                if (!undefinedLength) return pos;
                if (_partial && end == _limit) throw new NeedMoreDataException();
                throw Error(sq.Tag, pos, "sequence of undefined length has no Sequence Delimitation Item before the end of the data");
            }
            if (end - pos < 8)
            {
                if (_partial && end == _limit) throw new NeedMoreDataException();
                throw Error(sq.Tag, pos, "sequence item header truncated");
            }
            var tag = ReadTag(pos, littleEndian);
            uint length = ReadUInt32(pos + 4, littleEndian);
            if (tag == DicomTag.SequenceDelimitationItem)
            {
                if (undefinedLength) return pos + 8;
                throw Error(tag, pos, "Sequence Delimitation Item inside a sequence of defined length");
            }
            if (tag != DicomTag.Item) throw Error(tag, pos, $"expected an Item (FFFE,E000) in sequence {sq.Tag}");
            var item = new DicomDataset { Parent = parent };
            int itemStart = pos + 8;
            if (length == UndefinedLength)
            {
                pos = ParseItems(item, itemStart, end, explicitVR, littleEndian, depth, untilItemDelimiter: true, topLevel: false);
            }
            else
            {
                if (length > (uint)(end - itemStart))
                {
                    if (_partial && end == _limit) throw new NeedMoreDataException();
                    // An item longer than the rest of its defined-length sequence (e.g. elements removed from a DICOMDIR
                    // record without fixing its length): trust the enclosing sequence length, as DCMTK does. Its
                    // elements are still checked against the bytes that remain.
                    if (undefinedLength)
                        throw Error(tag, pos, $"item length {length} exceeds the {end - itemStart} bytes that remain in sequence {sq.Tag}");
                    length = (uint)(end - itemStart);
                }
                int itemEnd = itemStart + (int)length;
                ParseItems(item, itemStart, itemEnd, explicitVR, littleEndian, depth, untilItemDelimiter: false, topLevel: false);
                pos = itemEnd;
            }
            item.FinishParse();
            sq.Items.Add(item);
        }
    }

    /// <summary>Encapsulated pixel data (PS3.5 §A.4): items of defined length, the first the Basic Offset Table.</summary>
    private DicomFragmentSequence ParseFragments(DicomTag tag, DicomVR vr, int pos, int end, bool littleEndian, out int after)
    {
        ReadOnlyMemory<byte>? offsetTable = null;
        var fragments = new List<ReadOnlyMemory<byte>>();
        while (true)
        {
            if (end - pos < 8)
            {
                if (_partial && end == _limit) throw new NeedMoreDataException();
                throw Error(tag, pos, "encapsulated pixel data has no Sequence Delimitation Item before the end of the data");
            }
            var itemTag = ReadTag(pos, littleEndian);
            uint length = ReadUInt32(pos + 4, littleEndian);
            if (itemTag == DicomTag.SequenceDelimitationItem) { after = pos + 8; break; }
            if (itemTag != DicomTag.Item) throw Error(itemTag, pos, "expected an Item (FFFE,E000) in encapsulated pixel data");
            if (length == UndefinedLength) throw Error(itemTag, pos, "pixel data fragment of undefined length");
            if (length > (uint)(end - pos - 8))
            {
                if (_partial && end == _limit) throw new NeedMoreDataException();
                throw Error(itemTag, pos, $"fragment length {length} exceeds the {end - pos - 8} bytes that remain");
            }
            var value = new ReadOnlyMemory<byte>(_buffer, pos + 8, (int)length);
            if (offsetTable is null) offsetTable = value; else fragments.Add(value);
            pos += 8 + (int)length;
        }
        return new DicomFragmentSequence(tag, vr, offsetTable ?? ReadOnlyMemory<byte>.Empty, fragments);
    }

    internal static void SwapInPlace(Span<byte> data, int unit)
    {
        int n = data.Length - data.Length % unit;
        for (int i = 0; i < n; i += unit) data.Slice(i, unit).Reverse();
    }

    private DicomFormatException Error(DicomTag? tag, int pos, string problem) => new(tag, _baseOffset + pos, problem);
}
