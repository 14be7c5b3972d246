using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using QcPipeline.Dicom.Imaging.Codecs;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Imaging;

/// <summary>The Image Pixel module of a dataset (PS3.3 C.7.6.3) and access to its frames, native or encapsulated
/// (PS3.5 §8 and §A.4), with stored values turned into modality values (PS3.3 C.11.1).</summary>
public sealed class DicomPixelData
{
    private static readonly DicomTag PixelDataTag = new(0x7FE00010);
    private static readonly DicomTag ExtendedOffsetTableTag = new(0x7FE00001);
    private static readonly DicomTag ExtendedOffsetTableLengthsTag = new(0x7FE00002);

    private readonly DicomDataset _dataset;
    private readonly DicomItem? _pixelItem;

    private DicomPixelData(DicomDataset dataset, DicomItem? pixelItem)
    {
        _dataset = dataset;
        _pixelItem = pixelItem;
        Rows = dataset.GetInt32OrDefault(new DicomTag(0x00280010));
        Columns = dataset.GetInt32OrDefault(new DicomTag(0x00280011));
        SamplesPerPixel = dataset.GetInt32OrDefault(new DicomTag(0x00280002), 1);
        BitsAllocated = dataset.GetInt32OrDefault(new DicomTag(0x00280100));
        BitsStored = dataset.GetInt32OrDefault(new DicomTag(0x00280101), BitsAllocated);
        HighBit = dataset.GetInt32OrDefault(new DicomTag(0x00280102), BitsStored - 1);
        IsSigned = dataset.GetInt32OrDefault(new DicomTag(0x00280103)) == 1;
        PlanarConfiguration = dataset.GetInt32OrDefault(new DicomTag(0x00280006));
        PhotometricInterpretation = dataset.GetString(new DicomTag(0x00280004)) ?? "";
        NumberOfFrames = Math.Max(1, dataset.GetInt32OrDefault(new DicomTag(0x00280008), 1));
        if (dataset.TryGetInt64(new DicomTag(0x00280120), out var pad)) PixelPaddingValue = pad;
        if (dataset.TryGetInt64(new DicomTag(0x00280121), out var padLimit)) PixelPaddingRangeLimit = padLimit;
    }

    /// <summary>Reads the pixel module; throws <see cref="DicomPixelDataException"/> when it is absent or inconsistent.</summary>
    public static DicomPixelData Create(DicomDataset dataset)
    {
        var item = dataset[PixelDataTag] ?? throw new DicomPixelDataException("the dataset has no Pixel Data (7FE0,0010)");
        var p = new DicomPixelData(dataset, item);
        p.Validate();
        return p;
    }

    public int Rows { get; }
    public int Columns { get; }
    public int SamplesPerPixel { get; }
    public int BitsAllocated { get; }
    public int BitsStored { get; }
    public int HighBit { get; }
    public bool IsSigned { get; }
    public int PlanarConfiguration { get; }
    public string PhotometricInterpretation { get; }
    public int NumberOfFrames { get; }
    public long? PixelPaddingValue { get; }
    public long? PixelPaddingRangeLimit { get; }
    public bool IsEncapsulated => _pixelItem is DicomFragmentSequence;
    public bool IsMonochrome1 => PhotometricInterpretation == "MONOCHROME1";

    /// <summary>Bytes of one native frame (bit-packed for BitsAllocated 1, PS3.5 §8.1.1).</summary>
    public long FrameSize => BitsAllocated == 1
        ? ((long)Rows * Columns * SamplesPerPixel + 7) / 8
        : (long)Rows * Columns * SamplesPerPixel * (BitsAllocated / 8);

    private void Validate()
    {
        if (Rows <= 0 || Columns <= 0) throw new DicomPixelDataException($"Rows ({Rows}) and Columns ({Columns}) must be positive");
        if (BitsAllocated is not (1 or 8 or 16 or 32 or 64)) throw new DicomPixelDataException($"Bits Allocated {BitsAllocated} is not supported");
        if (BitsStored < 1 || BitsStored > BitsAllocated) throw new DicomPixelDataException($"Bits Stored {BitsStored} does not fit Bits Allocated {BitsAllocated}");
        if (HighBit < BitsStored - 1 || HighBit >= BitsAllocated) throw new DicomPixelDataException($"High Bit {HighBit} is inconsistent with Bits Stored {BitsStored}");
        if (SamplesPerPixel is < 1 or > 4) throw new DicomPixelDataException($"Samples per Pixel {SamplesPerPixel} is not supported");
        if (PlanarConfiguration is not (0 or 1)) throw new DicomPixelDataException($"Planar Configuration {PlanarConfiguration} is not 0 or 1");
        if (NumberOfFrames < 1) throw new DicomPixelDataException($"Number of Frames {NumberOfFrames} is not positive");
        // Header values drive allocations: a frame (and its modality values, 4 bytes a pixel) must fit in an array.
        if (FrameSize > Array.MaxLength || (long)Rows * Columns * sizeof(float) > Array.MaxLength)
            throw new DicomPixelDataException($"a frame of {Rows}x{Columns}x{SamplesPerPixel} at {BitsAllocated} bits is too large to hold in memory");
        if (_pixelItem is DicomFragmentSequence f && NumberOfFrames > Math.Max(1, f.Fragments.Count))
            throw new DicomPixelDataException($"Number of Frames {NumberOfFrames} exceeds the {f.Fragments.Count} fragment(s) of the encapsulated pixel data");
        if (_pixelItem is DicomElement e)
        {
            long need = BitsAllocated == 1 ? ((long)Rows * Columns * SamplesPerPixel * NumberOfFrames + 7) / 8 : FrameSize * NumberOfFrames;
            if (e.Length < need)
                throw new DicomPixelDataException($"Pixel Data holds {e.Length} bytes, {NumberOfFrames} frame(s) of {Rows}x{Columns}x{SamplesPerPixel} at {BitsAllocated} bits need {need}");
        }
    }

    /// <summary>A native frame's bytes, without copying. Throws for encapsulated data (use the codecs).</summary>
    public ReadOnlyMemory<byte> GetNativeFrame(int frame)
    {
        CheckFrame(frame);
        if (_pixelItem is not DicomElement e) throw new DicomPixelDataException("pixel data is encapsulated: decode the frame first");
        if (BitsAllocated == 1)
        {
            // Frames of 1-bit data are packed back to back and need not start on a byte boundary; unpack to one byte per pixel.
            long bits = (long)Rows * Columns * SamplesPerPixel;
            var result = new byte[bits];
            var src = e.Data.Span;
            long start = bits * frame;
            for (long i = 0; i < bits; i++)
            {
                long b = start + i;
                result[i] = (byte)((src[(int)(b >> 3)] >> (int)(b & 7)) & 1);
            }
            return result;
        }
        return e.Data.Slice((int)(FrameSize * frame), (int)FrameSize);
    }

    /// <summary>The fragments that make up one compressed frame (PS3.5 §A.4), located with the Extended Offset Table,
    /// the Basic Offset Table, one fragment per frame, or (for JPEG family streams) the start-of-image markers.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> GetEncapsulatedFrameFragments(int frame)
    {
        CheckFrame(frame);
        if (_pixelItem is not DicomFragmentSequence f) throw new DicomPixelDataException("pixel data is not encapsulated");
        var frames = SplitFrames(f);
        if (frame >= frames.Count) throw new DicomPixelDataException($"frame {frame} not found: the encapsulated data holds {frames.Count} frame(s)");
        return frames[frame];
    }

    /// <summary>The compressed bytes of one frame as a single buffer (copies only when the frame spans several fragments).</summary>
    public ReadOnlyMemory<byte> GetEncapsulatedFrame(int frame)
    {
        var parts = GetEncapsulatedFrameFragments(frame);
        if (parts.Count == 1) return parts[0];
        var total = 0;
        foreach (var p in parts) total = checked(total + p.Length);
        var buffer = new byte[total];
        int at = 0;
        foreach (var p in parts) { p.Span.CopyTo(buffer.AsSpan(at)); at += p.Length; }
        return buffer;
    }

    private List<IReadOnlyList<ReadOnlyMemory<byte>>> SplitFrames(DicomFragmentSequence f)
    {
        if (_frameCache is not null) return _frameCache;
        var result = new List<IReadOnlyList<ReadOnlyMemory<byte>>>(NumberOfFrames);
        var fragments = f.Fragments;
        if (NumberOfFrames == 1)
        {
            result.Add(fragments);
        }
        else if (_dataset.GetElement(ExtendedOffsetTableTag) is { } eot && eot.Length >= 8 * NumberOfFrames)
        {
            var offsets = eot.AsSpan<ulong>();
            var lengths = _dataset.GetElement(ExtendedOffsetTableLengthsTag) is { } l ? l.AsSpan<ulong>().ToArray() : [];
            result.AddRange(ByOffsets(fragments, offsets.ToArray(), lengths));
        }
        else if (f.OffsetTable.Length >= 4 * NumberOfFrames)
        {
            var bot = f.OffsetTable.Span;
            var offsets = new ulong[bot.Length / 4];
            for (int i = 0; i < offsets.Length; i++) offsets[i] = BinaryPrimitives.ReadUInt32LittleEndian(bot[(i * 4)..]);
            result.AddRange(ByOffsets(fragments, offsets, []));
        }
        else if (fragments.Count == NumberOfFrames)
        {
            foreach (var frag in fragments) result.Add([frag]);
        }
        else
        {
            // No table: a new frame begins at each fragment that starts a JPEG (FFD8) or J2K codestream (FF4F FF51).
            List<ReadOnlyMemory<byte>>? current = null;
            foreach (var frag in fragments)
            {
                var s = frag.Span;
                bool starts = s.Length >= 2 && s[0] == 0xFF && (s[1] == 0xD8 || (s[1] == 0x4F && s.Length >= 4 && s[2] == 0xFF && s[3] == 0x51));
                if (starts || current is null) { current = []; result.Add(current); }
                current.Add(frag);
            }
        }
        _frameCache = result;
        return result;
    }

    private List<IReadOnlyList<ReadOnlyMemory<byte>>>? _frameCache;

    /// <summary>Offsets count from the first byte of the first fragment's item tag (PS3.5 §A.4): each fragment
    /// occupies 8 header bytes plus its length.</summary>
    private List<IReadOnlyList<ReadOnlyMemory<byte>>> ByOffsets(List<ReadOnlyMemory<byte>> fragments, ulong[] offsets, ulong[] lengths)
    {
        var result = new List<IReadOnlyList<ReadOnlyMemory<byte>>>();
        var starts = new ulong[fragments.Count];
        ulong pos = 0;
        for (int i = 0; i < fragments.Count; i++) { starts[i] = pos; pos += 8 + (ulong)fragments[i].Length; }
        for (int frame = 0; frame < NumberOfFrames && frame < offsets.Length; frame++)
        {
            ulong begin = offsets[frame];
            ulong end = frame + 1 < offsets.Length ? offsets[frame + 1] : pos;
            int first = Array.BinarySearch(starts, begin);
            if (first < 0) throw new DicomPixelDataException($"offset table entry {frame} ({begin}) does not point at a fragment");
            if (end <= begin) throw new DicomPixelDataException($"offset table entries {frame} ({begin}) and {frame + 1} ({end}) do not increase");
            var list = new List<ReadOnlyMemory<byte>>();
            for (int i = first; i < fragments.Count && starts[i] < end; i++) list.Add(fragments[i]);
            if (lengths.Length > frame && list.Count == 1 && lengths[frame] <= (ulong)list[0].Length)
                list[0] = list[0][..(int)lengths[frame]];
            result.Add(list);
        }
        return result;
    }

    private void CheckFrame(int frame)
    {
        if (frame < 0 || frame >= NumberOfFrames) throw new ArgumentOutOfRangeException(nameof(frame), $"frame {frame} is outside 0..{NumberOfFrames - 1}");
    }

    /// <summary>The frame as native little-endian bytes: a slice of the element for native data (no copy), or decoded
    /// by the codec for <paramref name="transferSyntax"/> for encapsulated data.</summary>
    /// <exception cref="NotSupportedException">no decoder for the syntax (the message says which and why)</exception>
    /// <exception cref="DicomPixelDataException">the compressed frame is corrupt</exception>
    public ReadOnlyMemory<byte> GetFrame(int frame, TransferSyntax transferSyntax, PixelCodecRegistry? codecs = null)
    {
        if (!IsEncapsulated) return GetNativeFrame(frame);
        var codec = (codecs ?? DefaultCodecs).Get(transferSyntax.Uid);
        if (BitsAllocated == 1) throw new DicomPixelDataException("encapsulated 1-bit pixel data is not supported");
        var destination = new byte[FrameSize];
        DecodeFrame(frame, codec, destination);
        return destination;
    }

    /// <summary>Decodes an encapsulated frame into <paramref name="destination"/> (FrameSize bytes).</summary>
    public void DecodeFrame(int frame, IPixelCodec codec, Span<byte> destination)
    {
        var info = new FrameInfo(Rows, Columns, SamplesPerPixel, BitsAllocated, BitsStored, IsSigned, PlanarConfiguration);
        var compressed = GetEncapsulatedFrame(frame);
        try { codec.Decode(compressed.Span, info, destination); }
        catch (PixelCodecException ex) { throw new DicomPixelDataException($"frame {frame}: {ex.Message}", ex); }
        catch (ArgumentException ex) { throw new DicomPixelDataException($"frame {frame}: the image description does not suit the codec: {ex.Message}", ex); }
    }

    /// <summary>Convenience: one frame as modality values (e.g. HU for CT), decoding when needed.</summary>
    public float[] GetModalityFrame(int frame, TransferSyntax transferSyntax, bool normalizeMonochrome1 = true, PixelCodecRegistry? codecs = null)
    {
        var values = new float[Rows * Columns];
        ReadModalityFrame(frame, transferSyntax, values, normalizeMonochrome1, codecs);
        return values;
    }

    /// <summary>One frame as modality values into <paramref name="destination"/> (its first Rows × Columns values are all
    /// written), decoding when needed: lets a caller reuse its buffers instead of a fresh frame-sized array per call.</summary>
    public void ReadModalityFrame(int frame, TransferSyntax transferSyntax, Span<float> destination, bool normalizeMonochrome1 = true, PixelCodecRegistry? codecs = null)
    {
        ArgumentNullException.ThrowIfNull(transferSyntax);
        if (!IsEncapsulated || BitsAllocated == 1)
        {
            ToModalityValues(GetFrame(frame, transferSyntax, codecs).Span, destination, frame, normalizeMonochrome1);
            return;
        }
        // Decode into a pooled buffer: the native bytes are only an intermediate here, and a fresh frame-sized
        // array per slice would land on the large object heap.
        var codec = (codecs ?? DefaultCodecs).Get(transferSyntax.Uid);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(checked((int)FrameSize));
        try
        {
            var native = buffer.AsSpan(0, (int)FrameSize);
            DecodeFrame(frame, codec, native);
            ToModalityValues(native, destination, frame, normalizeMonochrome1);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The codecs this toolkit ships; immutable after creation, so one instance serves every caller.</summary>
    public static PixelCodecRegistry DefaultCodecs => LazyCodecs.Value;
    private static readonly Lazy<PixelCodecRegistry> LazyCodecs = new(PixelCodecRegistry.CreateDefault);

    /// <summary>Rescale slope and intercept for a frame: (0028,1053)/(0028,1052) at the top level, else the
    /// Pixel Value Transformation Sequence of the per-frame or shared functional groups (PS3.3 C.7.6.16.2.9).</summary>
    public (double Slope, double Intercept) GetRescale(int frame = 0)
    {
        var slopeTag = new DicomTag(0x00281053);
        var interceptTag = new DicomTag(0x00281052);
        if (_dataset.Contains(slopeTag) || _dataset.Contains(interceptTag))
            return (_dataset.GetDoubleOrDefault(slopeTag, 1), _dataset.GetDoubleOrDefault(interceptTag, 0));
        var transform = new DicomTag(0x00289145);
        foreach (var groupTag in new[] { new DicomTag(0x52009230), new DicomTag(0x52009229) }) // per-frame first, then shared
        {
            var groups = _dataset.GetSequence(groupTag);
            if (groups is null || groups.Items.Count == 0) continue;
            var item = groupTag.Element == 0x9230 ? (frame < groups.Items.Count ? groups.Items[frame] : null) : groups.Items[0];
            var pvt = item?.GetSequence(transform);
            if (pvt is { Items.Count: > 0 } && pvt.Items[0] is var t && (t.Contains(slopeTag) || t.Contains(interceptTag)))
                return (t.GetDoubleOrDefault(slopeTag, 1), t.GetDoubleOrDefault(interceptTag, 0));
        }
        return (1, 0);
    }

    /// <summary>Turns one frame's native bytes (single sample) into modality values: stored bits masked by Bits Stored and
    /// High Bit, sign-extended, MONOCHROME1 inverted to MONOCHROME2 sense when asked, then rescaled (PS3.3 C.7.6.3.1, C.11.1).
    /// Pixels equal to the Pixel Padding Value (or within the padding range, C.7.5.1.1.2) become NaN.</summary>
    public void ToModalityValues(ReadOnlySpan<byte> frameBytes, Span<float> destination, int frame = 0, bool normalizeMonochrome1 = true)
    {
        if (SamplesPerPixel != 1) throw new DicomPixelDataException($"modality values need a single sample per pixel, this image has {SamplesPerPixel}");
        int count = Rows * Columns;
        if (destination.Length < count) throw new ArgumentException($"destination holds {destination.Length} values, the frame has {count}", nameof(destination));
        var (slope, intercept) = GetRescale(frame);
        int shift = HighBit + 1 - BitsStored;
        long mask = BitsStored >= 64 ? -1L : (1L << BitsStored) - 1;
        long signBit = 1L << (BitsStored - 1);
        bool invert = normalizeMonochrome1 && IsMonochrome1;
        long minStored = IsSigned ? -signBit : 0;
        long maxStored = IsSigned ? signBit - 1 : mask;
        long padLo = long.MaxValue, padHi = long.MinValue;
        if (PixelPaddingValue is { } pv)
        {
            long a = Interpret(pv), b = PixelPaddingRangeLimit is { } pl ? Interpret(pl) : a;
            padLo = Math.Min(a, b); padHi = Math.Max(a, b);
        }
        int bytesPer = BitsAllocated / 8;
        if (BitsAllocated == 1) bytesPer = 1; // unpacked by GetNativeFrame
        if (frameBytes.Length < count * bytesPer) throw new DicomPixelDataException($"frame holds {frameBytes.Length} bytes, need {count * bytesPer}");
        float fs = (float)slope, fi = (float)intercept;
        int k = 0;
        // The common case (16-bit words, no padding, no inversion), 16 pixels at a time: the same steps and roundings as
        // the loop below (shift, mask, sign extension, then a float multiply and a float add), so the values are identical.
        if (bytesPer == 2 && !invert && padLo > padHi && BitsStored <= 16 && BitConverter.IsLittleEndian && Vector256.IsHardwareAccelerated)
            k = ModalityWords16(frameBytes, destination, count, shift, (int)mask, IsSigned ? 32 - BitsStored : 0, fs, fi);
        for (; k < count; k++)
        {
            long raw = bytesPer switch
            {
                1 => frameBytes[k],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(frameBytes[(k * 2)..]),
                4 => BinaryPrimitives.ReadUInt32LittleEndian(frameBytes[(k * 4)..]),
                _ => (long)BinaryPrimitives.ReadUInt64LittleEndian(frameBytes[(k * 8)..]),
            };
            long v = (raw >> shift) & mask;
            if (IsSigned && (v & signBit) != 0) v -= signBit << 1;
            if (v >= padLo && v <= padHi) { destination[k] = float.NaN; continue; }
            if (invert) v = maxStored + minStored - v;
            destination[k] = v * fs + fi;
        }

        long Interpret(long padding)
        {
            // The padding value is in stored-value space, with the VR (US or SS) of Pixel Representation.
            long v = padding & mask;
            if (IsSigned && (v & signBit) != 0) v -= signBit << 1;
            return v;
        }
    }

    /// <summary>16-bit stored values to modality values, 16 at a time; returns how many were converted (a multiple of 16).
    /// <paramref name="signShift"/>: 32 − Bits Stored for signed data (sign extension by shifting up and back), else 0.</summary>
    private static int ModalityWords16(ReadOnlySpan<byte> frameBytes, Span<float> destination, int count, int shift, int mask, int signShift, float slope, float intercept)
    {
        var words = MemoryMarshal.Cast<byte, ushort>(frameBytes[..(count * 2)]);
        var vMask = Vector256.Create(mask);
        var vSlope = Vector256.Create(slope);
        var vIntercept = Vector256.Create(intercept);
        int k = 0;
        for (; k <= count - 16; k += 16)
        {
            var (lo, hi) = Vector256.Widen(Vector256.Create<ushort>(words[k..]));
            var a = (Vector256.ShiftRightLogical(lo.AsInt32(), shift) & vMask);
            var b = (Vector256.ShiftRightLogical(hi.AsInt32(), shift) & vMask);
            if (signShift != 0)
            {
                a = Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(a, signShift), signShift);
                b = Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(b, signShift), signShift);
            }
            (Vector256.ConvertToSingle(a) * vSlope + vIntercept).CopyTo(destination[k..]);
            (Vector256.ConvertToSingle(b) * vSlope + vIntercept).CopyTo(destination[(k + 8)..]);
        }
        return k;
    }
}

public sealed class DicomPixelDataException : Exception
{
    public DicomPixelDataException(string message) : base(message) { }
    public DicomPixelDataException(string message, Exception inner) : base(message, inner) { }
}
