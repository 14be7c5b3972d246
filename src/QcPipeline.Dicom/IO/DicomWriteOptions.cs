namespace QcPipeline.Dicom.IO;

public sealed record DicomWriteOptions
{
    public static DicomWriteOptions Default { get; } = new();

    /// <summary>Write the 128-byte preamble and "DICM" (PS3.10 §7.1). Off gives a bare meta + dataset stream.</summary>
    public bool WritePreamble { get; init; } = true;

    /// <summary>Write File Meta Information. Off writes a bare dataset (as a DIMSE message carries it).</summary>
    public bool WriteFileMeta { get; init; } = true;

    /// <summary>Keep (gggg,0000) group length elements outside group 0002; they are retired (PS3.5 §7.2), so off by default.</summary>
    public bool KeepGroupLengths { get; init; }

    /// <summary>Deflate compression level for the deflated syntax.</summary>
    public System.IO.Compression.CompressionLevel DeflateLevel { get; init; } = System.IO.Compression.CompressionLevel.Optimal;
}
