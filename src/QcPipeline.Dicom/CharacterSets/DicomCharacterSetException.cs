namespace QcPipeline.Dicom.CharacterSets;

/// <summary>An unknown or unusable Specific Character Set (0008,0005) term, or text that a set cannot represent.</summary>
public sealed class DicomCharacterSetException : Exception
{
    public DicomCharacterSetException() { }

    public DicomCharacterSetException(string message) : base(message) { }

    public DicomCharacterSetException(string message, Exception innerException) : base(message, innerException) { }

    public DicomCharacterSetException(string message, string? term) : base(message) => Term = term;

    /// <summary>The offending defined term, when the problem is about one.</summary>
    public string? Term { get; }
}
