using System.Text;

namespace QcPipeline.Dicom.Network;

/// <summary>AE title rules of the upper layer: 16 bytes, space padded; leading/trailing spaces are not
/// significant; 1–16 characters of the default repertoire without backslash or control characters.</summary>
public static class AeTitle
{
    public const int Length = 16;

    /// <summary>The reason <paramref name="value"/> (already trimmed) is not a valid AE title, or null.</summary>
    public static string? Validate(string value)
    {
        if (value.Length == 0) return "AE title is empty";
        if (value.Length > Length) return $"AE title longer than {Length} characters";
        foreach (char c in value)
        {
            if (c == '\\') return "AE title contains a backslash";
            if (c < 0x20 || c >= 0x7F) return $"AE title contains character 0x{(int)c:X2}";
        }
        return null;
    }

    internal static void Write(string title, Span<byte> dest16)
    {
        var t = title.Trim(' ');
        if (Validate(t) is { } why) throw new ArgumentException($"{why}: '{title}'", nameof(title));
        dest16.Fill((byte)' ');
        Encoding.ASCII.GetBytes(t, dest16);
    }

    /// <summary>Decodes a 16-byte field; returns the trimmed title and whether it is valid.</summary>
    internal static string Read(ReadOnlySpan<byte> field16, out string? problem)
    {
        var s = Encoding.Latin1.GetString(field16).Trim(' ');
        problem = Validate(s);
        return s;
    }
}
