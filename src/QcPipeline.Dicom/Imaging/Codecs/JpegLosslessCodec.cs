using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>
/// JPEG Lossless, Non-Hierarchical (Process 14), ITU-T T.81 Annex H: SOF3 frames, Huffman entropy coding,
/// predictors 1–7, point transform, restart intervals, 2–16 bit precision, one or more components with
/// 1x1 sampling, interleaved or one scan per component. Registered for
/// 1.2.840.10008.1.2.4.70 (Selection Value 1) and 1.2.840.10008.1.2.4.57 (any selection value);
/// both accept any predictor because the scan header says which one was used.
/// </summary>
public sealed class JpegLosslessCodec : IPixelCodec
{
    public const string Process14Uid = "1.2.840.10008.1.2.4.57";
    public const string Sv1Uid = "1.2.840.10008.1.2.4.70";

    public JpegLosslessCodec(string transferSyntaxUid = Sv1Uid) => TransferSyntaxUid = transferSyntaxUid;

    public string TransferSyntaxUid { get; }

    public bool IsLossy => false;

    public void Decode(ReadOnlySpan<byte> compressed, FrameInfo info, Span<byte> destination)
    {
        info.Validate(destination.Length, "JPEG lossless");
        new JpegLosslessDecoder(info).Decode(compressed, destination);
    }
}

/// <summary>A Huffman table (T.81 Annex C) with a 9-bit lookup for short codes and the canonical limits for long ones.</summary>
internal sealed class JpegHuffmanTable
{
    public const int LookupBits = 9;

    /// <summary>(code length &lt;&lt; 8) | value for every 9-bit prefix starting with a code of at most 9 bits; 0 otherwise.</summary>
    public readonly ushort[] Lookup = new ushort[1 << LookupBits];
    public readonly int[] MaxCode = new int[17];
    public readonly int[] MinCode = new int[17];
    public readonly int[] ValuePointer = new int[17];
    public readonly byte[] Values;

    /// <param name="counts">BITS: number of codes of each length 1..16 (index 0 = length 1).</param>
    public JpegHuffmanTable(ReadOnlySpan<byte> counts, ReadOnlySpan<byte> values, int offsetForMessages)
    {
        Values = values.ToArray();
        int code = 0;
        int k = 0;
        for (int length = 1; length <= 16; length++)
        {
            int n = counts[length - 1];
            MaxCode[length] = -1;
            if (n > 0)
            {
                if (code + n > (1 << length))
                    throw new PixelCodecException($"JPEG Huffman table at offset {offsetForMessages} is invalid: too many codes of length {length}");
                ValuePointer[length] = k;
                MinCode[length] = code;
                for (int i = 0; i < n; i++, code++, k++)
                {
                    if (length <= LookupBits)
                    {
                        int shift = LookupBits - length;
                        int first = code << shift;
                        ushort entry = (ushort)((length << 8) | Values[k]);
                        for (int j = 0; j < (1 << shift); j++) Lookup[first + j] = entry;
                    }
                }
                MaxCode[length] = code - 1;
            }
            code <<= 1;
        }
    }
}

/// <summary>Reads entropy-coded bits, removing stuffed zero bytes and stopping at markers (T.81 F.1.2.3, F.2.2.5).</summary>
internal ref struct JpegBitReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;
    private ulong _buffer;   // next bit is the most significant
    private int _bits;
    private int _padBits;    // zero bits appended past the end of the entropy data (still in the buffer)
    private bool _atMarker;

    public JpegBitReader(ReadOnlySpan<byte> data, int position)
    {
        _data = data;
        _pos = position;
        _buffer = 0;
        _bits = 0;
        _padBits = 0;
        _atMarker = false;
    }

    public readonly int Position => _pos;

    private void Fill()
    {
        while (_bits <= 56)
        {
            uint b = 0;
            if (_atMarker || _pos >= _data.Length)
            {
                _padBits += 8;
            }
            else if (_data[_pos] != 0xFF)
            {
                b = _data[_pos++];
            }
            else if (_pos + 1 < _data.Length && _data[_pos + 1] == 0)
            {
                b = 0xFF;
                _pos += 2;
            }
            else
            {
                _atMarker = true;
                _padBits += 8;
            }
            _buffer |= (ulong)b << (56 - _bits);
            _bits += 8;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Consume(int n, int row)
    {
        _buffer <<= n;
        _bits -= n;
        if (_bits < _padBits) ThrowTruncated(row, _pos, _data.Length);
    }

    [DoesNotReturn]
    private static void ThrowTruncated(int row, int pos, int length) =>
        throw new PixelCodecException($"JPEG entropy-coded data ends prematurely in row {row} (offset {pos} of {length} bytes)");

    [DoesNotReturn]
    private static void ThrowInvalid(string what, int row, int pos, int length) =>
        throw new PixelCodecException($"JPEG {what} in row {row} (offset {pos} of {length} bytes)");

    /// <summary>Decodes one difference value: a Huffman-coded SSSS category plus SSSS extra bits (T.81 H.1.2.2, F.2.2.1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int DecodeDifference(JpegHuffmanTable table, int row)
    {
        if (_bits < 32) Fill();
        int entry = table.Lookup[(int)(_buffer >> (64 - JpegHuffmanTable.LookupBits))];
        int length, ssss;
        if (entry != 0)
        {
            length = entry >> 8;
            ssss = entry & 0xFF;
        }
        else
        {
            int code16 = (int)(_buffer >> 48);
            length = JpegHuffmanTable.LookupBits + 1;
            while (length <= 16 && (code16 >> (16 - length)) > table.MaxCode[length]) length++;
            if (length > 16) ThrowInvalid("invalid Huffman code", row, _pos, _data.Length);
            int index = table.ValuePointer[length] + (code16 >> (16 - length)) - table.MinCode[length];
            ssss = table.Values[index];
        }
        Consume(length, row);
        if (ssss == 0) return 0;
        if (ssss == 16) return 32768;
        if (ssss > 16) ThrowInvalid($"difference category {ssss} > 16", row, _pos, _data.Length);
        int v = (int)(_buffer >> (64 - ssss));
        Consume(ssss, row);
        return v < (1 << (ssss - 1)) ? v - (1 << ssss) + 1 : v;
    }

    /// <summary>Skips to and over the RSTn marker expected after a restart interval (T.81 E.1.4).</summary>
    public void Restart(int number, int row)
    {
        _buffer = 0;
        _bits = 0;
        _padBits = 0;
        _atMarker = false;
        _pos = JpegLosslessDecoder.FindMarker(_data, _pos);
        if (_pos + 1 >= _data.Length)
            throw new PixelCodecException($"JPEG expected RST{number & 7} marker before row {row} but the data ended ({_data.Length} bytes)");
        int marker = _data[_pos + 1];
        if (marker != 0xD0 + (number & 7))
            throw new PixelCodecException($"JPEG expected RST{number & 7} marker at offset {_pos} before row {row}, found FF{marker:X2}");
        _pos += 2;
    }
}

internal sealed class JpegLosslessDecoder
{
    private readonly FrameInfo _info;
    private readonly JpegHuffmanTable?[] _tables = new JpegHuffmanTable?[4];
    private int _restartInterval;
    private int _precision;
    private int _width;
    private int _height;
    private byte[] _componentIds = [];
    private bool[] _decoded = [];

    public JpegLosslessDecoder(FrameInfo info) => _info = info;

    /// <summary>Position of the next marker's first 0xFF at or after <paramref name="pos"/> (skips stuffed FF00 and fill bytes).</summary>
    internal static int FindMarker(ReadOnlySpan<byte> data, int pos)
    {
        while (pos + 1 < data.Length)
        {
            if (data[pos] == 0xFF && data[pos + 1] != 0 && data[pos + 1] != 0xFF) return pos;
            pos++;
        }
        return data.Length;
    }

    public void Decode(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (data.Length < 2 || data[0] != 0xFF || data[1] != 0xD8)
            throw new PixelCodecException($"JPEG data does not start with an SOI marker ({data.Length} bytes)");
        int pos = 2;
        bool frameSeen = false;
        while (pos < data.Length)
        {
            if (data[pos] != 0xFF)
                throw new PixelCodecException($"JPEG expected a marker at offset {pos}, found 0x{data[pos]:X2}");
            while (pos < data.Length && data[pos] == 0xFF) pos++;
            if (pos >= data.Length) break;
            int marker = data[pos++];
            if (marker == 0xD9) break; // EOI
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue; // TEM, stray RSTn, SOI: no length
            if (pos + 2 > data.Length)
                throw new PixelCodecException($"JPEG marker FF{marker:X2} at offset {pos - 2} has no length ({data.Length} bytes)");
            int length = BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
            if (length < 2 || pos + length > data.Length)
                throw new PixelCodecException(
                    $"JPEG marker FF{marker:X2} segment of {length} bytes at offset {pos - 2} runs past the end of the data ({data.Length} bytes)");
            ReadOnlySpan<byte> segment = data.Slice(pos + 2, length - 2);
            int segmentOffset = pos + 2;
            pos += length;
            switch (marker)
            {
                case 0xC3:
                    if (frameSeen) throw new PixelCodecException($"JPEG second SOF marker at offset {segmentOffset - 4}");
                    ReadFrame(segment, segmentOffset);
                    frameSeen = true;
                    break;
                case 0xC4:
                    ReadHuffmanTables(segment, segmentOffset);
                    break;
                case 0xDD:
                    if (segment.Length < 2) throw new PixelCodecException($"JPEG DRI segment at offset {segmentOffset} too short");
                    _restartInterval = BinaryPrimitives.ReadUInt16BigEndian(segment);
                    break;
                case 0xDA:
                    if (!frameSeen) throw new PixelCodecException($"JPEG SOS at offset {segmentOffset - 4} before any SOF3 frame header");
                    pos = DecodeScan(data, segment, segmentOffset, pos, destination);
                    break;
                case 0xC0 or 0xC1 or 0xC2:
                    throw new PixelCodecException($"JPEG frame is DCT-based (SOF{marker - 0xC0}), not lossless process 14");
                case 0xC5 or 0xC6 or 0xC7 or 0xC9 or 0xCA or 0xCB or 0xCC or 0xCD or 0xCE or 0xCF:
                    throw new PixelCodecException($"JPEG marker FF{marker:X2} (hierarchical or arithmetic coding) is not supported");
                case 0xDC:
                    throw new PixelCodecException("JPEG DNL marker (number of lines defined after the scan) is not supported");
                default:
                    break; // APPn, COM, DQT and other segments are irrelevant for lossless decoding
            }
        }

        if (!frameSeen) throw new PixelCodecException("JPEG data has no SOF3 (lossless) frame header");
        for (int c = 0; c < _decoded.Length; c++)
        {
            if (!_decoded[c])
                throw new PixelCodecException($"JPEG data ended before component {_componentIds[c]} was decoded");
        }
    }

    private void ReadFrame(ReadOnlySpan<byte> s, int offset)
    {
        if (s.Length < 6) throw new PixelCodecException($"JPEG SOF3 segment at offset {offset} too short");
        _precision = s[0];
        _height = BinaryPrimitives.ReadUInt16BigEndian(s[1..]);
        _width = BinaryPrimitives.ReadUInt16BigEndian(s[3..]);
        int nf = s[5];
        if (s.Length < 6 + (3 * nf)) throw new PixelCodecException($"JPEG SOF3 segment at offset {offset} too short for {nf} components");
        if (_precision < 2 || _precision > 16) throw new PixelCodecException($"JPEG lossless precision {_precision} outside 2..16");
        if (_precision > _info.BitsAllocated)
            throw new PixelCodecException($"JPEG precision {_precision} does not fit Bits Allocated {_info.BitsAllocated}");
        if (_height == 0) throw new PixelCodecException("JPEG frame with 0 lines (DNL) is not supported");
        if (_height != _info.Rows || _width != _info.Columns || nf != _info.SamplesPerPixel)
            throw new PixelCodecException(
                $"JPEG frame is {_height}x{_width} with {nf} components, image says {_info.Rows}x{_info.Columns} with {_info.SamplesPerPixel} samples");
        _componentIds = new byte[nf];
        _decoded = new bool[nf];
        for (int i = 0; i < nf; i++)
        {
            _componentIds[i] = s[6 + (3 * i)];
            int sampling = s[7 + (3 * i)];
            if (sampling != 0x11)
                throw new PixelCodecException($"JPEG component {_componentIds[i]} sampling {sampling >> 4}x{sampling & 15} not supported (only 1x1)");
        }
    }

    private void ReadHuffmanTables(ReadOnlySpan<byte> s, int offset)
    {
        int p = 0;
        while (p < s.Length)
        {
            if (p + 17 > s.Length) throw new PixelCodecException($"JPEG DHT segment at offset {offset} truncated");
            int tcTh = s[p];
            ReadOnlySpan<byte> counts = s.Slice(p + 1, 16);
            int total = 0;
            foreach (byte n in counts) total += n;
            if (p + 17 + total > s.Length)
                throw new PixelCodecException($"JPEG DHT table at offset {offset + p} declares {total} values, segment has {s.Length - p - 17}");
            int th = tcTh & 0x0F;
            if ((tcTh >> 4) != 0 || th > 3)
                throw new PixelCodecException($"JPEG DHT table class/id 0x{tcTh:X2} at offset {offset + p} invalid for lossless (DC tables 0-3)");
            _tables[th] = new JpegHuffmanTable(counts, s.Slice(p + 17, total), offset + p);
            p += 17 + total;
        }
    }

    private int DecodeScan(ReadOnlySpan<byte> data, ReadOnlySpan<byte> header, int headerOffset, int entropyStart, Span<byte> destination)
    {
        if (header.Length < 1) throw new PixelCodecException($"JPEG SOS segment at offset {headerOffset} empty");
        int ns = header[0];
        if (ns < 1 || ns > 4 || header.Length < 1 + (2 * ns) + 3)
            throw new PixelCodecException($"JPEG SOS segment at offset {headerOffset} invalid ({ns} components, {header.Length} bytes)");
        Span<int> components = stackalloc int[ns];
        var tables = new JpegHuffmanTable[ns];
        for (int j = 0; j < ns; j++)
        {
            int id = header[1 + (2 * j)];
            int c = Array.IndexOf(_componentIds, (byte)id);
            if (c < 0) throw new PixelCodecException($"JPEG scan at offset {headerOffset} refers to unknown component {id}");
            int td = header[2 + (2 * j)] >> 4;
            tables[j] = (td < 4 ? _tables[td] : null)
                ?? throw new PixelCodecException($"JPEG scan at offset {headerOffset} uses undefined Huffman table {td}");
            components[j] = c;
        }
        int predictor = header[1 + (2 * ns)];
        int pointTransform = header[3 + (2 * ns)] & 0x0F;
        if (predictor < 1 || predictor > 7)
            throw new PixelCodecException($"JPEG lossless scan at offset {headerOffset} has selection value {predictor} (1..7 expected)");
        if (pointTransform >= _precision)
            throw new PixelCodecException($"JPEG point transform {pointTransform} not below precision {_precision}");

        int width = _width;
        int nf = _componentIds.Length;
        int rowLength = width * nf;
        int[] rented = ArrayPool<int>.Shared.Rent(2 * rowLength);
        try
        {
            Span<int> prev = rented.AsSpan(0, rowLength);
            Span<int> cur = rented.AsSpan(rowLength, rowLength);
            var reader = new JpegBitReader(data, entropyStart);
            int initial = 1 << (_precision - pointTransform - 1);
            int bytesPerSample = _info.BytesPerSample;
            int signBits = Math.Min(_precision, _info.BitsStored);
            int restartInterval = _restartInterval;
            int untilRestart = restartInterval;
            int restarts = 0;
            bool resetPending = true;
            int intervalRow = 0;
            for (int y = 0; y < _height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    if (restartInterval > 0)
                    {
                        if (untilRestart == 0)
                        {
                            reader.Restart(restarts++, y);
                            untilRestart = restartInterval;
                            resetPending = true;
                            intervalRow = y;
                        }
                        untilRestart--;
                    }
                    for (int j = 0; j < ns; j++)
                    {
                        int o = (components[j] * width) + x;
                        int diff = reader.DecodeDifference(tables[j], y);
                        int prediction;
                        if (resetPending) prediction = initial;
                        else if (y == intervalRow) prediction = cur[o - 1];
                        else if (x == 0) prediction = prev[o];
                        else
                        {
                            int ra = cur[o - 1], rb = prev[o], rc = prev[o - 1];
                            prediction = predictor switch
                            {
                                1 => ra,
                                2 => rb,
                                3 => rc,
                                4 => ra + rb - rc,
                                5 => ra + ((rb - rc) >> 1),
                                6 => rb + ((ra - rc) >> 1),
                                _ => (ra + rb) >> 1,
                            };
                        }
                        cur[o] = (prediction + diff) & 0xFFFF;
                    }
                    resetPending = false;
                }

                for (int j = 0; j < ns; j++)
                {
                    int c = components[j];
                    var (stride, start) = NativeSamples.Layout(_info, c);
                    int index = start + (y * width * stride);
                    ReadOnlySpan<int> row = cur.Slice(c * width, width);
                    bool extend = _info.IsSigned && signBits < _info.BitsAllocated;
                    if (bytesPerSample == 2 && !extend)
                    {
                        Span<byte> target = destination;
                        for (int x = 0; x < width; x++, index += stride)
                        {
                            int v = row[x] << pointTransform;
                            target[2 * index] = (byte)v;
                            target[(2 * index) + 1] = (byte)(v >> 8);
                        }
                    }
                    else if (bytesPerSample == 1 && !extend)
                    {
                        for (int x = 0; x < width; x++, index += stride)
                            destination[index] = (byte)(row[x] << pointTransform);
                    }
                    else
                    {
                        for (int x = 0; x < width; x++, index += stride)
                            NativeSamples.Write(destination, index, bytesPerSample, NativeSamples.Finish(row[x] << pointTransform, signBits, _info));
                    }
                }
                Span<int> t = prev;
                prev = cur;
                cur = t;
            }
            for (int j = 0; j < ns; j++) _decoded[components[j]] = true;
            return FindMarker(data, reader.Position);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rented);
        }
    }
}
