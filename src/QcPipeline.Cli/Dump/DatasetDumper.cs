using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using QcPipeline.Dicom;

namespace QcPipeline.Cli.Dump;

/// <summary>How <c>qc dump</c> prints values.</summary>
/// <param name="MaxValueLength">longest printed value in characters before it is cut with "..."; 0 prints everything</param>
/// <param name="ShowKeywords">append the dictionary keyword to each line</param>
public sealed record DumpOptions(int MaxValueLength = 64, bool ShowKeywords = true);

/// <summary>Prints a dataset in the shape of DCMTK's dcmdump: one line per element,
/// <c>(gggg,eeee) VR value  # length, VM keyword</c>, sequence items and encapsulated fragments indented below
/// their element. Text goes through the dataset's Specific Character Set (PS3.5 §6.1).</summary>
public sealed class DatasetDumper(TextWriter output, DumpOptions options)
{
    private const int IndentStep = 2;
    /// <summary>The "#" column, counted from the line's indentation (dcmdump aligns the same way).</summary>
    private const int CommentColumn = 50;

    public void DumpFile(DicomFile file)
    {
        output.WriteLine("# File Meta Information");
        if (file.HadFileMeta) DumpDataset(file.FileMetaInformation, 0);
        else output.WriteLine("# (none: a bare dataset" + (file.HadPreamble ? " after the preamble" : "") + ")");
        output.WriteLine("# Dataset");
        output.WriteLine($"# Transfer syntax: {file.TransferSyntax.Name} ({file.TransferSyntax.Uid})");
        DumpDataset(file.Dataset, 0);
        if (file.PixelDataOffset >= 0)
            output.WriteLine($"# Pixel data not read (header only); its element starts at byte {file.PixelDataOffset}");
    }

    public void DumpDataset(DicomDataset dataset, int depth)
    {
        foreach (var item in dataset)
        {
            switch (item)
            {
                case DicomElement e:
                    Line(depth, e.Tag, e.VR.Code(), RenderValue(dataset, e), e.Length.ToString(CultureInfo.InvariantCulture), Multiplicity(dataset, e), KeywordOf(e.Tag));
                    break;
                case DicomSequence sq:
                    // The reader keeps items, not the sequence's encoded length, so the length column shows "-".
                    Line(depth, sq.Tag, "SQ", $"(Sequence with {Count(sq.Items.Count, "item")})", "-", 1, KeywordOf(sq.Tag));
                    for (int i = 0; i < sq.Items.Count; i++)
                    {
                        Structural(depth + 1, DicomTag.Item, "na", $"(Item {i + 1} of {sq.Items.Count}, {Count(sq.Items[i].Count, "element")})");
                        DumpDataset(sq.Items[i], depth + 2);
                    }
                    break;
                case DicomFragmentSequence f:
                    DumpFragments(depth, f);
                    break;
            }
        }
    }

    /// <summary>Encapsulated pixel data (PS3.5 §A.4): always undefined length; the first item is the Basic Offset Table.</summary>
    private void DumpFragments(int depth, DicomFragmentSequence f)
    {
        Line(depth, f.Tag, f.VR.Code(), $"(PixelSequence with {Count(f.Fragments.Count, "fragment")})", "u/l", 1, KeywordOf(f.Tag));
        var table = f.OffsetTable.Span;
        string tableValue = table.IsEmpty ? "(Basic Offset Table, empty)" : "(Basic Offset Table) " + Numbers(table, 4, static s => BinaryPrimitives.ReadUInt32LittleEndian(s).ToString(CultureInfo.InvariantCulture));
        Line(depth + 1, DicomTag.Item, "pi", tableValue, table.Length.ToString(CultureInfo.InvariantCulture), table.Length / 4, "Item");
        for (int i = 0; i < f.Fragments.Count; i++)
        {
            var fragment = f.Fragments[i].Span;
            Line(depth + 1, DicomTag.Item, "pi", fragment.IsEmpty ? "(no value available)" : HexBytes(fragment), fragment.Length.ToString(CultureInfo.InvariantCulture), 1, $"Item (fragment {i + 1})");
        }
    }

    private void Line(int depth, DicomTag tag, string vr, string value, string length, int vm, string keyword)
    {
        var indent = new string(' ', depth * IndentStep);
        var left = $"{indent}{tag} {vr} {value}";
        var comment = $"# {length,3}, {vm}";
        if (options.ShowKeywords && keyword.Length > 0) comment += " " + keyword;
        output.WriteLine(left.PadRight(indent.Length + CommentColumn) + " " + comment);
    }

    private void Structural(int depth, DicomTag tag, string vr, string text) =>
        output.WriteLine($"{new string(' ', depth * IndentStep)}{tag} {vr} {text}");

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    // ------------------------------------------------------------------ values

    private string RenderValue(DicomDataset dataset, DicomElement e)
    {
        if (e.Length == 0) return "(no value available)";
        var span = e.Data.Span;
        switch (e.VR)
        {
            case DicomVR.US: return Numbers(span, 2, static s => BinaryPrimitives.ReadUInt16LittleEndian(s).ToString(CultureInfo.InvariantCulture));
            case DicomVR.SS: return Numbers(span, 2, static s => BinaryPrimitives.ReadInt16LittleEndian(s).ToString(CultureInfo.InvariantCulture));
            case DicomVR.UL: case DicomVR.OL: return Numbers(span, 4, static s => BinaryPrimitives.ReadUInt32LittleEndian(s).ToString(CultureInfo.InvariantCulture));
            case DicomVR.SL: return Numbers(span, 4, static s => BinaryPrimitives.ReadInt32LittleEndian(s).ToString(CultureInfo.InvariantCulture));
            case DicomVR.UV: case DicomVR.OV: return Numbers(span, 8, static s => BinaryPrimitives.ReadUInt64LittleEndian(s).ToString(CultureInfo.InvariantCulture));
            case DicomVR.SV: return Numbers(span, 8, static s => BinaryPrimitives.ReadInt64LittleEndian(s).ToString(CultureInfo.InvariantCulture));
            case DicomVR.FL: case DicomVR.OF: return Numbers(span, 4, static s => BinaryPrimitives.ReadSingleLittleEndian(s).ToString(CultureInfo.InvariantCulture));
            case DicomVR.FD: case DicomVR.OD: return Numbers(span, 8, static s => BinaryPrimitives.ReadDoubleLittleEndian(s).ToString(CultureInfo.InvariantCulture));
            case DicomVR.AT: return Numbers(span, 4, static s => new DicomTag(BinaryPrimitives.ReadUInt16LittleEndian(s), BinaryPrimitives.ReadUInt16LittleEndian(s[2..])).ToString());
            case DicomVR.OW: return Numbers(span, 2, static s => BinaryPrimitives.ReadUInt16LittleEndian(s).ToString("x4", CultureInfo.InvariantCulture));
            case DicomVR.UN:
                // Without a dictionary entry an implicit-VR element reads as UN; show it as text when it plainly is text.
                return LooksLikeText(span) ? Bracketed(Encoding.ASCII.GetString(span).TrimEnd(' ', '\0')) : HexBytes(span);
            default:
                if (e.VR.IsString()) return Bracketed(string.Join('\\', dataset.GetStrings(e.Tag)));
                return HexBytes(span); // OB and anything unforeseen
        }
    }

    private string Bracketed(string text) => "[" + Truncate(Printable(text)) + "]";

    /// <summary>Binary values, '\'-separated; formatting stops once the text is past the length limit.</summary>
    private string Numbers(ReadOnlySpan<byte> span, int unit, Func<ReadOnlySpan<byte>, string> format)
    {
        var sb = new StringBuilder();
        int n = span.Length / unit;
        for (int i = 0; i < n; i++)
        {
            if (i > 0) sb.Append('\\');
            sb.Append(format(span.Slice(i * unit, unit)));
            if (options.MaxValueLength > 0 && sb.Length > options.MaxValueLength) break;
        }
        if (span.Length % unit != 0) sb.Append(n > 0 ? "\\" : "").Append("(+").Append(span.Length % unit).Append(" odd bytes)");
        return Truncate(sb.ToString());
    }

    private string HexBytes(ReadOnlySpan<byte> span) => Numbers(span, 1, static s => s[0].ToString("x2", CultureInfo.InvariantCulture));

    private string Truncate(string text)
    {
        int max = options.MaxValueLength;
        if (max <= 0 || text.Length <= max) return text;
        int cut = char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        return string.Concat(text.AsSpan(0, cut), "...");
    }

    /// <summary>One line per element: control characters (CR/LF in LT/ST/UT text, ESC of ISO 2022) print as '.'.</summary>
    private static string Printable(string text)
    {
        if (!text.Any(char.IsControl)) return text;
        return string.Create(text.Length, text, static (dst, src) => { for (int i = 0; i < src.Length; i++) dst[i] = char.IsControl(src[i]) ? '.' : src[i]; });
    }

    private static bool LooksLikeText(ReadOnlySpan<byte> span)
    {
        var trimmed = span.TrimEnd((byte)0).TrimEnd((byte)' ');
        if (trimmed.IsEmpty) return false;
        foreach (var b in trimmed) if (b < 0x20 || b > 0x7E) return false;
        return true;
    }

    /// <summary>Value multiplicity as stored: values of a string, numbers of a binary VR; 1 for byte/word data and UN.</summary>
    private static int Multiplicity(DicomDataset dataset, DicomElement e)
    {
        if (e.Length == 0) return 0;
        if (e.VR.IsString()) return e.VR.IsSingleValued() ? 1 : dataset.GetStrings(e.Tag).Length;
        return e.VR switch
        {
            DicomVR.US or DicomVR.SS => e.Length / 2,
            DicomVR.UL or DicomVR.SL or DicomVR.FL or DicomVR.AT => e.Length / 4,
            DicomVR.FD or DicomVR.SV or DicomVR.UV => e.Length / 8,
            _ => 1,
        };
    }

    private static string KeywordOf(DicomTag tag) => DicomDictionary.GetKeyword(tag);
}
