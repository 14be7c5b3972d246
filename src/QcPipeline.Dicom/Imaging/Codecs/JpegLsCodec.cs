namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>
/// JPEG-LS lossless (1.2.840.10008.1.2.4.80) and near-lossless (1.2.840.10008.1.2.4.81) through the native
/// CharLS 2.x library. CharLS writes samples of 2..8 bits as bytes and 9..16 bits as native-endian 16-bit words,
/// components by plane for interleave mode "none" and by pixel for "line"/"sample"; the result is rearranged into
/// the caller's Planar Configuration.
/// </summary>
public sealed unsafe class JpegLsCodec : IPixelCodec
{
    public const string LosslessUid = "1.2.840.10008.1.2.4.80";
    public const string NearLosslessUid = "1.2.840.10008.1.2.4.81";

    internal JpegLsCodec(string uid, bool lossy)
    {
        TransferSyntaxUid = uid;
        IsLossy = lossy;
    }

    public string TransferSyntaxUid { get; }

    public bool IsLossy { get; }

    public void Decode(ReadOnlySpan<byte> compressed, FrameInfo info, Span<byte> destination)
    {
        int frameLength = info.Validate(destination.Length, "JPEG-LS");
        if (CharLs.LoadError is { } error)
            throw new NotSupportedException($"transfer syntax {TransferSyntaxUid} not supported for pixel access: {error}");
        if (compressed.IsEmpty) throw new PixelCodecException("JPEG-LS frame is empty");
        // CharLS 2.4 can spend tens of seconds on a stream cut short inside the scan, so a frame must end with
        // EOI (after optional zero padding to an even fragment length) before it is handed over.
        ReadOnlySpan<byte> trimmed = compressed.TrimEnd((byte)0);
        if (trimmed.Length < 4 || trimmed[0] != 0xFF || trimmed[1] != 0xD8 || trimmed[^2] != 0xFF || trimmed[^1] != 0xD9)
            throw new PixelCodecException($"JPEG-LS frame ({compressed.Length} bytes) does not run from SOI to EOI: not JPEG-LS or truncated");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("JPEG-LS decoding assumes a little-endian host");

        nint decoder = CharLs.Create();
        if (decoder == 0) throw new PixelCodecException("JPEG-LS: CharLS could not create a decoder");
        try
        {
            fixed (byte* source = compressed)
            {
                Check(CharLs.SetSourceBuffer(decoder, source, (nuint)compressed.Length), "setting the source");
                Check(CharLs.ReadHeader(decoder), "reading the header");
                CharLs.FrameInfoNative frame;
                Check(CharLs.GetFrameInfo(decoder, &frame), "reading the frame info");
                int interleave;
                Check(CharLs.GetInterleaveMode(decoder, &interleave), "reading the interleave mode");

                if (frame.Width != info.Columns || frame.Height != info.Rows || frame.ComponentCount != info.SamplesPerPixel)
                    throw new PixelCodecException(
                        $"JPEG-LS frame is {frame.Height}x{frame.Width} with {frame.ComponentCount} components, image says {info.Rows}x{info.Columns} with {info.SamplesPerPixel} samples");
                if (frame.BitsPerSample < 2 || frame.BitsPerSample > 16 || frame.BitsPerSample > info.BitsAllocated)
                    throw new PixelCodecException($"JPEG-LS precision {frame.BitsPerSample} does not fit Bits Allocated {info.BitsAllocated}");

                int charlsBytes = frame.BitsPerSample <= 8 ? 1 : 2;
                nuint needed;
                Check(CharLs.GetDestinationSize(decoder, 0, &needed), "computing the destination size");
                long expected = info.PixelCount * info.SamplesPerPixel * charlsBytes;
                if ((long)needed != expected)
                    throw new PixelCodecException($"JPEG-LS decoded size {needed} bytes differs from the expected {expected}");

                bool planarOutput = info.SamplesPerPixel > 1 && interleave == 0;
                bool direct = charlsBytes == info.BytesPerSample
                              && (info.SamplesPerPixel == 1 || planarOutput == (info.PlanarConfiguration == 1))
                              && !(info.IsSigned && frame.BitsPerSample < info.BitsAllocated);
                if (direct)
                {
                    fixed (byte* target = destination)
                        Check(CharLs.DecodeToBuffer(decoder, target, (nuint)frameLength, 0), "decoding");
                    return;
                }

                byte[] buffer = new byte[expected];
                fixed (byte* target = buffer)
                    Check(CharLs.DecodeToBuffer(decoder, target, (nuint)buffer.Length, 0), "decoding");
                Rearrange(buffer, charlsBytes, planarOutput, frame.BitsPerSample, info, destination);
            }
        }
        finally
        {
            CharLs.Destroy(decoder);
        }
    }

    private static void Rearrange(ReadOnlySpan<byte> decoded, int sourceBytes, bool sourcePlanar, int precision, in FrameInfo info, Span<byte> destination)
    {
        int pixels = (int)info.PixelCount;
        int samples = info.SamplesPerPixel;
        int signBits = Math.Min(precision, info.BitsStored);
        for (int c = 0; c < samples; c++)
        {
            var (stride, start) = NativeSamples.Layout(info, c);
            int sourceStride = sourcePlanar ? 1 : samples;
            int sourceIndex = sourcePlanar ? c * pixels : c;
            int index = start;
            for (int p = 0; p < pixels; p++, index += stride, sourceIndex += sourceStride)
            {
                int value = sourceBytes == 1 ? decoded[sourceIndex] : decoded[2 * sourceIndex] | (decoded[(2 * sourceIndex) + 1] << 8);
                NativeSamples.Write(destination, index, info.BytesPerSample, NativeSamples.Finish(value, signBits, info));
            }
        }
    }

    private static void Check(int result, string step)
    {
        if (result != 0) throw new PixelCodecException($"JPEG-LS {step} failed: {CharLs.Describe(result)}");
    }
}
