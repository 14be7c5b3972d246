using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>
/// RLE Lossless (1.2.840.10008.1.2.5), PS3.5 Annex G.
/// A frame is a 64-byte RLE Header (segment count + 15 offsets, UL little-endian) followed by one PackBits
/// segment per Byte Segment. Byte Segments are ordered by sample (component) and, within a sample, from the
/// most significant byte to the least significant byte (G.2). Each Byte Segment holds that byte of every pixel,
/// i.e. the compressed form is always "by plane"; the decoder writes whichever Planar Configuration the caller asks.
/// </summary>
public sealed class RleCodec : IPixelCodec
{
    public const string Uid = "1.2.840.10008.1.2.5";
    private const int HeaderLength = 64;
    private const int MaxSegments = 15;

    public string TransferSyntaxUid => Uid;

    public bool IsLossy => false;

    public void Decode(ReadOnlySpan<byte> compressed, FrameInfo info, Span<byte> destination)
    {
        int frameLength = info.Validate(destination.Length, "RLE");
        int bytesPerSample = info.BytesPerSample;
        int expectedSegments = info.SamplesPerPixel * bytesPerSample;
        if (expectedSegments > MaxSegments)
            throw new PixelCodecException($"RLE cannot hold {info.SamplesPerPixel} samples of {info.BitsAllocated} bits ({expectedSegments} segments, at most 15)");
        if (compressed.Length < HeaderLength)
            throw new PixelCodecException($"RLE header truncated: fragment is {compressed.Length} bytes, header needs {HeaderLength}");

        uint segmentCount = BinaryPrimitives.ReadUInt32LittleEndian(compressed);
        if (segmentCount != expectedSegments)
            throw new PixelCodecException(
                $"RLE header declares {segmentCount} segments, expected {expectedSegments} ({info.SamplesPerPixel} samples x {bytesPerSample} bytes)");

        Span<int> offsets = stackalloc int[MaxSegments + 1];
        for (int i = 0; i < expectedSegments; i++)
        {
            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(compressed.Slice(4 + (4 * i)));
            if (offset < HeaderLength || offset > (uint)compressed.Length)
                throw new PixelCodecException(
                    $"RLE segment {i + 1} offset {offset} outside the fragment (header is {HeaderLength} bytes, fragment {compressed.Length} bytes)");
            if (i > 0 && offset < offsets[i - 1])
                throw new PixelCodecException($"RLE segment {i + 1} offset {offset} precedes segment {i} offset {offsets[i - 1]}");
            offsets[i] = (int)offset;
        }
        offsets[expectedSegments] = compressed.Length;

        int pixels = (int)info.PixelCount;
        Span<byte> frame = destination[..frameLength];
        if (bytesPerSample == 2 && info.SamplesPerPixel == 1)
        {
            // The common CT/MR case: decode both byte planes contiguously (runs become memset/memcpy), then
            // interleave them into little-endian 16-bit samples in one vectorised pass.
            byte[] planes = ArrayPool<byte>.Shared.Rent(2 * pixels);
            try
            {
                var high = planes.AsSpan(0, pixels);
                var low = planes.AsSpan(pixels, pixels);
                DecodeSegment(compressed[offsets[0]..offsets[1]], 1, offsets[0], high, 0, 1, pixels);
                DecodeSegment(compressed[offsets[1]..offsets[2]], 2, offsets[1], low, 0, 1, pixels);
                Interleave16(low, high, MemoryMarshal.Cast<byte, ushort>(frame));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(planes);
            }
            return;
        }
        for (int segment = 0; segment < expectedSegments; segment++)
        {
            int sample = segment / bytesPerSample;
            int byteInSample = bytesPerSample - 1 - (segment % bytesPerSample); // MSB first in the stream, LE in memory
            var (strideSamples, startSample) = NativeSamples.Layout(info, sample);
            int start = (startSample * bytesPerSample) + byteInSample;
            int stride = strideSamples * bytesPerSample;
            DecodeSegment(compressed[offsets[segment]..offsets[segment + 1]], segment + 1, offsets[segment], frame, start, stride, pixels);
        }
    }

    private static void Interleave16(ReadOnlySpan<byte> low, ReadOnlySpan<byte> high, Span<ushort> destination)
    {
        int n = destination.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 32; i += 32)
            {
                var (l0, l1) = Vector256.Widen(Vector256.Create(low.Slice(i, 32)));
                var (h0, h1) = Vector256.Widen(Vector256.Create(high.Slice(i, 32)));
                (l0 | Vector256.ShiftLeft(h0, 8)).CopyTo(destination.Slice(i, 16));
                (l1 | Vector256.ShiftLeft(h1, 8)).CopyTo(destination.Slice(i + 16, 16));
            }
        }
        for (; i < n; i++) destination[i] = (ushort)(low[i] | (high[i] << 8));
    }

    /// <summary>PackBits decoding of one segment (G.3.1) into every <paramref name="stride"/>-th byte from <paramref name="start"/>.</summary>
    private static void DecodeSegment(ReadOnlySpan<byte> segment, int number, int segmentOffset, Span<byte> frame, int start, int stride, int count)
    {
        int inPos = 0;
        int produced = 0;
        int outPos = start;
        while (produced < count)
        {
            if (inPos >= segment.Length)
                throw new PixelCodecException(
                    $"RLE segment {number} (offset {segmentOffset}, {segment.Length} bytes) ended after {produced} of {count} bytes");
            int header = (sbyte)segment[inPos++];
            if (header >= 0)
            {
                int n = header + 1;
                if (inPos + n > segment.Length)
                    throw new PixelCodecException(
                        $"RLE segment {number} literal run of {n} bytes at offset {segmentOffset + inPos - 1} runs past the segment end ({segment.Length} bytes)");
                n = Math.Min(n, count - produced); // tolerate encoders that overshoot the last run
                ReadOnlySpan<byte> literal = segment.Slice(inPos, n);
                if (stride == 1)
                {
                    literal.CopyTo(frame.Slice(outPos, n));
                    outPos += n;
                }
                else
                {
                    for (int i = 0; i < n; i++, outPos += stride)
                        frame[outPos] = literal[i];
                }
                inPos += header + 1;
                produced += n;
            }
            else if (header != -128)
            {
                int n = 1 - header;
                if (inPos >= segment.Length)
                    throw new PixelCodecException(
                        $"RLE segment {number} replicate run at offset {segmentOffset + inPos - 1} has no value byte");
                byte value = segment[inPos++];
                n = Math.Min(n, count - produced);
                if (stride == 1)
                {
                    frame.Slice(outPos, n).Fill(value);
                    outPos += n;
                }
                else
                {
                    for (int i = 0; i < n; i++, outPos += stride)
                        frame[outPos] = value;
                }
                produced += n;
            }
            // -128 is a no-op
        }
    }

    /// <summary>
    /// Encodes one native frame (layout per <paramref name="info"/>, samples little-endian) as an RLE Lossless frame:
    /// header plus one even-length PackBits segment per byte plane.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<byte> native, FrameInfo info)
    {
        int frameLength = info.Validate(int.MaxValue, "RLE encoder");
        if (native.Length < frameLength)
            throw new ArgumentException($"RLE encoder: native frame is {native.Length} bytes, expected {frameLength}");
        int bytesPerSample = info.BytesPerSample;
        int segments = info.SamplesPerPixel * bytesPerSample;
        if (segments > MaxSegments)
            throw new ArgumentException($"RLE encoder: {segments} byte segments needed, RLE allows at most 15");

        int pixels = (int)info.PixelCount;
        var output = new List<byte>(HeaderLength + frameLength / 2);
        for (int i = 0; i < HeaderLength; i++) output.Add(0);
        var offsets = new int[segments];
        byte[] plane = new byte[pixels];
        for (int segment = 0; segment < segments; segment++)
        {
            int sample = segment / bytesPerSample;
            int byteInSample = bytesPerSample - 1 - (segment % bytesPerSample);
            var (strideSamples, startSample) = NativeSamples.Layout(info, sample);
            int pos = (startSample * bytesPerSample) + byteInSample;
            int stride = strideSamples * bytesPerSample;
            for (int p = 0; p < pixels; p++, pos += stride)
                plane[p] = native[pos];
            offsets[segment] = output.Count;
            EncodeSegment(plane, output);
            if ((output.Count & 1) != 0) output.Add(0);
        }

        byte[] result = output.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(result, (uint)segments);
        for (int i = 0; i < segments; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(4 + (4 * i)), (uint)offsets[i]);
        return result;
    }

    /// <summary>PackBits: replicate runs of 3..128 equal bytes, literal runs of up to 128 bytes otherwise (G.3.1).</summary>
    private static void EncodeSegment(ReadOnlySpan<byte> plane, List<byte> output)
    {
        int i = 0;
        int literalStart = 0;
        while (i < plane.Length)
        {
            int run = 1;
            while (i + run < plane.Length && run < 128 && plane[i + run] == plane[i]) run++;
            if (run >= 3)
            {
                FlushLiteral(plane, literalStart, i, output);
                output.Add((byte)(sbyte)(1 - run));
                output.Add(plane[i]);
                i += run;
                literalStart = i;
            }
            else
            {
                i += run;
                if (i - literalStart >= 128)
                {
                    FlushLiteral(plane, literalStart, literalStart + 128, output);
                    literalStart += 128;
                }
            }
        }
        FlushLiteral(plane, literalStart, plane.Length, output);
    }

    private static void FlushLiteral(ReadOnlySpan<byte> plane, int from, int to, List<byte> output)
    {
        while (from < to)
        {
            int n = Math.Min(128, to - from);
            output.Add((byte)(n - 1));
            for (int k = 0; k < n; k++) output.Add(plane[from + k]);
            from += n;
        }
    }
}
