using System.Text;

namespace QcPipeline.Analysis.Labels;

/// <summary>A mark found in an institution name.</summary>
/// <param name="Text">As written (e.g. "ＢＪＨＲ", "bjhr").</param>
/// <param name="Mark">Folded to ASCII upper case (e.g. "BJHR").</param>
/// <param name="IsNonStandard">Written with full-width letters or in lower case: recognised, but not the standard form.</param>
/// <param name="BeforeName">Placed before the institution name instead of after it (DB11 §5.2.2.1).</param>
public sealed record HrMarkToken(string Text, string Mark, bool IsNonStandard, bool BeforeName);

/// <summary>An institution name split into the name proper and the marks around it.</summary>
public sealed record ParsedInstitutionName(string Name, IReadOnlyList<HrMarkToken> Marks);

/// <summary>Splits mutual-recognition marks (DB11 §5.2.2: HR, BJHR, JJJHR, ...) out of Institution Name (0008,0080).</summary>
/// <remarks>A mark is a run of Latin letters (ASCII or full-width) of the form [A-Z]{0,4}HR, case-insensitive, that
/// stands alone between separators — space (also U+3000), 、, ASCII or full-width parentheses, hyphens (ASCII,
/// full-width, en/em dash), commas, slashes — or where Chinese text meets Latin letters ("医院BJHR"). Everything that
/// is not a mark or a separator is the name.</remarks>
public static class HrMarkParser
{
    private const string Separators = " \t\u3000、()（）-－–—,，/／|｜_·.。:：[]【】";

    public static bool IsSeparator(char c) => Separators.Contains(c, StringComparison.Ordinal) || char.IsWhiteSpace(c);

    /// <summary>[A-Z]{0,4}HR in ASCII upper case.</summary>
    public static bool LooksLikeMark(string upper)
    {
        if (upper.Length is < 2 or > 6 || !upper.EndsWith("HR", StringComparison.Ordinal)) return false;
        foreach (char c in upper) if (c is < 'A' or > 'Z') return false;
        return true;
    }

    public static ParsedInstitutionName Parse(string value)
    {
        var marks = new List<(int Start, int End, string Text, string Mark, bool NonStandard)>();
        int i = 0;
        while (i < value.Length)
        {
            if (!IsLatinLetter(value[i])) { i++; continue; }
            int start = i;
            while (i < value.Length && IsLatinLetter(value[i])) i++;
            // A letter run glued to digits or other symbols (e.g. "CT-2HR") is not a standalone mark.
            bool boundedLeft = start == 0 || IsSeparator(value[start - 1]) || IsCjk(value[start - 1]);
            bool boundedRight = i == value.Length || IsSeparator(value[i]) || IsCjk(value[i]);
            if (!boundedLeft || !boundedRight) continue;
            string run = value[start..i];
            string folded = FoldWidth(run);
            string upper = folded.ToUpperInvariant();
            if (!LooksLikeMark(upper)) continue;
            marks.Add((start, i, run, upper, folded != run || folded != upper));
        }

        var name = new StringBuilder(value.Length);
        int firstNameChar = -1, last = 0;
        foreach (var m in marks)
        {
            AppendName(value, last, m.Start, name, ref firstNameChar);
            last = m.End;
        }
        AppendName(value, last, value.Length, name, ref firstNameChar);
        string nameText = CleanName(name.ToString());

        var tokens = marks.Select(m => new HrMarkToken(m.Text, m.Mark, m.NonStandard, firstNameChar >= 0 && m.Start < firstNameChar)).ToArray();
        return new ParsedInstitutionName(nameText, tokens);
    }

    private static void AppendName(string value, int from, int to, StringBuilder name, ref int firstNameChar)
    {
        for (int k = from; k < to; k++)
        {
            if (firstNameChar < 0 && !IsSeparator(value[k])) firstNameChar = k;
        }
        name.Append(value, from, to - from).Append(' ');
    }

    /// <summary>Removes separators at both ends and empty bracket pairs left behind by removed marks.</summary>
    private static string CleanName(string s)
    {
        string prev;
        do
        {
            prev = s;
            s = s.Replace("( )", "", StringComparison.Ordinal).Replace("()", "", StringComparison.Ordinal)
                 .Replace("（ ）", "", StringComparison.Ordinal).Replace("（）", "", StringComparison.Ordinal);
            s = s.Trim().Trim(Separators.ToCharArray());
        } while (s != prev);
        return s;
    }

    /// <summary>The name as compared with the registry: full-width forms folded to ASCII, spaces removed, upper case.</summary>
    public static string NormalizeName(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (char c in FoldWidth(name))
        {
            if (char.IsWhiteSpace(c)) continue;
            sb.Append(char.ToUpperInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>Full-width ASCII variants (U+FF01–U+FF5E) to ASCII, ideographic space to space.</summary>
    public static string FoldWidth(string s)
    {
        bool any = false;
        foreach (char c in s) if (c is >= '\uFF01' and <= '\uFF5E' or '\u3000') { any = true; break; }
        if (!any) return s;
        var chars = s.ToCharArray();
        for (int k = 0; k < chars.Length; k++)
        {
            if (chars[k] is >= '\uFF01' and <= '\uFF5E') chars[k] = (char)(chars[k] - 0xFEE0);
            else if (chars[k] == '\u3000') chars[k] = ' ';
        }
        return new string(chars);
    }

    private static bool IsLatinLetter(char c) => c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '\uFF21' and <= '\uFF3A' or >= '\uFF41' and <= '\uFF5A';

    private static bool IsCjk(char c) => c is >= '\u3400' and <= '\u9FFF' or >= '\uF900' and <= '\uFAFF';
}
