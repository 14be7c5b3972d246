namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>
/// Decodes one frame of an encapsulated transfer syntax (the concatenation of that frame's fragments)
/// into native pixel data as it would appear in Explicit VR Little Endian: samples little-endian,
/// Planar Configuration as given by <see cref="FrameInfo.PlanarConfiguration"/>.
/// </summary>
public interface IPixelCodec
{
    string TransferSyntaxUid { get; }

    bool IsLossy { get; }

    /// <summary>Decodes into <paramref name="destination"/>, whose length must be at least <see cref="FrameInfo.FrameLength"/>.</summary>
    /// <exception cref="PixelCodecException">the compressed data is corrupt or does not match <paramref name="info"/>.</exception>
    void Decode(ReadOnlySpan<byte> compressed, FrameInfo info, Span<byte> destination);
}
