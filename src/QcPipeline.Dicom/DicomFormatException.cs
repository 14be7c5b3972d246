namespace QcPipeline.Dicom;

/// <summary>Malformed DICOM input. Names the tag being read and the byte offset where parsing stopped,
/// so that a broken file can be located with a hex dump.</summary>
public sealed class DicomFormatException : Exception
{
    public DicomFormatException(string message) : base(message) { }
    public DicomFormatException(string message, Exception inner) : base(message, inner) { }

    public DicomFormatException(DicomTag? tag, long offset, string problem, Exception? inner = null)
        : base(Format(tag, offset, problem), inner)
    {
        Tag = tag;
        Offset = offset;
    }

    public DicomTag? Tag { get; }
    public long Offset { get; } = -1;

    private static string Format(DicomTag? tag, long offset, string problem) =>
        tag is { } t ? $"{problem} (tag {t}, offset {offset})" : $"{problem} (offset {offset})";
}
