namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>
/// Geometry and sample format of one frame, from the Image Pixel Module (PS3.3 C.7.6.3):
/// Rows, Columns, Samples per Pixel, Bits Allocated, Bits Stored, Pixel Representation (IsSigned)
/// and the Planar Configuration the caller wants the decoded native frame in.
/// </summary>
public readonly record struct FrameInfo(
    int Rows, int Columns, int SamplesPerPixel, int BitsAllocated, int BitsStored, bool IsSigned, int PlanarConfiguration)
{
    /// <summary>Bytes per sample in the native encoding (BitsAllocated / 8).</summary>
    public int BytesPerSample => BitsAllocated / 8;

    /// <summary>Number of pixels in the frame.</summary>
    public long PixelCount => (long)Rows * Columns;

    /// <summary>Rows × Columns × Samples × BytesPerSample.</summary>
    public long FrameLength => PixelCount * SamplesPerPixel * BytesPerSample;

    /// <summary>Checks the description and the destination; returns the frame length in bytes.</summary>
    internal int Validate(int destinationLength, string codec)
    {
        if (Rows <= 0 || Columns <= 0 || Rows > 65535 || Columns > 65535)
            throw new ArgumentException($"{codec}: invalid frame size {Rows}x{Columns}");
        if (SamplesPerPixel <= 0 || SamplesPerPixel > 4)
            throw new ArgumentException($"{codec}: unsupported Samples per Pixel {SamplesPerPixel}");
        if (BitsAllocated is not (8 or 16 or 32))
            throw new ArgumentException($"{codec}: unsupported Bits Allocated {BitsAllocated} (8, 16 or 32 expected)");
        if (BitsStored <= 0 || BitsStored > BitsAllocated)
            throw new ArgumentException($"{codec}: Bits Stored {BitsStored} invalid for Bits Allocated {BitsAllocated}");
        if (PlanarConfiguration is not (0 or 1))
            throw new ArgumentException($"{codec}: Planar Configuration {PlanarConfiguration} invalid (0 or 1 expected)");
        long length = FrameLength;
        if (length > int.MaxValue)
            throw new ArgumentException($"{codec}: frame of {length} bytes is too large");
        if (destinationLength < length)
            throw new ArgumentException($"{codec}: destination is {destinationLength} bytes, frame needs {length}");
        return (int)length;
    }
}
