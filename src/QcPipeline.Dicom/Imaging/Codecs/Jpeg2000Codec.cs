using System.Runtime.InteropServices;

namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>
/// JPEG 2000 (1.2.840.10008.1.2.4.90 lossless only, .91) and High-Throughput JPEG 2000 (.201, .202, .203)
/// through the native OpenJPEG 2.x library (HTJ2K needs OpenJPEG 2.5 or later). Accepts a raw codestream
/// (as DICOM requires) or, leniently, a JP2 file. Component data arrive as 32-bit integers and are written
/// as little-endian samples of Bits Allocated, planar or interleaved as the caller asks.
/// </summary>
public sealed unsafe class Jpeg2000Codec : IPixelCodec
{
    // The JP2 signature box (ISO/IEC 15444-1 Annex I.5.1). Written as bytes: "\x87" in a u8 literal would be UTF-8 encoded as C2 87.
    private static ReadOnlySpan<byte> Jp2Signature => [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A];

    public const string LosslessUid = "1.2.840.10008.1.2.4.90";
    public const string Uid = "1.2.840.10008.1.2.4.91";
    public const string HtLosslessUid = "1.2.840.10008.1.2.4.201";
    public const string HtLosslessRpclUid = "1.2.840.10008.1.2.4.202";
    public const string HtUid = "1.2.840.10008.1.2.4.203";

    private const int ParametersSize = 64 * 1024; // larger than opj_dparameters_t (about 8.2 KB) in any 2.x release

    internal Jpeg2000Codec(string uid, bool lossy)
    {
        TransferSyntaxUid = uid;
        IsLossy = lossy;
    }

    public string TransferSyntaxUid { get; }

    public bool IsLossy { get; }

    public void Decode(ReadOnlySpan<byte> compressed, FrameInfo info, Span<byte> destination)
    {
        info.Validate(destination.Length, "JPEG 2000");
        if (OpenJpeg.LoadError is { } error)
            throw new NotSupportedException($"transfer syntax {TransferSyntaxUid} not supported for pixel access: {error}");

        int format;
        if (compressed.Length >= 4 && compressed[0] == 0xFF && compressed[1] == 0x4F && compressed[2] == 0xFF && compressed[3] == 0x51)
            format = OpenJpeg.CodecJ2K;
        else if (compressed.Length >= 12 && compressed[..12].SequenceEqual(Jp2Signature))
            format = OpenJpeg.CodecJP2;
        else
            throw new PixelCodecException($"JPEG 2000 frame ({compressed.Length} bytes) does not start with an SOC/SIZ marker or a JP2 signature");

        nint codec = 0, stream = 0;
        OpenJpeg.Image* image = null;
        void* parameters = null;
        OpenJpeg.TakeLastError();
        try
        {
            fixed (byte* source = compressed)
            {
                var memory = new OpenJpeg.MemoryStream { Data = source, Length = compressed.Length, Position = 0 };
                codec = OpenJpeg.CreateDecompress(format);
                if (codec == 0) throw new PixelCodecException("JPEG 2000: OpenJPEG could not create a decoder");
                OpenJpeg.InstallErrorHandler(codec);
                parameters = NativeMemory.AllocZeroed(ParametersSize);
                OpenJpeg.SetDefaultDecoderParameters(parameters);
                if (OpenJpeg.SetupDecoder(codec, parameters) == 0) Fail("setting up the decoder");
                stream = OpenJpeg.CreateStream(&memory);
                if (stream == 0) throw new PixelCodecException("JPEG 2000: OpenJPEG could not create a stream");
                if (OpenJpeg.ReadHeader(stream, codec, &image) == 0 || image == null) Fail("reading the header");
                if (OpenJpeg.DecodeImage(codec, stream, image) == 0) Fail("decoding");
                if (OpenJpeg.EndDecompress(codec, stream) == 0) Fail("finishing the decoding");
            }
            CopyOut(image, info, destination);
        }
        finally
        {
            if (image != null) OpenJpeg.ImageDestroy(image);
            if (stream != 0) OpenJpeg.StreamDestroy(stream);
            if (codec != 0) OpenJpeg.DestroyCodec(codec);
            if (parameters != null) NativeMemory.Free(parameters);
        }
    }

    private static void Fail(string step)
    {
        string? detail = OpenJpeg.TakeLastError();
        throw new PixelCodecException($"JPEG 2000 {step} failed{(detail is null ? "" : ": " + detail)}");
    }

    private static void CopyOut(OpenJpeg.Image* image, in FrameInfo info, Span<byte> destination)
    {
        if (image->NumComps != info.SamplesPerPixel)
            throw new PixelCodecException($"JPEG 2000 image has {image->NumComps} components, image says {info.SamplesPerPixel} samples");
        int pixels = (int)info.PixelCount;
        for (int c = 0; c < info.SamplesPerPixel; c++)
        {
            OpenJpeg.ImageComponent* component = image->Comps + c;
            if (component->W != info.Columns || component->H != info.Rows || component->Dx != 1 || component->Dy != 1)
                throw new PixelCodecException(
                    $"JPEG 2000 component {c} is {component->H}x{component->W} (subsampling {component->Dx}x{component->Dy}), image says {info.Rows}x{info.Columns}");
            if (component->Prec == 0 || component->Prec > info.BitsAllocated || component->Prec > 31)
                throw new PixelCodecException($"JPEG 2000 component {c} precision {component->Prec} does not fit Bits Allocated {info.BitsAllocated}");
            if (component->Data == null)
                throw new PixelCodecException($"JPEG 2000 component {c} has no decoded data");

            var data = new ReadOnlySpan<int>(component->Data, pixels);
            bool signedData = component->Sgnd != 0;
            int signBits = Math.Min((int)component->Prec, info.BitsStored);
            var (stride, start) = NativeSamples.Layout(info, c);
            int bytesPerSample = info.BytesPerSample;
            int index = start;
            for (int p = 0; p < pixels; p++, index += stride)
            {
                int value = signedData ? data[p] : NativeSamples.Finish(data[p], signBits, info);
                NativeSamples.Write(destination, index, bytesPerSample, value);
            }
        }
    }
}
