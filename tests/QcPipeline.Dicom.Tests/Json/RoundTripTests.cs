using QcPipeline.Dicom.Json;

namespace QcPipeline.Dicom.Tests.Json;

/// <summary>dataset → JSON → dataset keeps every value, for every corpus file our reader reads.</summary>
public class RoundTripTests
{
    private static readonly DicomTag SpecificCharacterSet = new(0x00080005);

    public static TheoryData<string> CorpusFiles()
    {
        var data = new TheoryData<string>();
        foreach (var dir in new[] { TestFiles.PydicomTestFiles, TestFiles.PydicomCharsetFiles })
            foreach (var f in Directory.EnumerateFiles(dir, "*.dcm").Order(StringComparer.Ordinal)) data.Add(Path.GetRelativePath(Path.GetDirectoryName(dir)!, f));
        return data;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Every_value_survives_the_round_trip(string name)
    {
        var path = Path.Combine(Path.GetDirectoryName(TestFiles.PydicomTestFiles)!, name);
        DicomFile file;
        try { file = DicomFile.Open(path); }
        catch (DicomFormatException) { return; } // files our reader rejects (truncated, no_meta.dcm) are the reader's tests
        using (file)
        {
            var json = DicomJson.SerializeToUtf8Bytes(file.Dataset);
            var back = DicomJson.Deserialize(json);
            var diffs = new List<string>();
            CompareDatasets(file.Dataset, back, "", diffs);
            Assert.True(diffs.Count == 0, string.Join('\n', diffs));
        }
    }

    internal static void CompareDatasets(DicomDataset a, DicomDataset b, string path, List<string> diffs)
    {
        foreach (var item in a)
        {
            string p = path + item.Tag;
            if (item.Tag.IsGroupLength) { if (b.Contains(item.Tag)) diffs.Add($"{p}: group length written"); continue; }
            if (!b.TryGet(item.Tag, out var other)) { diffs.Add($"{p}: missing"); continue; }
            var vr = item.VR == DicomVR.None ? DicomVR.UN : item.VR;
            if (vr != other.VR) { diffs.Add($"{p}: VR {item.VR.Code()} → {other.VR.Code()}"); continue; }
            switch (item)
            {
                case DicomSequence sq:
                    var osq = (DicomSequence)other;
                    if (sq.Items.Count != osq.Items.Count) { diffs.Add($"{p}: {sq.Items.Count} items → {osq.Items.Count}"); break; }
                    for (int i = 0; i < sq.Items.Count; i++) CompareDatasets(sq.Items[i], osq.Items[i], $"{p}[{i}] ", diffs);
                    break;
                case DicomFragmentSequence f:
                    if (other is not DicomFragmentSequence of) { diffs.Add($"{p}: fragments became {other.GetType().Name}"); break; }
                    if (!f.OffsetTable.Span.SequenceEqual(of.OffsetTable.Span)) diffs.Add($"{p}: offset table differs");
                    if (f.Fragments.Count != of.Fragments.Count) { diffs.Add($"{p}: {f.Fragments.Count} fragments → {of.Fragments.Count}"); break; }
                    for (int i = 0; i < f.Fragments.Count; i++) if (!f.Fragments[i].Span.SequenceEqual(of.Fragments[i].Span)) diffs.Add($"{p}: fragment {i} differs");
                    break;
                case DicomElement e:
                    var oe = (DicomElement)other;
                    if (item.Tag == SpecificCharacterSet && b.GetString(SpecificCharacterSet) == "ISO_IR 192") break; // text re-encoded as UTF-8 on purpose
                    if (!vr.IsString())
                    {
                        if (!SameBinary(e, oe, vr)) diffs.Add($"{p}: {vr.Code()} bytes differ ({e.Length} vs {oe.Length})");
                        break;
                    }
                    var va = Normalize(a.GetStrings(e.Tag), vr);
                    var vb = Normalize(b.GetStrings(oe.Tag), vr);
                    if (!va.SequenceEqual(vb, vr is DicomVR.DS or DicomVR.IS ? NumericText.Instance : StringComparer.Ordinal))
                        diffs.Add($"{p}: [{string.Join('|', va)}] → [{string.Join('|', vb)}]");
                    break;
            }
        }
        foreach (var item in b) if (!a.Contains(item.Tag) && item.Tag != SpecificCharacterSet) diffs.Add($"{path}{item.Tag}: added");
    }

    private static bool SameBinary(DicomElement a, DicomElement b, DicomVR vr)
    {
        if (a.Data.Span.SequenceEqual(b.Data.Span)) return true;
        // An odd-length value (malformed) is padded to even length when read back, as every DICOM value must be.
        if ((a.Length & 1) == 1 && b.Length == a.Length + 1 && b.Data.Span[^1] == 0 && a.Data.Span.SequenceEqual(b.Data.Span[..a.Length])) return true;
        // A binary numeric value of odd length (malformed) loses its partial last value: compare the whole values.
        int unit = vr == DicomVR.AT ? 4 : vr.BinaryUnitSize();
        if (unit <= 1) return false;
        int whole = a.Length / unit * unit;
        return b.Length == whole && a.Data.Span[..whole].SequenceEqual(b.Data.Span);
    }

    /// <summary>Same meaning, different text: one empty value is no value; a PN group of only '^' is empty and trailing
    /// empty groups ("Wang^XiaoDong=王^小東=") are dropped, as the JSON model has no way to carry them.</summary>
    private static string[] Normalize(string[] values, DicomVR vr)
    {
        if (vr == DicomVR.PN)
        {
            values = [.. values.Select(v =>
            {
                var groups = v.Split('=').Select(g => g.TrimEnd('^').Length == 0 ? "" : g).ToList();
                while (groups.Count > 0 && groups[^1].Length == 0) groups.RemoveAt(groups.Count - 1);
                return string.Join('=', groups);
            })];
        }
        return values.Length == 1 && values[0].Length == 0 ? [] : values;
    }

    private sealed class NumericText : IEqualityComparer<string>
    {
        public static readonly NumericText Instance = new();
        public bool Equals(string? x, string? y) =>
            x == y || (DicomValues.TryParseDS(x ?? "", out var a) && DicomValues.TryParseDS(y ?? "", out var b) && a == b);
        public int GetHashCode(string obj) => 0;
    }
}
