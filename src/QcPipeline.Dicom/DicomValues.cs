using System.Globalization;

namespace QcPipeline.Dicom;

/// <summary>Parsing of string-encoded numbers, dates and times by their VR rules (PS3.5 §6.2).</summary>
public static class DicomValues
{
    /// <summary>Strips the padding a VR allows: trailing spaces (and NUL, which some writers use), and for
    /// the VRs where leading spaces are insignificant, those too (PS3.5 Table 6.2-1).</summary>
    public static string TrimValue(string value, DicomVR vr)
    {
        var s = value.AsSpan().TrimEnd(" \0");
        if (vr is DicomVR.AE or DicomVR.CS or DicomVR.DS or DicomVR.IS or DicomVR.LO or DicomVR.SH or DicomVR.TM or DicomVR.DA or DicomVR.DT or DicomVR.AS or DicomVR.UI or DicomVR.UC or DicomVR.PN)
            s = s.TrimStart(' ');
        return s.Length == value.Length ? value : s.ToString();
    }

    /// <summary>IS: an integer string, optional sign, leading/trailing spaces allowed (PS3.5 §6.2).</summary>
    public static bool TryParseIS(ReadOnlySpan<char> s, out long value) =>
        long.TryParse(s.Trim(" \0"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    /// <summary>DS: a fixed or floating point decimal string (PS3.5 §6.2).</summary>
    public static bool TryParseDS(ReadOnlySpan<char> s, out double value) =>
        double.TryParse(s.Trim(" \0"), NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    /// <summary>Formats a DS value in at most 16 characters (PS3.5 §6.2: DS max length 16 bytes).</summary>
    public static string FormatDS(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) throw new ArgumentOutOfRangeException(nameof(v), "DS cannot hold NaN or infinity");
        var s = v.ToString("R", CultureInfo.InvariantCulture);
        if (s.Length <= 16) return s;
        for (int digits = 15; digits > 0; digits--)
        {
            s = v.ToString("G" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            if (s.Length <= 16) return s;
        }
        return s;
    }

    /// <summary>DA: YYYYMMDD; the ACR-NEMA form YYYY.MM.DD is accepted on read (PS3.5 §6.2, note).</summary>
    public static bool TryParseDA(ReadOnlySpan<char> text, out DateOnly date)
    {
        date = default;
        scoped ReadOnlySpan<char> s = text.Trim(" \0");
        Span<char> buf = stackalloc char[8];
        if (s.Length == 10 && s[4] == '.' && s[7] == '.')
        {
            s[..4].CopyTo(buf); s.Slice(5, 2).CopyTo(buf[4..]); s.Slice(8, 2).CopyTo(buf[6..]);
            s = buf;
        }
        if (s.Length != 8) return false;
        if (!TryDigits(s[..4], out int y) || !TryDigits(s.Slice(4, 2), out int m) || !TryDigits(s.Slice(6, 2), out int d)) return false;
        if (y < 1 || m < 1 || m > 12 || d < 1 || d > DateTime.DaysInMonth(y, m)) return false;
        date = new DateOnly(y, m, d);
        return true;
    }

    /// <summary>TM: HH[MM[SS[.F{1,6}]]]; the ACR-NEMA form HH:MM:SS is accepted on read (PS3.5 §6.2).</summary>
    public static bool TryParseTM(ReadOnlySpan<char> text, out TimeOnly time)
    {
        time = default;
        scoped ReadOnlySpan<char> s = text.Trim(" \0");
        Span<char> buf = stackalloc char[16];
        if (s.Contains(':'))
        {
            int n = 0;
            foreach (var c in s) { if (c != ':') { if (n == buf.Length) return false; buf[n++] = c; } }
            s = buf[..n];
        }
        if (s.Length < 2) return false;
        int h, mi = 0, sec = 0; long ticks = 0;
        if (!TryDigits(s[..2], out h)) return false;
        if (s.Length >= 4 && !TryDigits(s.Slice(2, 2), out mi)) return false;
        if (s.Length == 3 || s.Length == 5) return false;
        if (s.Length >= 6 && !TryDigits(s.Slice(4, 2), out sec)) return false;
        if (s.Length > 6)
        {
            if (s[6] != '.' || s.Length == 7 || s.Length > 13) return false;
            var frac = s[7..];
            if (!TryDigits(frac, out int f)) return false;
            for (int i = frac.Length; i < 7; i++) f *= 10; // to 100 ns ticks
            ticks = f;
        }
        if (h > 23 || mi > 59 || sec > 60) return false;
        if (sec == 60) sec = 59; // leap second: PS3.5 allows 60
        time = new TimeOnly(h, mi, sec).Add(TimeSpan.FromTicks(ticks));
        return true;
    }

    /// <summary>DT: YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&amp;ZZXX] (PS3.5 §6.2). Missing parts take their lowest value.</summary>
    public static bool TryParseDT(ReadOnlySpan<char> s, out DateTimeOffset value, out bool hasOffset)
    {
        value = default; hasOffset = false;
        s = s.Trim(" \0");
        TimeSpan offset = TimeSpan.Zero;
        int signAt = s.IndexOfAny('+', '-');
        if (signAt >= 0)
        {
            var z = s[signAt..];
            if (z.Length != 5 || !TryDigits(z.Slice(1, 2), out int zh) || !TryDigits(z.Slice(3, 2), out int zm)) return false;
            offset = new TimeSpan(zh, zm, 0) * (z[0] == '-' ? -1 : 1);
            hasOffset = true;
            s = s[..signAt];
        }
        if (s.Length < 4) return false;
        if (!TryDigits(s[..4], out int y)) return false;
        int mo = 1, d = 1;
        if (s.Length >= 6 && !TryDigits(s.Slice(4, 2), out mo)) return false;
        if (s.Length >= 8 && !TryDigits(s.Slice(6, 2), out d)) return false;
        if (s.Length is 5 or 7 or 9) return false;
        if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > DateTime.DaysInMonth(y, mo)) return false;
        var time = TimeOnly.MinValue;
        if (s.Length > 8 && !TryParseTM(s[8..], out time)) return false;
        try { value = new DateTimeOffset(new DateOnly(y, mo, d).ToDateTime(time), offset); }
        catch (ArgumentOutOfRangeException) { return false; }
        return true;
    }

    /// <summary>Splits a range value "A-B", "-B" or "A-" (PS3.4 C.2.2.2.5 range matching, also used by DA/TM/DT values).</summary>
    public static (string Lower, string Upper, bool IsRange) SplitRange(string value)
    {
        // For DT the '-' may also be a UTC offset sign; a range of DTs has the '-' at a length that is not an offset.
        int i = value.IndexOf('-', StringComparison.Ordinal);
        if (i < 0) return (value, value, false);
        return (value[..i], value[(i + 1)..], true);
    }

    private static bool TryDigits(ReadOnlySpan<char> s, out int v)
    {
        v = 0;
        if (s.IsEmpty) return false;
        foreach (var c in s)
        {
            if (c < '0' || c > '9') return false;
            v = v * 10 + (c - '0');
        }
        return true;
    }
}

/// <summary>A person name (PN, PS3.5 §6.2.1): up to three component groups (alphabetic, ideographic, phonetic)
/// separated by '=', each with five components separated by '^'.</summary>
public sealed record DicomPersonName(string Alphabetic, string Ideographic, string Phonetic)
{
    public static DicomPersonName Parse(string value)
    {
        var groups = value.Split('=');
        return new DicomPersonName(groups[0], groups.Length > 1 ? groups[1] : "", groups.Length > 2 ? groups[2] : "");
    }

    public static IReadOnlyList<string> Components(string group)
    {
        var parts = group.Split('^');
        var result = new string[5];
        for (int i = 0; i < 5; i++) result[i] = i < parts.Length ? parts[i] : "";
        return result;
    }

    public string FamilyName => Components(Alphabetic)[0];
    public string GivenName => Components(Alphabetic)[1];
    public string MiddleName => Components(Alphabetic)[2];
    public string Prefix => Components(Alphabetic)[3];
    public string Suffix => Components(Alphabetic)[4];

    public override string ToString()
    {
        if (Phonetic.Length > 0) return $"{Alphabetic}={Ideographic}={Phonetic}";
        if (Ideographic.Length > 0) return $"{Alphabetic}={Ideographic}";
        return Alphabetic;
    }
}
