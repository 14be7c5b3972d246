using System.Collections.Frozen;
using System.Text;

namespace QcPipeline.Dicom.CharacterSets;

internal enum TermKind { Default, SingleByte, Utf8, Gb18030, Gbk, Iso2022 }

/// <summary>One defined term of (0008,0005) (PS3.3 Tables C.12-2 to C.12-5) and the graphic sets it stands for.</summary>
internal sealed record TermDefinition(string Term, TermKind Kind, GraphicSet? G0, GraphicSet? G1)
{
    /// <summary>True for the multi-byte sets without code extensions (UTF-8, GB18030, GBK).</summary>
    public bool IsWholeEncoding => Kind is TermKind.Utf8 or TermKind.Gb18030 or TermKind.Gbk;
}

/// <summary>Lookup of Specific Character Set defined terms.</summary>
public static class DicomCharacterSets
{
    internal static readonly Encoding Utf8 = new UTF8Encoding(false, false);
    internal static readonly Encoding Utf8Strict = new UTF8Encoding(false, true);
    internal static readonly Encoding Gb18030 = GraphicSet.CodePage(54936);
    internal static readonly Encoding Gb18030Strict = GraphicSet.CodePage(54936, exceptionOnInvalidChar: true);
    /// <summary>GBK = Windows code page 936 (PS3.3 C.12.1.1.2 references GBK as the GB18030 2-byte subset).</summary>
    internal static readonly Encoding Gbk = GraphicSet.CodePage(936);
    internal static readonly Encoding GbkStrict = GraphicSet.CodePage(936, exceptionOnInvalidChar: true);

    private static readonly FrozenDictionary<string, TermDefinition> Terms = Build();

    private static FrozenDictionary<string, TermDefinition> Build()
    {
        var a = GraphicSet.Ascii;
        var d = new Dictionary<string, TermDefinition>(StringComparer.Ordinal)
        {
            ["ISO_IR 6"] = new("ISO_IR 6", TermKind.Default, a, null),
            ["ISO_IR 192"] = new("ISO_IR 192", TermKind.Utf8, null, null),
            ["GB18030"] = new("GB18030", TermKind.Gb18030, null, null),
            ["GBK"] = new("GBK", TermKind.Gbk, null, null),
            ["ISO_IR 13"] = new("ISO_IR 13", TermKind.SingleByte, GraphicSet.JisRomaji, GraphicSet.JisKatakana),
            ["ISO 2022 IR 6"] = new("ISO 2022 IR 6", TermKind.Iso2022, a, null),
            ["ISO 2022 IR 13"] = new("ISO 2022 IR 13", TermKind.Iso2022, GraphicSet.JisRomaji, GraphicSet.JisKatakana),
            ["ISO 2022 IR 87"] = new("ISO 2022 IR 87", TermKind.Iso2022, GraphicSet.JisX0208, null),
            ["ISO 2022 IR 159"] = new("ISO 2022 IR 159", TermKind.Iso2022, GraphicSet.JisX0212, null),
            ["ISO 2022 IR 149"] = new("ISO 2022 IR 149", TermKind.Iso2022, null, GraphicSet.KsX1001),
            ["ISO 2022 IR 58"] = new("ISO 2022 IR 58", TermKind.Iso2022, null, GraphicSet.Gb2312),
        };
        foreach (var g in new[] { GraphicSet.Latin1, GraphicSet.Latin2, GraphicSet.Latin3, GraphicSet.Latin4, GraphicSet.Cyrillic,
                     GraphicSet.Arabic, GraphicSet.Greek, GraphicSet.Hebrew, GraphicSet.Latin5, GraphicSet.Latin9, GraphicSet.Thai })
        {
            string n = g.IsoIr["ISO-IR ".Length..];
            d["ISO_IR " + n] = new("ISO_IR " + n, TermKind.SingleByte, a, g);
            d["ISO 2022 IR " + n] = new("ISO 2022 IR " + n, TermKind.Iso2022, a, g);
        }
        return d.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Normalises a term as found in a file: surrounding spaces/NULs removed, upper case.</summary>
    internal static string Normalize(string term) => term.Trim(' ', '\0').ToUpperInvariant();

    internal static TermDefinition? Find(string term) => Terms.GetValueOrDefault(Normalize(term));

    /// <summary>True when <paramref name="term"/> is a defined term of PS3.3 C.12.1.1.2 (case and padding ignored).</summary>
    public static bool IsKnownTerm(string term) => Find(term) is not null;

    /// <summary>The .NET encoding equivalent to a term without code extensions, for callers that just need one:
    /// ISO_IR 100 → Latin-1, ISO_IR 1xx → iso-8859-x, ISO_IR 13 → shift_jis (its single-byte part is JIS X 0201 with
    /// ASCII in 0x00-0x7F), ISO_IR 166 → windows-874 (TIS 620 plus Windows extras in 0x80-0x9F), ISO_IR 192 → UTF-8,
    /// GB18030, GBK → code page 936, ISO_IR 6 / empty → ASCII. "ISO 2022 IR n" single-byte terms give the same as
    /// "ISO_IR n"; the multi-byte ISO 2022 terms (87, 159, 149, 58) give null — they need <see cref="DicomCharacterSet"/>.
    /// Unknown terms give null.</summary>
    public static Encoding? GetEncodingForTerm(string term)
    {
        if (term.Trim(' ', '\0').Length == 0) return Encoding.ASCII;
        var t = Find(term);
        if (t is null) return null;
        return t.Kind switch
        {
            TermKind.Default => Encoding.ASCII,
            TermKind.Utf8 => Utf8,
            TermKind.Gb18030 => Gb18030,
            TermKind.Gbk => Gbk,
            _ when t.G1 == GraphicSet.Latin1 => Encoding.Latin1,
            _ when t.G1 == GraphicSet.JisKatakana => GraphicSet.CodePage(932),
            _ when t.G1 is { Kind: GraphicSetKind.SingleByteG1 } g1 => GraphicSet.CodePage(g1 == GraphicSet.Thai ? 874 : CodePageOf(g1)),
            _ when t.G0 == GraphicSet.Ascii && t.G1 is null => Encoding.ASCII,
            _ => null,
        };
    }

    private static int CodePageOf(GraphicSet g) =>
        g == GraphicSet.Latin2 ? 28592 : g == GraphicSet.Latin3 ? 28593 : g == GraphicSet.Latin4 ? 28594 : g == GraphicSet.Cyrillic ? 28595
        : g == GraphicSet.Arabic ? 28596 : g == GraphicSet.Greek ? 28597 : g == GraphicSet.Hebrew ? 28598 : g == GraphicSet.Latin5 ? 28599 : 28605;
}
