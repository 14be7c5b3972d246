namespace QcPipeline.Dicom.Json;

/// <summary>JSON that is not a valid DICOM JSON model (PS3.18 Annex F), or a value that cannot be written as one.
/// The message names the attribute path, e.g. "(0040,A730)[0] (0040,A160) UT: …".</summary>
public sealed class DicomJsonException : Exception
{
    public DicomJsonException() { }
    public DicomJsonException(string message) : base(message) { }
    public DicomJsonException(string message, Exception inner) : base(message, inner) { }

    internal DicomJsonException(string path, DicomTag? tag, string problem, Exception? inner = null)
        : base(path.Length > 0 ? $"{path}: {problem}" : problem, inner)
    {
        Tag = tag;
        Path = path;
    }

    /// <summary>The attribute being read or written, when known.</summary>
    public DicomTag? Tag { get; }

    /// <summary>Where in the dataset: tags with item indexes, e.g. "(0008,1115)[0] (0008,114A)".</summary>
    public string Path { get; } = "";
}
