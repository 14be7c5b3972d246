using System.Text;

namespace QcPipeline.Analysis.Labels;

/// <summary>Why a decoded value looks like mojibake, and what it probably said.</summary>
internal sealed record MojibakeSign(string ReasonZh, string ReasonEn, string? Recovered);

/// <summary>Heuristics for text that decodes without error in its declared character set but is most likely the
/// bytes of another one (the classic case: GB18030/GBK bytes sent with ISO_IR 100 or no (0008,0005) at all).</summary>
/// <remarks>
/// Works on the decoded text, so it also catches text that went through one wrong conversion before it was encoded
/// in a multi-byte set (e.g. "Ã©" stored in UTF-8). Signs, in order:
/// <list type="number">
/// <item>U+FFFD (a decoder already gave up on some bytes) or a C1 control character U+0080–U+009F.</item>
/// <item>Every character is in Latin-1 and, taken back to Latin-1 bytes, the value is valid UTF-8 with non-ASCII
/// characters: UTF-8 read as Latin-1.</item>
/// <item>Every character is in Latin-1, every non-ASCII byte pairs up as a GB2312-range double byte (lead A1–F7,
/// trail A1–FE) and the GB18030 reading holds CJK ideographs: GB text read as Latin-1 ("Ð¡" = 小, "¶«" = 东).
/// Real Latin-1 names rarely have two accented letters in a row in every place (a lone "é" before an ASCII
/// letter breaks the pairing), which keeps French and German names out.</item>
/// </list>
/// Scripts outside Latin-1 (Cyrillic, Greek, Hebrew, Arabic, Thai, CJK) are never judged by signs 2 and 3.
/// </remarks>
internal static class TextQuality
{
    private static readonly Encoding Utf8Strict = new UTF8Encoding(false, true);
    private static readonly Encoding Gb18030 = CreateGb18030();

    private static Encoding CreateGb18030()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return Encoding.GetEncoding(54936, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
    }

    public static MojibakeSign? Inspect(string text)
    {
        bool allLatin1 = true, anyHigh = false;
        foreach (char c in text)
        {
            if (c == '\uFFFD') return new("含有替换字符 U+FFFD（字节无法解码）", "contains U+FFFD (bytes that could not be decoded)", null);
            if (c is >= '\u0080' and <= '\u009F') return new("含有 C1 控制字符", "contains a C1 control character", null);
            if (c > '\u00FF') allLatin1 = false;
            else if (c >= '\u00A0') anyHigh = true;
        }
        if (!allLatin1 || !anyHigh) return null;

        var bytes = Encoding.Latin1.GetBytes(text);
        try
        {
            var utf8 = Utf8Strict.GetString(bytes);
            return new("疑似 UTF-8 字节按 Latin-1 解读（乱码）", "looks like UTF-8 bytes read as Latin-1 (mojibake)", utf8);
        }
        catch (DecoderFallbackException) { }

        if (!PairsAsGb2312(bytes)) return null;
        string gb;
        try { gb = Gb18030.GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
        foreach (char c in gb)
        {
            if (c is >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF')
                return new("疑似 GB18030/GBK 中文按 Latin-1 解读（乱码）", "looks like GB18030/GBK Chinese read as Latin-1 (mojibake)", gb);
        }
        return null;
    }

    private static bool PairsAsGb2312(byte[] bytes)
    {
        int pairs = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            if (b < 0x80) continue;
            if (b is < 0xA1 or > 0xF7 || i + 1 >= bytes.Length || bytes[i + 1] is < 0xA1 or > 0xFE) return false;
            i++;
            pairs++;
        }
        return pairs > 0;
    }
}
