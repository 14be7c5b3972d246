using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace QcPipeline.Dicom.Tests.Corpus;

/// <summary>Compares a dataset we read with what DCMTK read from the same file, element by element, including
/// the contents of sequence items and encapsulated pixel data.
/// <para>Values are compared through DCMTK's VR: our bytes are decoded as the VR DCMTK reports, so the comparison
/// stays right whether our dictionary knows the tag or not (with the temporary dictionary stub, implicit-VR files
/// give VR UN for most tags). VRs themselves are compared where the file spelled them out (explicit VR); where the
/// VR came from a dictionary, a UN on our side is noted as dictionary-dependent instead.</para></summary>
public static class DcmtkAgreement
{
    public sealed record Difference(string Path, string Detail)
    {
        public override string ToString() => $"{Path}: {Detail}";
    }

    public sealed class Report
    {
        public List<Difference> Differences { get; } = [];
        /// <summary>Where our answer depends on the data dictionary (VR UN for an implicit-VR element, or a defined-length
        /// implicit-VR sequence read as UN bytes). These agree once the generated dictionary lands.</summary>
        public List<string> DictionaryDependent { get; } = [];
        public int ElementsCompared { get; set; }
        internal void Diff(string path, string detail) => Differences.Add(new Difference(path, detail));
    }

    /// <summary>How to compare one (sub)dataset.</summary>
    /// <param name="ExplicitVR">the VRs here were written in the file</param>
    /// <param name="CompareCharsetText">compare values of the VRs that Specific Character Set affects</param>
    /// <param name="ImplicitSequenceTags">tags DCMTK read as UN of undefined length holding implicit VR LE (PS3.5 §6.2.2)</param>
    public sealed record Context(bool ExplicitVR, bool CompareCharsetText, IReadOnlySet<DicomTag> ImplicitSequenceTags);

    public static Report Compare(DicomDataset ours, IReadOnlyList<DcmtkElement> theirs, Context ctx, string path = "")
    {
        var report = new Report();
        CompareDataset(ours, theirs, ctx, path, report);
        return report;
    }

    private static void CompareDataset(DicomDataset ours, IReadOnlyList<DcmtkElement> theirs, Context ctx, string path, Report r)
    {
        var o = ours.ToList();
        int i = 0, j = 0;
        while (i < o.Count || j < theirs.Count)
        {
            if (j == theirs.Count || (i < o.Count && o[i].Tag < theirs[j].Tag))
            {
                r.Diff(path + o[i].Tag, $"only we have it ({o[i].VR.Code()})");
                i++;
            }
            else if (i == o.Count || theirs[j].Tag < o[i].Tag)
            {
                r.Diff(path + theirs[j].Tag, $"only DCMTK has it ({theirs[j].VR})");
                j++;
            }
            else
            {
                CompareItem(o[i], theirs[j], ctx, path + o[i].Tag, r);
                i++; j++;
            }
        }
    }

    private static void CompareItem(DicomItem ours, DcmtkElement theirs, Context ctx, string path, Report r)
    {
        r.ElementsCompared++;
        if (theirs.PixelItems is { } pixelItems)
        {
            if (ours is not DicomFragmentSequence f) { r.Diff(path, $"DCMTK has encapsulated pixel data, we have {ours.GetType().Name}"); return; }
            if (f.VR.Code() != theirs.VR && ctx.ExplicitVR) r.Diff(path, $"VR {f.VR.Code()} vs DCMTK {theirs.VR}");
            if (pixelItems.Count != f.Fragments.Count + 1) { r.Diff(path, $"{f.Fragments.Count + 1} items (offset table + fragments) vs DCMTK {pixelItems.Count}"); return; }
            if (!f.OffsetTable.Span.SequenceEqual(pixelItems[0])) r.Diff(path, "Basic Offset Table differs");
            for (int k = 0; k < f.Fragments.Count; k++)
                if (!f.Fragments[k].Span.SequenceEqual(pixelItems[k + 1])) r.Diff($"{path}[fragment {k + 1}]", $"fragment of {f.Fragments[k].Length} bytes differs from DCMTK's {pixelItems[k + 1].Length}");
            return;
        }

        if (theirs.Items is { } theirItems)
        {
            bool innerExplicit = ctx.ExplicitVR && !ctx.ImplicitSequenceTags.Contains(theirs.Tag);
            var inner = ctx with { ExplicitVR = innerExplicit };
            if (ours is DicomSequence sq)
            {
                if (sq.Items.Count != theirItems.Count) { r.Diff(path, $"{sq.Items.Count} items vs DCMTK {theirItems.Count}"); return; }
                for (int k = 0; k < sq.Items.Count; k++) CompareDataset(sq.Items[k], theirItems[k], inner, $"{path}[{k}]", r);
                return;
            }
            if (ours is DicomElement { VR: DicomVR.UN } un && !ctx.ExplicitVR)
            {
                // Implicit VR, defined length, tag not in our dictionary: we hold the encoded items as UN bytes.
                r.DictionaryDependent.Add($"{path}: sequence of defined length read as UN bytes");
                var reparsed = ReparseImplicitSequence(un.Data);
                if (reparsed.Items.Count != theirItems.Count) { r.Diff(path, $"{reparsed.Items.Count} items vs DCMTK {theirItems.Count}"); return; }
                for (int k = 0; k < reparsed.Items.Count; k++) CompareDataset(reparsed.Items[k], theirItems[k], inner, $"{path}[{k}]", r);
                return;
            }
            r.Diff(path, $"DCMTK has a sequence, we have {ours.GetType().Name} {ours.VR.Code()}");
            return;
        }

        if (ours is not DicomElement e) { r.Diff(path, $"DCMTK has a value element ({theirs.VR}), we have {ours.GetType().Name}"); return; }

        if (e.VR.Code() != theirs.VR)
        {
            if (e.VR == DicomVR.UN && !ctx.ExplicitVR) r.DictionaryDependent.Add($"{path}: VR UN vs DCMTK {theirs.VR}");
            else r.Diff(path, $"VR {e.VR.Code()} vs DCMTK {theirs.VR}");
        }
        if (theirs.Length is { } len && len != (uint)e.Length) r.Diff(path, $"length {e.Length} vs DCMTK {len}");

        if (theirs.Binary is { } bytes)
        {
            if (!e.Data.Span.SequenceEqual(bytes)) r.Diff(path, $"value bytes differ ({e.Length} vs DCMTK {bytes.Length} bytes)");
            return;
        }
        if (!IsCharsetAffected(theirs.VR) || ctx.CompareCharsetText)
        {
            var problem = CompareValue(e.Data.Span, theirs.VR, theirs.Text ?? "");
            if (problem is not null) r.Diff(path, problem);
        }
    }

    private static bool IsCharsetAffected(string vr) => vr is "LO" or "LT" or "PN" or "SH" or "ST" or "UC" or "UT";

    /// <summary>Our bytes decoded as <paramref name="vr"/> against DCMTK's text for the value; null when they agree.</summary>
    public static string? CompareValue(ReadOnlySpan<byte> b, string vr, string theirText)
    {
        switch (vr)
        {
            case "US": return CompareNumbers(Decode(b, 2, s => BinaryPrimitives.ReadUInt16LittleEndian(s).ToString(CultureInfo.InvariantCulture)), theirText);
            case "SS": return CompareNumbers(Decode(b, 2, s => BinaryPrimitives.ReadInt16LittleEndian(s).ToString(CultureInfo.InvariantCulture)), theirText);
            case "UL" or "OL": return CompareNumbers(Decode(b, 4, s => BinaryPrimitives.ReadUInt32LittleEndian(s).ToString(CultureInfo.InvariantCulture)), theirText);
            case "SL": return CompareNumbers(Decode(b, 4, s => BinaryPrimitives.ReadInt32LittleEndian(s).ToString(CultureInfo.InvariantCulture)), theirText);
            case "UV" or "OV": return CompareNumbers(Decode(b, 8, s => BinaryPrimitives.ReadUInt64LittleEndian(s).ToString(CultureInfo.InvariantCulture)), theirText);
            case "SV": return CompareNumbers(Decode(b, 8, s => BinaryPrimitives.ReadInt64LittleEndian(s).ToString(CultureInfo.InvariantCulture)), theirText);
            case "AT": return CompareNumbers(Decode(b, 4, s => $"({BinaryPrimitives.ReadUInt16LittleEndian(s):x4},{BinaryPrimitives.ReadUInt16LittleEndian(s[2..]):x4})"), theirText);
            // Equals: exact, NaN equals NaN, and -0 equals 0 (DCMTK prints -0 as "0").
            case "FL" or "OF":
                return CompareFloats(b, 4, theirText, (s, t) => BinaryPrimitives.ReadSingleLittleEndian(s).Equals((float)t));
            case "FD" or "OD":
                return CompareFloats(b, 8, theirText, (s, t) => BinaryPrimitives.ReadDoubleLittleEndian(s).Equals(t));
            default:
                var ours = Text(b, vr);
                var theirs = SplitText(theirText, vr);
                if (ours.Length != theirs.Length) return $"{ours.Length} values vs DCMTK {theirs.Length} (\"{string.Join('\\', ours)}\" vs \"{theirText}\")";
                for (int i = 0; i < ours.Length; i++)
                    if (ours[i] != theirs[i]) return $"value {i + 1} \"{ours[i]}\" vs DCMTK \"{theirs[i]}\"";
                return null;
        }
    }

    private static string[] Decode(ReadOnlySpan<byte> b, int unit, Func<ReadOnlySpan<byte>, string> one)
    {
        var result = new string[b.Length / unit];
        for (int i = 0; i < result.Length; i++) result[i] = one(b.Slice(i * unit, unit));
        return result;
    }

    private static string? CompareNumbers(string[] ours, string theirText)
    {
        var theirs = theirText.Length == 0 ? [] : theirText.Split('\\');
        if (ours.Length != theirs.Length) return $"{ours.Length} values vs DCMTK {theirs.Length}";
        for (int i = 0; i < ours.Length; i++)
            if (!string.Equals(ours[i], theirs[i].Trim(), StringComparison.OrdinalIgnoreCase)) return $"value {i + 1} {ours[i]} vs DCMTK {theirs[i]}";
        return null;
    }

    private static string? CompareFloats(ReadOnlySpan<byte> b, int unit, string theirText, SpanPredicate same)
    {
        var theirs = theirText.Length == 0 ? [] : theirText.Split('\\');
        if (b.Length / unit != theirs.Length) return $"{b.Length / unit} values vs DCMTK {theirs.Length}";
        for (int i = 0; i < theirs.Length; i++)
        {
            if (!double.TryParse(theirs[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var t))
                t = theirs[i].Trim().ToUpperInvariant() switch { "NAN" or "-NAN" => double.NaN, "INF" => double.PositiveInfinity, "-INF" => double.NegativeInfinity, _ => double.NaN };
            if (!same(b.Slice(i * unit, unit), t)) return $"value {i + 1} differs from DCMTK {theirs[i]}";
        }
        return null;
    }

    private delegate bool SpanPredicate(ReadOnlySpan<byte> s, double t);

    /// <summary>Our value as trimmed strings, split into values unless the VR is single-valued (PS3.5 §6.4).
    /// Bytes map to chars one to one (Latin-1), as on DCMTK's side; XML has normalised line ends to LF.</summary>
    public static string[] Text(ReadOnlySpan<byte> b, string vr) => SplitText(Encoding.Latin1.GetString(b), vr);

    private static string[] SplitText(string s, string vr)
    {
        s = s.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        bool single = vr is "LT" or "ST" or "UT" or "UR";
        var values = single ? [s] : s.Split('\\');
        for (int i = 0; i < values.Length; i++) values[i] = values[i].Trim(' ', '\0');
        if (values.Length == 1 && values[0].Length == 0) return [];
        return values;
    }

    /// <summary>Reads UN bytes that hold the items of an implicit VR LE sequence (what an implicit-VR SQ of defined
    /// length looks like when the tag is not in the dictionary) by wrapping them in an undefined-length element.</summary>
    public static DicomSequence ReparseImplicitSequence(ReadOnlyMemory<byte> items)
    {
        // (0009,1000), a private tag: implicit VR UN with undefined length is a sequence (PS3.5 §6.2.2).
        var buffer = new byte[8 + items.Length + 8];
        ReadOnlySpan<byte> header = [0x09, 0x00, 0x00, 0x10, 0xFF, 0xFF, 0xFF, 0xFF];
        header.CopyTo(buffer);
        items.Span.CopyTo(buffer.AsSpan(8));
        ReadOnlySpan<byte> end = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];
        end.CopyTo(buffer.AsSpan(8 + items.Length));
        using var f = DicomFile.Read(buffer);
        return f.Dataset.GetSequence(new DicomTag(0x00091000)) ?? throw new InvalidDataException("UN bytes did not parse as a sequence");
    }
}
