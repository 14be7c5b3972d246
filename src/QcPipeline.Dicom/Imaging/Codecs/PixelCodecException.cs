namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>Compressed pixel data is corrupt, truncated or inconsistent with the image description.</summary>
public sealed class PixelCodecException : Exception
{
    public PixelCodecException() { }

    public PixelCodecException(string message) : base(message) { }

    public PixelCodecException(string message, Exception innerException) : base(message, innerException) { }
}
