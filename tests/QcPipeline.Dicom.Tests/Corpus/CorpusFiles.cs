namespace QcPipeline.Dicom.Tests.Corpus;

/// <summary>The corpus: every DICOM file shipped by Debian's python3-pydicom (test_files, its dicomdirtests tree, and
/// charset_files). DCMTK's Debian package ships no sample .dcm files. Files are named by their path under
/// <see cref="Root"/>, e.g. "test_files/CT_small.dcm".</summary>
public static class CorpusFiles
{
    public const string Root = "/usr/lib/python3/dist-packages/pydicom/data";

    public static string PathOf(string id) => Path.Combine(Root, id);

    private static readonly Lazy<IReadOnlyList<string>> AllLazy = new(() =>
    {
        var files = new List<string>();
        string testFiles = Path.Combine(Root, "test_files");
        if (Directory.Exists(testFiles))
        {
            files.AddRange(Directory.EnumerateFiles(testFiles, "*.dcm", SearchOption.TopDirectoryOnly));
            // The DICOMDIR test tree: DICOMDIR files and referenced images have no extension.
            string dicomdir = Path.Combine(testFiles, "dicomdirtests");
            if (Directory.Exists(dicomdir))
                files.AddRange(Directory.EnumerateFiles(dicomdir, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)));
        }
        string charset = Path.Combine(Root, "charset_files");
        if (Directory.Exists(charset)) files.AddRange(Directory.EnumerateFiles(charset, "*.dcm"));
        return files.Select(f => Path.GetRelativePath(Root, f)).Order(StringComparer.Ordinal).ToList();
    });

    /// <summary>Every corpus file, ordered.</summary>
    public static IReadOnlyList<string> All => AllLazy.Value;

    /// <summary>One entry per file for xunit's MemberData (each file is a test case).</summary>
    public static TheoryData<string> AsTheoryData(IEnumerable<string> ids)
    {
        var data = new TheoryData<string>();
        foreach (var id in ids) data.Add(id);
        return data;
    }

    /// <summary>A file that is broken on purpose: DCMTK refuses it too, and we must throw a
    /// <see cref="DicomFormatException"/> naming <paramref name="Tag"/> (null: no element) and an offset.</summary>
    public sealed record BrokenFile(DicomTag? Tag, string Why, string DcmtkSays);

    /// <summary>Files DCMTK refuses with its default options but reads with the options given, as we do.
    /// The agreement test compares our reading with DCMTK's reading under those options.</summary>
    public static IReadOnlyDictionary<string, (string[] Options, bool ImplicitVRDataset, string Why)> NeedDcmtkOptions { get; } = new Dictionary<string, (string[], bool, string)>
    {
        // The meta header says JPEG Baseline (explicit VR) but the dataset is written in implicit VR. Our parser reads an
        // element whose VR bytes are not letters as implicit VR; DCMTK does the same only with -vr ("assume implicit").
        ["test_files/SC_rgb_jpeg.dcm"] = (["-vr"], true, "explicit-VR transfer syntax, implicit-VR dataset"),
    };

    /// <summary>The files both readers refuse, with DCMTK 3.6.7's verdict for the record.</summary>
    public static IReadOnlyDictionary<string, BrokenFile> Broken { get; } = new Dictionary<string, BrokenFile>
    {
        ["test_files/MR_truncated.dcm"] = new(new DicomTag(0x7FE00010),
            "the file ends inside the Pixel Data value",
            "PixelData (7fe0,0010) larger (8192) than remaining bytes in file"),
        ["test_files/rtplan_truncated.dcm"] = new(new DicomTag(0x300A00B0),
            "the file ends inside the Beam Sequence; we stop at the sequence whose length runs past the end, DCMTK reads on into it and stops at the innermost cut element",
            "IsocenterPosition (300a,012c) larger (50) than remaining bytes (29) in file, premature end of stream"),
        ["test_files/no_meta.dcm"] = new(new DicomTag(0x08200500),
            "a bare dataset whose first byte is missing, so every tag is misaligned",
            "Unknown Tag & Data (0820,0500) larger (173228800) than remaining bytes in file"),
    };
}
