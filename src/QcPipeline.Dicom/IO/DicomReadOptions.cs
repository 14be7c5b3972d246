using System.Text;

namespace QcPipeline.Dicom.IO;

/// <summary>How to read a DICOM stream. Limits protect against hostile input: no allocation beyond what the
/// input can justify, bounded nesting, bounded inflation of deflated data.</summary>
public sealed record DicomReadOptions
{
    public static DicomReadOptions Default { get; } = new();

    /// <summary>Header-only: stop at the top-level Pixel Data (7FE0,0010/0008/0009); nothing after it is read.</summary>
    public static DicomReadOptions HeaderOnly { get; } = new() { StopBeforePixelData = true };

    public bool StopBeforePixelData { get; init; }

    /// <summary>Deepest sequence nesting accepted; deeper input is a <see cref="DicomFormatException"/>.</summary>
    public int MaxSequenceDepth { get; init; } = 64;

    /// <summary>A ceiling on <see cref="MaxSequenceDepth"/>: real data nests a handful deep, and unwinding an error
    /// out of thousands of recursive frames is slow enough to look like a hang.</summary>
    public const int HardMaxSequenceDepth = 1000;

    /// <summary>Largest inflated size of a deflated dataset (guards against decompression bombs).</summary>
    public long MaxInflatedBytes { get; init; } = 1L << 30;

    /// <summary>Encoding for text when (0008,0005) is absent or wrong for the bytes (per-device setting).</summary>
    public Encoding? FallbackEncoding { get; init; }

    /// <summary>Read whole files into an ArrayPool buffer that <see cref="DicomFile.Dispose"/> returns. Only for
    /// callers that dispose the file and keep no element past that point.</summary>
    public bool UsePooledBuffer { get; init; }
}
