namespace QcPipeline.Dicom.Tests.Corpus;

/// <summary>Options for <see cref="DatasetComparer"/>.</summary>
public sealed record DatasetComparerOptions
{
    public static DatasetComparerOptions Default { get; } = new();

    /// <summary>Skip group length elements (gggg,0000) outside group 0002: they are retired (PS3.5 §7.2) and our
    /// writer drops them.</summary>
    public bool IgnoreGroupLengths { get; init; } = true;

    /// <summary>The second dataset's VRs come from the data dictionary (it went through implicit VR): a UN on either side
    /// matches any VR (a tag our dictionary does not know), and VRs the dictionary lists as alternatives (OB or OW for
    /// pixel data, US or SS, PS3.5 §A.1 and PS3.6 "US or SS") match each other. A UN element and a sequence still differ.</summary>
    public bool VRsFromDictionary { get; init; }

    /// <summary>Values equal but for one trailing padding byte (NUL or space) on one side are the same value
    /// (PS3.5 §6.2: odd-length values are padded to even length on writing).</summary>
    public bool IgnoreTrailingPadding { get; init; } = true;
}

/// <summary>Deep structural comparison of two datasets: the same tags in the same order, the same kind of item,
/// VRs, value bytes (modulo one trailing padding byte), sequence items recursively, and encapsulated pixel data
/// (offset table and every fragment). Reports every difference with its path, e.g. "(0008,1115)[0](0020,000E)".</summary>
public static class DatasetComparer
{
    public static List<string> Compare(DicomDataset expected, DicomDataset actual, DatasetComparerOptions? options = null)
    {
        var differences = new List<string>();
        CompareDataset(expected, actual, options ?? DatasetComparerOptions.Default, "", differences);
        return differences;
    }

    /// <summary>Fails the test with the first differences when the datasets differ.</summary>
    public static void AssertEqual(DicomDataset expected, DicomDataset actual, DatasetComparerOptions? options = null, string? context = null)
    {
        var d = Compare(expected, actual, options);
        Assert.True(d.Count == 0, $"{context}{(context is null ? "" : ": ")}{d.Count} differences:\n" + string.Join('\n', d.Take(30)));
    }

    private static void CompareDataset(DicomDataset expected, DicomDataset actual, DatasetComparerOptions o, string path, List<string> diffs)
    {
        var a = expected.Where(i => Keep(i, o)).ToList();
        var b = actual.Where(i => Keep(i, o)).ToList();
        int i = 0, j = 0;
        while (i < a.Count || j < b.Count)
        {
            if (j == b.Count || (i < a.Count && a[i].Tag < b[j].Tag)) { diffs.Add($"{path}{a[i].Tag}: missing from the second dataset"); i++; }
            else if (i == a.Count || b[j].Tag < a[i].Tag) { diffs.Add($"{path}{b[j].Tag}: only in the second dataset"); j++; }
            else { CompareItem(a[i], b[j], o, path + a[i].Tag, diffs); i++; j++; }
        }
    }

    private static bool Keep(DicomItem item, DatasetComparerOptions o) =>
        !(o.IgnoreGroupLengths && item.Tag.IsGroupLength && item.Tag.Group != 0x0002);

    private static void CompareItem(DicomItem x, DicomItem y, DatasetComparerOptions o, string path, List<string> diffs)
    {
        if (x.GetType() != y.GetType())
        {
            diffs.Add($"{path}: {x.GetType().Name} {x.VR.Code()} vs {y.GetType().Name} {y.VR.Code()}");
            return;
        }
        if (x.VR != y.VR && !(o.VRsFromDictionary && (x.VR == DicomVR.UN || y.VR == DicomVR.UN || (IsAmbiguousBinary(x.VR) && IsAmbiguousBinary(y.VR)))))
            diffs.Add($"{path}: VR {x.VR.Code()} vs {y.VR.Code()}");
        switch (x)
        {
            case DicomElement ex:
                var ey = (DicomElement)y;
                if (!SameValue(ex.Data.Span, ey.Data.Span, o)) diffs.Add($"{path}: value of {ex.Length} bytes vs {ey.Length} bytes differs");
                break;
            case DicomSequence sx:
                var sy = (DicomSequence)y;
                if (sx.Items.Count != sy.Items.Count) { diffs.Add($"{path}: {sx.Items.Count} items vs {sy.Items.Count}"); break; }
                for (int k = 0; k < sx.Items.Count; k++) CompareDataset(sx.Items[k], sy.Items[k], o, $"{path}[{k}]", diffs);
                break;
            case DicomFragmentSequence fx:
                var fy = (DicomFragmentSequence)y;
                if (!SameValue(fx.OffsetTable.Span, fy.OffsetTable.Span, o)) diffs.Add($"{path}: Basic Offset Table differs");
                if (fx.Fragments.Count != fy.Fragments.Count) { diffs.Add($"{path}: {fx.Fragments.Count} fragments vs {fy.Fragments.Count}"); break; }
                for (int k = 0; k < fx.Fragments.Count; k++)
                    if (!SameValue(fx.Fragments[k].Span, fy.Fragments[k].Span, o)) diffs.Add($"{path}[fragment {k + 1}]: {fx.Fragments[k].Length} vs {fy.Fragments[k].Length} bytes, differs");
                break;
        }
    }

    private static bool IsAmbiguousBinary(DicomVR vr) => vr is DicomVR.OB or DicomVR.OW or DicomVR.US or DicomVR.SS;

    /// <summary>Equal bytes, or (with <see cref="DatasetComparerOptions.IgnoreTrailingPadding"/>) equal but for one
    /// trailing NUL or space on the longer side.</summary>
    public static bool SameValue(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y, DatasetComparerOptions o)
    {
        if (x.SequenceEqual(y)) return true;
        if (!o.IgnoreTrailingPadding || Math.Abs(x.Length - y.Length) != 1) return false;
        var shorter = x.Length < y.Length ? x : y;
        var longer = x.Length < y.Length ? y : x;
        return longer[^1] is 0 or (byte)' ' && longer[..^1].SequenceEqual(shorter);
    }
}
