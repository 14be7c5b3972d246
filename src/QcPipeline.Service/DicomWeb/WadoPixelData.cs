using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Service.DicomWeb;

/// <summary>A byte range of a stored file.</summary>
public readonly record struct FileRange(long Offset, long Length);

/// <summary>Where the frames of a stored instance are in its file, found from the header and the item headers of
/// encapsulated pixel data (PS3.5 §A.4) without reading pixel values into memory. Native frames are one range each;
/// an encapsulated frame is the list of its fragments' ranges.</summary>
public sealed class WadoPixelData
{
    private const int MaxFragments = 1_000_000;

    private WadoPixelData(DicomDataset header, TransferSyntax ts) { Header = header; TransferSyntax = ts; }

    public DicomDataset Header { get; }
    public TransferSyntax TransferSyntax { get; }
    public DicomTag Tag { get; private set; }
    public DicomVR VR { get; private set; }
    /// <summary>First byte of the value (native) or of the first item (encapsulated).</summary>
    public long ValueOffset { get; private set; }
    /// <summary>Value length of native pixel data; -1 for undefined length (encapsulated).</summary>
    public long ValueLength { get; private set; }
    public bool IsEncapsulated => ValueLength < 0;
    public int NumberOfFrames { get; private set; }
    public int BitsAllocated { get; private set; }
    public long FrameSize { get; private set; }
    public long? OffsetOfPixelElement { get; private set; }
    private List<FileRange>? _fragments;
    private FileRange _offsetTable;

    /// <summary>Reads the pixel data element header at <paramref name="pixelDataOffset"/> (from a header-only read), or null
    /// when the instance has no top-level pixel data (or it is deflated, which has no offsets).</summary>
    public static WadoPixelData? Locate(SafeFileHandle file, DicomDataset header, TransferSyntax ts, long pixelDataOffset)
    {
        if (pixelDataOffset < 0 || ts.IsDeflated) return null;
        var p = new WadoPixelData(header, ts) { OffsetOfPixelElement = pixelDataOffset };
        Span<byte> h = stackalloc byte[12];
        if (RandomAccess.Read(file, h, pixelDataOffset) < 8) throw new DicomFormatException(null, pixelDataOffset, "pixel data element header is cut short");
        bool le = ts.IsLittleEndian;
        ushort g = le ? BinaryPrimitives.ReadUInt16LittleEndian(h) : BinaryPrimitives.ReadUInt16BigEndian(h);
        ushort e = le ? BinaryPrimitives.ReadUInt16LittleEndian(h[2..]) : BinaryPrimitives.ReadUInt16BigEndian(h[2..]);
        p.Tag = new DicomTag(g, e);
        uint length;
        if (ts.IsExplicitVR)
        {
            p.VR = DicomVRInfo.TryParse(h.Slice(4, 2), out var vr) ? vr : DicomVR.OB;
            length = le ? BinaryPrimitives.ReadUInt32LittleEndian(h[8..]) : BinaryPrimitives.ReadUInt32BigEndian(h[8..]);
            p.ValueOffset = pixelDataOffset + 12;
        }
        else
        {
            p.VR = DicomVR.OW;
            length = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            p.ValueOffset = pixelDataOffset + 8;
        }
        p.ValueLength = length == 0xFFFFFFFF ? -1 : length;
        p.NumberOfFrames = Math.Max(1, header.GetInt32OrDefault(DicomTags.NumberOfFrames, 1));
        p.BitsAllocated = header.GetInt32OrDefault(DicomTags.BitsAllocated);
        long rows = header.GetInt32OrDefault(DicomTags.Rows), cols = header.GetInt32OrDefault(DicomTags.Columns);
        long spp = Math.Max(1, header.GetInt32OrDefault(DicomTags.SamplesPerPixel, 1));
        p.FrameSize = p.BitsAllocated == 1 ? (rows * cols * spp + 7) / 8 : rows * cols * spp * (p.BitsAllocated / 8);
        return p;
    }

    /// <summary>The byte ranges of frame <paramref name="index"/> (0-based). Native 1-bit frames that do not start on a
    /// byte boundary cannot be cut out and throw <see cref="NotSupportedException"/>.</summary>
    public IReadOnlyList<FileRange> Frame(SafeFileHandle file, int index)
    {
        if (index < 0 || index >= NumberOfFrames) throw new ArgumentOutOfRangeException(nameof(index));
        if (!IsEncapsulated)
        {
            if (Tag != DicomTags.PixelData || FrameSize <= 0) throw new NotSupportedException("no image description for this pixel data");
            long start = ValueOffset + index * FrameSize;
            if (BitsAllocated == 1)
            {
                // 1-bit frames are packed back to back (PS3.5 §8.1.1): only one that starts on a byte boundary can be cut out.
                long bitsPerFrame = (long)Header.GetInt32OrDefault(DicomTags.Rows) * Header.GetInt32OrDefault(DicomTags.Columns)
                    * Math.Max(1, Header.GetInt32OrDefault(DicomTags.SamplesPerPixel, 1));
                if (bitsPerFrame * index % 8 != 0) throw new NotSupportedException("1-bit frames that do not start on a byte boundary");
                start = ValueOffset + bitsPerFrame * index / 8;
            }
            if (start + FrameSize > ValueOffset + ValueLength) throw new DicomFormatException(DicomTags.PixelData, start, "frame runs past the pixel data");
            // The file itself may be shorter than its header says (damaged since it was stored): found before any byte is sent.
            if (start + FrameSize > RandomAccess.GetLength(file)) throw new DicomFormatException(DicomTags.PixelData, start, "frame runs past the end of the file");
            return [new FileRange(start, FrameSize)];
        }
        var fragments = Fragments(file);
        if (NumberOfFrames == 1) return fragments;
        if (Header.GetElement(new DicomTag(0x7FE00001)) is { } eot && eot.Length >= 8 * NumberOfFrames)
        {
            var offsets = eot.AsSpan<ulong>();
            var lengths = Header.GetElement(new DicomTag(0x7FE00002)) is { } l ? l.AsSpan<ulong>().ToArray() : [];
            var r = ByOffset(fragments, (long)offsets[index], index + 1 < NumberOfFrames ? (long)offsets[index + 1] : long.MaxValue);
            if (lengths.Length > index && r.Count == 1 && (long)lengths[index] <= r[0].Length) r[0] = r[0] with { Length = (long)lengths[index] };
            return r;
        }
        if (_offsetTable.Length >= 4L * NumberOfFrames)
        {
            Span<byte> b = stackalloc byte[8];
            int n = index + 1 < NumberOfFrames ? 8 : 4;
            if (RandomAccess.Read(file, b[..n], _offsetTable.Offset + 4L * index) < n) throw new DicomFormatException(DicomTags.PixelData, _offsetTable.Offset, "offset table cut short");
            long begin = BinaryPrimitives.ReadUInt32LittleEndian(b);
            long end = n == 8 ? BinaryPrimitives.ReadUInt32LittleEndian(b[4..]) : long.MaxValue;
            return ByOffset(fragments, begin, end);
        }
        if (fragments.Count == NumberOfFrames) return [fragments[index]];
        // No table: a frame starts at each fragment that begins a JPEG (FFD8) or JPEG 2000 (FF4F FF51) codestream.
        var frames = new List<List<FileRange>>();
        Span<byte> head = stackalloc byte[4];
        foreach (var f in fragments)
        {
            int got = RandomAccess.Read(file, head, f.Offset);
            bool starts = got >= 2 && head[0] == 0xFF && (head[1] == 0xD8 || (got >= 4 && head[1] == 0x4F && head[2] == 0xFF && head[3] == 0x51));
            if (starts || frames.Count == 0) frames.Add([]);
            frames[^1].Add(f);
        }
        if (index >= frames.Count) throw new DicomFormatException(DicomTags.PixelData, ValueOffset, $"frame {index + 1} not found among the fragments");
        return frames[index];
    }

    /// <summary>Offsets count from the first byte of the first fragment's item tag (PS3.5 §A.4).</summary>
    private List<FileRange> ByOffset(List<FileRange> fragments, long begin, long end)
    {
        if (fragments.Count == 0) return [];
        long first = fragments[0].Offset - 8;
        var result = new List<FileRange>();
        foreach (var f in fragments)
        {
            long rel = f.Offset - 8 - first;
            if (rel >= begin && rel < end) result.Add(f);
        }
        if (result.Count == 0) throw new DicomFormatException(DicomTags.PixelData, ValueOffset, "offset table entry does not point at a fragment");
        return result;
    }

    /// <summary>Item headers after the value offset: the Basic Offset Table, then each fragment, to the Sequence Delimitation Item.</summary>
    public List<FileRange> Fragments(SafeFileHandle file)
    {
        if (_fragments is not null) return _fragments;
        var list = new List<FileRange>();
        long pos = ValueOffset, end = RandomAccess.GetLength(file);
        Span<byte> h = stackalloc byte[8];
        bool first = true;
        while (true)
        {
            if (RandomAccess.Read(file, h, pos) < 8) throw new DicomFormatException(DicomTags.PixelData, pos, "encapsulated pixel data ends without a sequence delimiter");
            var tag = new DicomTag(BinaryPrimitives.ReadUInt16LittleEndian(h), BinaryPrimitives.ReadUInt16LittleEndian(h[2..]));
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            if (tag == DicomTag.SequenceDelimitationItem) break;
            if (tag != DicomTag.Item || len == 0xFFFFFFFF || pos + 8 + len > end)
                throw new DicomFormatException(tag, pos, "not a fragment item of encapsulated pixel data");
            if (first) { _offsetTable = new FileRange(pos + 8, len); first = false; }
            else list.Add(new FileRange(pos + 8, len));
            if (list.Count > MaxFragments) throw new DicomFormatException(DicomTags.PixelData, pos, "too many fragments");
            pos += 8 + len;
        }
        _fragments = list;
        return list;
    }

    /// <summary>The whole value (native pixel data).</summary>
    public FileRange Value => new(ValueOffset, ValueLength);
}
