using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace QcPipeline.Dicom.Tests.Corpus;

/// <summary>One data element as DCMTK's <c>dcmdump</c> reports it.</summary>
public sealed class DcmtkElement
{
    public required DicomTag Tag { get; init; }
    /// <summary>The VR DCMTK settled on (from the file when explicit, else from DCMTK's full dictionary). DCMTK's
    /// internal "up" (a UL offset in a DICOMDIR) is reported as UL, its "??" (no dictionary entry) as UN.</summary>
    public required string VR { get; init; }
    /// <summary>The value length as DCMTK read it; null for undefined length.</summary>
    public uint? Length { get; init; }
    /// <summary>Value text (strings, numbers in decimal, AT as "(gggg,eeee)"; values joined by '\'). Bytes outside
    /// printable ASCII are mapped one to one onto chars (Latin-1), whatever the character set.</summary>
    public string? Text { get; set; }
    /// <summary>Raw value bytes for OB/OW/UN (little-endian order).</summary>
    public byte[]? Binary { get; set; }
    /// <summary>Items of a sequence (VR SQ), else null.</summary>
    public List<List<DcmtkElement>>? Items { get; init; }
    /// <summary>Encapsulated pixel data: the items in order, the first being the Basic Offset Table; else null.</summary>
    public List<byte[]>? PixelItems { get; init; }
}

/// <summary>What DCMTK read from one file.</summary>
public sealed class DcmtkFileDump
{
    public required string File { get; init; }
    /// <summary>False when DCMTK refused the file (printed no dataset; see <see cref="Diagnostics"/>).</summary>
    public bool Readable { get; set; }
    public List<DcmtkElement> Meta { get; } = [];
    public List<DcmtkElement> Dataset { get; } = [];
    /// <summary>DCMTK's name for the syntax it read the dataset in, e.g. "Little Endian Explicit".</summary>
    public string DatasetTransferSyntax { get; set; } = "";
    /// <summary>DCMTK's "E:"/"W:" lines for this file.</summary>
    public List<string> Diagnostics { get; } = [];

    /// <summary>Tags DCMTK read as UN of undefined length holding implicit VR LE (its CP-246 warning, PS3.5 §6.2.2).</summary>
    public HashSet<DicomTag> ImplicitSequenceTags { get; } = [];
}

/// <summary>Runs <c>dcmdump</c> over many files in one process (starting a process costs a lot more than dumping a
/// file) and parses its output. Options: +F file headers, +L whole values, -Un UIDs as numbers, +Qn non-ASCII and
/// control bytes quoted as XML character references (so every line is one element). stdout is line-buffered so
/// that each file's warnings on stderr land inside its own section.</summary>
public static partial class DcmtkDump
{
    public static Dictionary<string, DcmtkFileDump> Run(IReadOnlyList<string> paths, IEnumerable<string>? extraOptions = null, TimeSpan? timeout = null)
    {
        var result = new Dictionary<string, DcmtkFileDump>(StringComparer.Ordinal);
        if (paths.Count == 0) return result;
        var args = new List<string> { "-c", "exec stdbuf -oL dcmdump +F +L -Un +Qn \"$@\" 2>&1", "sh" };
        if (extraOptions is not null) args.AddRange(extraOptions);
        args.AddRange(paths);
        var run = Dcmtk.Run("sh", args, timeout ?? TimeSpan.FromSeconds(120));
        Parse(Encoding.ASCII.GetString(run.StdOutBytes), paths, result);
        return result;
    }

    public static DcmtkFileDump Run(string path) => Run([path])[path];

    private static void Parse(string output, IReadOnlyList<string> paths, Dictionary<string, DcmtkFileDump> result)
    {
        DcmtkFileDump? current = null;
        List<DcmtkElement>? top = null;
        // Open containers: a list of elements to append to, and the sequence/pixel element it belongs to.
        var stack = new Stack<(List<DcmtkElement> List, DcmtkElement? Owner)>();
        foreach (var rawLine in output.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            var header = FileHeader().Match(line);
            if (header.Success)
            {
                int index = int.Parse(header.Groups[1].Value, CultureInfo.InvariantCulture) - 1;
                current = new DcmtkFileDump { File = paths[index] };
                result[paths[index]] = current;
                top = null;
                stack.Clear();
                continue;
            }
            if (current is null) continue;
            if (line.StartsWith("E:", StringComparison.Ordinal) || line.StartsWith("W:", StringComparison.Ordinal) || line.StartsWith("F:", StringComparison.Ordinal))
            {
                current.Diagnostics.Add(line);
                var cp246 = Cp246().Match(line);
                if (cp246.Success) current.ImplicitSequenceTags.Add(DicomTag.Parse(cp246.Groups[1].Value));
                continue;
            }
            if (line.StartsWith("# Dicom-Meta-Information-Header", StringComparison.Ordinal)) { top = current.Meta; stack.Clear(); stack.Push((top, null)); continue; }
            if (line.StartsWith("# Dicom-Data-Set", StringComparison.Ordinal)) { current.Readable = true; top = current.Dataset; stack.Clear(); stack.Push((top, null)); continue; }
            if (line.StartsWith("# Used TransferSyntax: ", StringComparison.Ordinal))
            {
                if (ReferenceEquals(top, current.Dataset)) current.DatasetTransferSyntax = line["# Used TransferSyntax: ".Length..].Trim();
                continue;
            }
            if (top is null) continue;
            var m = ElementLine().Match(line);
            if (!m.Success) continue;
            var tag = new DicomTag(ushort.Parse(m.Groups["g"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), ushort.Parse(m.Groups["e"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            string vr = m.Groups["vr"].Value;
            string value = m.Groups["val"].Value.TrimEnd();
            uint? length = m.Groups["len"].Value == "u/l" ? null : uint.Parse(m.Groups["len"].Value, CultureInfo.InvariantCulture);

            if (tag == DicomTag.Item)
            {
                var (_, owner) = stack.Peek();
                if (owner?.PixelItems is { } pixelItems) { pixelItems.Add(vr == "pi" ? ParseBinary(value, "OB") : []); continue; }
                if (owner?.Items is not { } items) throw new InvalidDataException($"{current.File}: item outside a sequence: {line}");
                var item = new List<DcmtkElement>();
                items.Add(item);
                stack.Push((item, null));
                continue;
            }
            if (tag == DicomTag.ItemDelimitationItem) { stack.Pop(); continue; }
            if (tag == DicomTag.SequenceDelimitationItem) { stack.Pop(); continue; }

            DcmtkElement e;
            if (vr == "SQ" || value.StartsWith("(Sequence with", StringComparison.Ordinal))
            {
                e = new DcmtkElement { Tag = tag, VR = "SQ", Length = length, Items = [] };
                stack.Peek().List.Add(e);
                stack.Push(([], e));
                continue;
            }
            if (value.StartsWith("(PixelSequence", StringComparison.Ordinal))
            {
                e = new DcmtkElement { Tag = tag, VR = vr, Length = length, PixelItems = [] };
                stack.Peek().List.Add(e);
                stack.Push(([], e));
                continue;
            }
            vr = vr switch { "up" => "UL", "??" => "UN", _ => vr };
            e = new DcmtkElement { Tag = tag, VR = vr, Length = length };
            if (value == "(no value available)") e.Text = "";
            else if (vr is "OB" or "OW" or "UN") e.Binary = ParseBinary(value, vr);
            else if (value.StartsWith('[') && value.EndsWith(']')) e.Text = Unquote(value[1..^1]);
            else e.Text = value;
            stack.Peek().List.Add(e);
        }
    }

    /// <summary>dcmdump prints OB/UN as hex bytes and OW as hex 16-bit words, separated by '\'.</summary>
    private static byte[] ParseBinary(string value, string vr)
    {
        if (value.Length == 0 || value.StartsWith('(')) return [];
        var parts = value.Split('\\');
        bool words = vr == "OW";
        var bytes = new byte[parts.Length * (words ? 2 : 1)];
        for (int i = 0; i < parts.Length; i++)
        {
            uint v = uint.Parse(parts[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (words) { bytes[2 * i] = (byte)v; bytes[2 * i + 1] = (byte)(v >> 8); }
            else bytes[i] = (byte)v;
        }
        return bytes;
    }

    /// <summary>Undoes +Qn quoting: "&amp;#233;" is the byte 233, and the five XML entities.</summary>
    private static string Unquote(string s)
    {
        if (!s.Contains('&', StringComparison.Ordinal)) return s;
        return Entity().Replace(s, m => m.Groups[1].Value switch
        {
            "amp" => "&", "lt" => "<", "gt" => ">", "quot" => "\"", "apos" => "'",
            var n when n.StartsWith('#') => ((char)int.Parse(n[1..], CultureInfo.InvariantCulture)).ToString(),
            _ => m.Value,
        });
    }

    [GeneratedRegex(@"^# dcmdump \((\d+)/\d+\): ")]
    private static partial Regex FileHeader();

    [GeneratedRegex(@"^\s*\((?<g>[0-9a-f]{4}),(?<e>[0-9a-f]{4})\) (?<vr>\S\S) (?<val>.*?)\s*#\s*(?<len>u/l|\d+),\s*(?<vm>\d+)\s+(?<name>[^#]*)$")]
    private static partial Regex ElementLine();

    [GeneratedRegex(@"&(amp|lt|gt|quot|apos|#\d+);")]
    private static partial Regex Entity();

    [GeneratedRegex(@"Found element \(([0-9a-fA-F]{4},[0-9a-fA-F]{4})\) with VR UN and undefined length")]
    private static partial Regex Cp246();
}
