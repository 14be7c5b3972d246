namespace QcPipeline.Dicom.Tests.Corpus;

/// <summary>Every corpus file read by us and by DCMTK (dcm2xml), compared element by element.</summary>
public class DcmtkAgreementTests
{
    /// <summary>A difference from DCMTK that is understood and accepted. <paramref name="Path"/> is the element path
    /// as the comparer prints it, e.g. "(0008,1115)[0](0020,000E)".</summary>
    public sealed record KnownDifference(string File, string Path, string Reason);

    /// <summary>Every accepted difference. A test fails if one of these no longer happens, so the table stays true.</summary>
    public static IReadOnlyList<KnownDifference> KnownDifferences { get; } =
    [
        // A 9-byte value (odd length, against PS3.5 §7.1.1) inside an implicit-VR UN sequence. DCMTK warns "Length of
        // element (0001,0002) is odd" and pads its in-memory copy to 10 bytes; we keep the 9 bytes the file holds
        // (the writer adds the padding byte, PS3.5 §6.2).
        new("test_files/meta_missing_tsyntax.dcm", "(0001,0001)[0](0001,0002)", "odd length kept as read; DCMTK pads to even in memory"),
        new("test_files/nested_priv_SQ.dcm", "(0001,0001)[0](0001,0002)", "odd length kept as read; DCMTK pads to even in memory"),
    ];

    public static TheoryData<string> Files => CorpusFiles.AsTheoryData(CorpusFiles.All);

    [Fact]
    public void Corpus_is_there()
    {
        Assert.True(CorpusFiles.All.Count >= 150, $"only {CorpusFiles.All.Count} corpus files: is python3-pydicom installed?");
        Assert.True(Dcmtk.IsAvailable, "DCMTK is not installed (scripts/test.sh installs it)");
    }

    /// <summary>DCMTK's reading of every corpus file, made once (one dcmdump process for all files).</summary>
    internal static readonly Lazy<Dictionary<string, DcmtkFileDump>> DcmtkReadings =
        new(() =>
        {
            var all = DcmtkDump.Run(CorpusFiles.All.Where(f => !CorpusFiles.NeedDcmtkOptions.ContainsKey(f)).Select(CorpusFiles.PathOf).ToList());
            foreach (var (file, (options, _, _)) in CorpusFiles.NeedDcmtkOptions)
                foreach (var (path, dump) in DcmtkDump.Run([CorpusFiles.PathOf(file)], options)) all[path] = dump;
            return all;
        });

    /// <summary>DCMTK's names for the transfer syntaxes we can check by UID.</summary>
    private static readonly Dictionary<string, string> DcmtkSyntaxNames = new(StringComparer.Ordinal)
    {
        ["Little Endian Implicit"] = "1.2.840.10008.1.2",
        ["Little Endian Explicit"] = "1.2.840.10008.1.2.1",
        ["Deflated Explicit VR Little Endian"] = "1.2.840.10008.1.2.1.99",
        ["Big Endian Explicit"] = "1.2.840.10008.1.2.2",
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Reads_like_DCMTK(string file)
    {
        string path = CorpusFiles.PathOf(file);
        var dump = DcmtkReadings.Value[path];

        if (CorpusFiles.Broken.TryGetValue(file, out var broken))
        {
            Assert.False(dump.Readable, $"DCMTK now reads {file}; it is listed as broken");
            var ex = Assert.Throws<DicomFormatException>(() => DicomFile.Open(path));
            Assert.Equal(broken.Tag, ex.Tag);
            Assert.True(ex.Offset >= 0, ex.Message);
            Assert.Contains($"offset {ex.Offset}", ex.Message, StringComparison.Ordinal);
            return;
        }
        Assert.True(dump.Readable, $"DCMTK cannot read {file}:\n" + string.Join('\n', dump.Diagnostics));

        using var ours = DicomFile.Open(path);
        if (DcmtkSyntaxNames.TryGetValue(dump.DatasetTransferSyntax, out var uid)) Assert.Equal(uid, ours.TransferSyntax.Uid);
        else Assert.True(ours.TransferSyntax.IsEncapsulated, $"DCMTK read {dump.DatasetTransferSyntax}, we read {ours.TransferSyntax}");

        var metaReport = DcmtkAgreement.Compare(ours.FileMetaInformation, dump.Meta, new DcmtkAgreement.Context(true, true, dump.ImplicitSequenceTags), "meta");
        var report = DcmtkAgreement.Compare(ours.Dataset, dump.Dataset,
            new DcmtkAgreement.Context(ours.TransferSyntax.IsExplicitVR && !(CorpusFiles.NeedDcmtkOptions.TryGetValue(file, out var o) && o.ImplicitVRDataset),
                CompareCharsetText: true, dump.ImplicitSequenceTags));

        var found = metaReport.Differences.Concat(report.Differences).ToList();
        var known = KnownDifferences.Where(k => k.File == file).ToList();
        var unexpected = found.Where(d => !known.Any(k => k.Path == d.Path)).ToList();
        var stale = known.Where(k => !found.Any(d => d.Path == k.Path)).ToList();
        Assert.True(unexpected.Count == 0, $"{file}: {unexpected.Count} differences from DCMTK:\n" + string.Join('\n', unexpected.Take(40)));
        Assert.True(stale.Count == 0, $"{file}: known differences that no longer occur:\n" + string.Join('\n', stale));
        Assert.True(report.ElementsCompared > 0);
    }
}
