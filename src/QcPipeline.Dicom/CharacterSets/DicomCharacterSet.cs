// TEMPORARY stand-in while the character-set branch is being written; replaced on merge.
using System.Text;

namespace QcPipeline.Dicom.CharacterSets;

public sealed class DicomCharacterSet
{
    private readonly Encoding _encoding;
    private DicomCharacterSet(IReadOnlyList<string> terms, Encoding enc) { Terms = terms; _encoding = enc; }
    public static DicomCharacterSet Default { get; } = new([], Encoding.Latin1);
    public IReadOnlyList<string> Terms { get; }
    public bool IsIso2022 => false;
    public static DicomCharacterSet Parse(IReadOnlyList<string> definedTerms, Encoding? fallback = null) =>
        definedTerms.Count > 0 && definedTerms[0] == "ISO_IR 192" ? new(definedTerms, Encoding.UTF8) : new(definedTerms, fallback ?? Encoding.Latin1);
    public string Decode(ReadOnlySpan<byte> value, DicomVR vr) => _encoding.GetString(value);
    public string[] DecodeValues(ReadOnlySpan<byte> value, DicomVR vr) => Decode(value, vr).TrimEnd(' ', '\0').Split('\\');
    public bool TryDecode(ReadOnlySpan<byte> value, DicomVR vr, out string text, out string? problem) { text = Decode(value, vr); problem = null; return true; }
    public byte[] Encode(string text, DicomVR vr) => _encoding.GetBytes(text);
}
