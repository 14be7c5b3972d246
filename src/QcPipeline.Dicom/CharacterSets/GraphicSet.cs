using System.Collections.Frozen;
using System.Text;

namespace QcPipeline.Dicom.CharacterSets;

internal enum GraphicSetKind
{
    /// <summary>94-character set invoked in GL with one byte per character (ISO-IR 6, ISO-IR 14).</summary>
    SingleByteG0,
    /// <summary>96- or 94-character set invoked in GR, one byte per character (ISO 8859 right halves, JIS X 0201 katakana, TIS 620).</summary>
    SingleByteG1,
    /// <summary>94x94 set invoked in GL, two 7-bit bytes per character (JIS X 0208, JIS X 0212).</summary>
    DoubleByteG0,
    /// <summary>94x94 set invoked in GR, two bytes with the high bit set (KS X 1001, GB 2312).</summary>
    DoubleByteG1,
}

/// <summary>One graphic character set of PS3.3 Table C.12-2/C.12-3/C.12-4 as it is designated by an escape
/// sequence in ISO 2022 (ISO/IEC 2022 G0/G1 code elements). Immutable.</summary>
internal sealed class GraphicSet
{
    internal const char Undefined = '\uFFFF';

    private readonly char[]? _high;                     // SingleByteG1: chars for bytes 0x80..0xFF, Undefined where none
    private readonly FrozenDictionary<char, byte>? _reverse;
    private readonly Encoding? _euc;                    // DoubleByte: EUC form (bytes | 0x80) decoder/encoder

    private GraphicSet(string name, string isoIr, GraphicSetKind kind, byte[] escape, char[]? high, Encoding? euc)
    {
        Name = name;
        IsoIr = isoIr;
        Kind = kind;
        Escape = escape;
        _high = high;
        _euc = euc;
        if (high is not null)
        {
            var d = new Dictionary<char, byte>();
            for (int i = 0x20; i < 0x80; i++)
                if (high[i] != Undefined) d.TryAdd(high[i], (byte)(0x80 + i));
            _reverse = d.ToFrozenDictionary();
        }
    }

    public string Name { get; }
    public string IsoIr { get; }
    public GraphicSetKind Kind { get; }
    /// <summary>The designating escape sequence, ESC included.</summary>
    public byte[] Escape { get; }
    public bool IsG0 => Kind is GraphicSetKind.SingleByteG0 or GraphicSetKind.DoubleByteG0;
    public bool IsDoubleByte => Kind is GraphicSetKind.DoubleByteG0 or GraphicSetKind.DoubleByteG1;
    /// <summary>False for JIS X 0212, which .NET has no decoder for.</summary>
    public bool IsSupported => !IsDoubleByte || _euc is not null;

    /// <summary>GR byte (0x80..0xFF) of a single-byte G1 set; <see cref="Undefined"/> when the position is empty.</summary>
    public char MapHigh(byte b) => _high![b - 0x80];

    /// <summary>Decodes one double-byte character; <paramref name="b1"/>, <paramref name="b2"/> may be GL or GR form.</summary>
    public char MapPair(byte b1, byte b2)
    {
        if (_euc is null) return Undefined;
        ReadOnlySpan<byte> pair = [(byte)(b1 | 0x80), (byte)(b2 | 0x80)];
        Span<char> c = stackalloc char[2];
        int n = _euc.GetChars(pair, c);
        return n == 1 && c[0] != '\uFFFD' ? c[0] : Undefined;
    }

    /// <summary>Bytes (as they appear in the stream for this set's invocation) for one char; 0 when not representable.</summary>
    public int TryEncode(char c, Span<byte> dst)
    {
        switch (Kind)
        {
            case GraphicSetKind.SingleByteG0:
                if (c >= 0x80) return 0;
                dst[0] = (byte)c;
                return 1;
            case GraphicSetKind.SingleByteG1:
                if (!_reverse!.TryGetValue(c, out var b)) return 0;
                dst[0] = b;
                return 1;
            default:
                if (_euc is null || char.IsSurrogate(c) || c < 0x80) return 0;
                Span<byte> tmp = stackalloc byte[8];
                int n = _euc.GetBytes([c], tmp);
                // Only the 94x94 part (both bytes 0xA1..0xFE) belongs to the set; EUC-JP 0x8E/0x8F and GBK extensions do not.
                if (n != 2 || tmp[0] < 0xA1 || tmp[0] > 0xFE || tmp[1] < 0xA1 || tmp[1] > 0xFE) return 0;
                byte mask = Kind == GraphicSetKind.DoubleByteG0 ? (byte)0x7F : (byte)0xFF;
                dst[0] = (byte)(tmp[0] & mask);
                dst[1] = (byte)(tmp[1] & mask);
                return 2;
        }
    }

    // ---- The sets (PS3.3 C.12.1.1.2, Tables C.12-2, C.12-3, C.12-4) ----

    internal static Encoding CodePage(int codePage, bool exceptionOnInvalidChar = false) =>
        CodePagesEncodingProvider.Instance.GetEncoding(codePage,
            exceptionOnInvalidChar ? EncoderFallback.ExceptionFallback : new EncoderReplacementFallback("?"),
            new DecoderReplacementFallback("\uFFFD"))
        ?? throw new InvalidOperationException($"code page {codePage} is not available");

    private static byte[] Esc(string intermediateAndFinal) => [0x1B, .. Encoding.ASCII.GetBytes(intermediateAndFinal)];

    /// <summary>Right half of an ISO 8859 part, taken from .NET's code page. .NET fills empty positions with
    /// private-use code points (e.g. 8859-3 0xA5, 8859-6/8 gaps); those are treated as undefined. 0x80..0x9F are the
    /// C1 controls (kept as U+0080..U+009F; strict decoding reports them).</summary>
    private static char[] HighFrom(Encoding e)
    {
        var t = new char[128];
        Span<char> c = stackalloc char[2];
        for (int i = 0; i < 128; i++)
        {
            if (i < 0x20) { t[i] = (char)(0x80 + i); continue; }
            int n = e.GetChars([(byte)(0x80 + i)], c);
            t[i] = n == 1 && c[0] != '\uFFFD' && !(c[0] >= '\uE000' && c[0] <= '\uF8FF') ? c[0] : Undefined;
        }
        return t;
    }

    private static GraphicSet Iso8859(string name, string ir, string final, Encoding e) =>
        new(name, ir, GraphicSetKind.SingleByteG1, Esc("-" + final), HighFrom(e), null);

    public static readonly GraphicSet Ascii = new("ISO 646 (US-ASCII)", "ISO-IR 6", GraphicSetKind.SingleByteG0, Esc("(B"), null, null);
    /// <summary>JIS X 0201 Romaji. Decoded like ASCII: 0x5C is the DICOM value delimiter and 0x7E tilde, as every
    /// toolkit does in practice (strictly ISO-IR 14 has YEN SIGN and OVERLINE there).</summary>
    public static readonly GraphicSet JisRomaji = new("JIS X 0201 Romaji", "ISO-IR 14", GraphicSetKind.SingleByteG0, Esc("(J"), null, null);

    public static readonly GraphicSet Latin1 = Iso8859("ISO 8859-1 (Latin-1)", "ISO-IR 100", "A", Encoding.Latin1);
    public static readonly GraphicSet Latin2 = Iso8859("ISO 8859-2 (Latin-2)", "ISO-IR 101", "B", CodePage(28592));
    public static readonly GraphicSet Latin3 = Iso8859("ISO 8859-3 (Latin-3)", "ISO-IR 109", "C", CodePage(28593));
    public static readonly GraphicSet Latin4 = Iso8859("ISO 8859-4 (Latin-4)", "ISO-IR 110", "D", CodePage(28594));
    public static readonly GraphicSet Cyrillic = Iso8859("ISO 8859-5 (Cyrillic)", "ISO-IR 144", "L", CodePage(28595));
    public static readonly GraphicSet Arabic = Iso8859("ISO 8859-6 (Arabic)", "ISO-IR 127", "G", CodePage(28596));
    public static readonly GraphicSet Greek = Iso8859("ISO 8859-7 (Greek)", "ISO-IR 126", "F", CodePage(28597));
    public static readonly GraphicSet Hebrew = Iso8859("ISO 8859-8 (Hebrew)", "ISO-IR 138", "H", CodePage(28598));
    public static readonly GraphicSet Latin5 = Iso8859("ISO 8859-9 (Latin-5)", "ISO-IR 148", "M", CodePage(28599));
    public static readonly GraphicSet Latin9 = Iso8859("ISO 8859-15 (Latin-9)", "ISO-IR 203", "b", CodePage(28605));
    /// <summary>TIS 620-2533: 0xA1..0xDA and 0xDF..0xFB map to U+0E01..U+0E3A / U+0E3F..U+0E5B. Windows-874 agrees on
    /// those but adds €, … and quotes in 0x80..0x9F, which are C1 controls here.</summary>
    public static readonly GraphicSet Thai = Iso8859("TIS 620-2533 (Thai)", "ISO-IR 166", "T", CodePage(874));

    /// <summary>JIS X 0201 Katakana: 0xA1..0xDF map to the half-width forms U+FF61..U+FF9F.</summary>
    public static readonly GraphicSet JisKatakana = new("JIS X 0201 Katakana", "ISO-IR 13", GraphicSetKind.SingleByteG1, Esc(")I"), KatakanaHigh(), null);

    public static readonly GraphicSet JisX0208 = new("JIS X 0208 (Kanji)", "ISO-IR 87", GraphicSetKind.DoubleByteG0, Esc("$B"), null, CodePage(51932));
    /// <summary>JIS X 0212 supplementary kanji. .NET's EUC-JP has no JIS X 0212 table, so these decode as U+FFFD.</summary>
    public static readonly GraphicSet JisX0212 = new("JIS X 0212 (supplementary Kanji)", "ISO-IR 159", GraphicSetKind.DoubleByteG0, Esc("$(D"), null, null);
    public static readonly GraphicSet KsX1001 = new("KS X 1001 (Hangul and Hanja)", "ISO-IR 149", GraphicSetKind.DoubleByteG1, Esc("$)C"), null, CodePage(51949));
    /// <summary>GB 2312 in G1. Decoded with .NET's code page 936 (GBK, a superset): both bytes 0xA1..0xFE are GB 2312 proper.</summary>
    public static readonly GraphicSet Gb2312 = new("GB 2312 (Simplified Chinese)", "ISO-IR 58", GraphicSetKind.DoubleByteG1, Esc("$)A"), null, CodePage(936));

    private static char[] KatakanaHigh()
    {
        var t = new char[128];
        for (int i = 0; i < 128; i++)
        {
            int b = 0x80 + i;
            t[i] = b < 0xA0 ? (char)b : b <= 0xDF && b >= 0xA1 ? (char)(0xFF61 + (b - 0xA1)) : Undefined;
        }
        return t;
    }

    /// <summary>Every designation DICOM defines (used to recognise escape sequences).</summary>
    public static readonly GraphicSet[] All =
        [Ascii, JisRomaji, Latin1, Latin2, Latin3, Latin4, Cyrillic, Arabic, Greek, Hebrew, Latin5, Latin9, Thai, JisKatakana, JisX0208, JisX0212, KsX1001, Gb2312];

    public override string ToString() => $"{IsoIr} {Name}";
}
