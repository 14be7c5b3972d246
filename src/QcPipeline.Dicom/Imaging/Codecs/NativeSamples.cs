using System.Buffers.Binary;

namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>Helpers to place decoded samples in a native (Explicit VR Little Endian) frame.</summary>
internal static class NativeSamples
{
    /// <summary>
    /// Distance in samples between two consecutive pixels of the same component, and the offset in samples
    /// of component <paramref name="component"/>'s first pixel, for the requested Planar Configuration.
    /// </summary>
    public static (int Stride, int Start) Layout(in FrameInfo info, int component)
    {
        if (info.PlanarConfiguration == 0 || info.SamplesPerPixel == 1)
            return (info.SamplesPerPixel, component);
        return (1, checked(component * (int)info.PixelCount));
    }

    /// <summary>
    /// Sign-extends <paramref name="value"/> from <paramref name="bits"/> bits when the data is signed and the
    /// codec's precision is narrower than the allocated sample, so that a signed native sample reads back
    /// as the same two's-complement number (the usual native encoding of Pixel Representation 1).
    /// </summary>
    public static int Finish(int value, int bits, in FrameInfo info)
    {
        if (info.IsSigned && bits < info.BitsAllocated && bits > 0 && bits < 32)
        {
            int shift = 32 - bits;
            return (value << shift) >> shift;
        }
        return value;
    }

    public static void Write(Span<byte> destination, int sampleIndex, int bytesPerSample, int value)
    {
        switch (bytesPerSample)
        {
            case 1:
                destination[sampleIndex] = (byte)value;
                break;
            case 2:
                BinaryPrimitives.WriteInt16LittleEndian(destination.Slice(sampleIndex * 2, 2), (short)value);
                break;
            default:
                BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(sampleIndex * 4, 4), value);
                break;
        }
    }
}
