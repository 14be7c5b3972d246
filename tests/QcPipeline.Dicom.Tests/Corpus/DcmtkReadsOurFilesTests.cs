using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Tests.Corpus;

/// <summary>Every corpus file we can read, written by us in each syntax of <see cref="RoundTripTests.TargetsFor"/>,
/// then given to DCMTK: dcmftest must call it a Part 10 file, dcmdump must read it without any warning or error it
/// did not already give for the original, and DCMTK must read the same elements and values as we do.
/// DCMTK runs once for all written files (see <see cref="DcmtkDump"/>), in a fixture shared by the test cases.</summary>
public sealed class DcmtkReadsOurFilesFixture : IDisposable
{
    private readonly TestFiles.TempDir _dir = new();

    public sealed record Written(string Path, TransferSyntax Syntax);

    public Dictionary<string, List<Written>> ByFile { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Part10 { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, DcmtkFileDump> Dumps { get; }

    public DcmtkReadsOurFilesFixture()
    {
        int n = 0;
        var all = new List<string>();
        foreach (var file in RoundTripTests.ReadableFiles)
        {
            using var f = DicomFile.Open(CorpusFiles.PathOf(file));
            var list = new List<Written>();
            foreach (var ts in RoundTripTests.TargetsFor(f))
            {
                string path = _dir.File($"{n++:D4}.dcm");
                f.Save(path, ts);
                list.Add(new Written(path, ts));
                all.Add(path);
            }
            ByFile[file] = list;
        }
        // dcmftest prints "yes: <file>" or "no: <file>" per file.
        var ftest = Dcmtk.Run("dcmftest", all, TimeSpan.FromSeconds(120));
        foreach (var line in ftest.StdOut.Split('\n'))
            if (line.StartsWith("yes: ", StringComparison.Ordinal)) Part10.Add(line[5..].Trim());
        Dumps = DcmtkDump.Run(all);
    }

    public void Dispose() => _dir.Dispose();
}

public class DcmtkReadsOurFilesTests(DcmtkReadsOurFilesFixture fixture) : IClassFixture<DcmtkReadsOurFilesFixture>
{
    public static TheoryData<string> Files => RoundTripTests.Files;

    [Theory]
    [MemberData(nameof(Files))]
    public void DCMTK_reads_what_we_write(string file)
    {
        var originalDump = DcmtkAgreementTests.DcmtkReadings.Value[CorpusFiles.PathOf(file)];
        var before = Normalise(originalDump.Diagnostics, CorpusFiles.PathOf(file));
        foreach (var w in fixture.ByFile[file])
        {
            string what = $"{file} written as {w.Syntax}";
            Assert.True(fixture.Part10.Contains(w.Path), $"{what}: dcmftest does not call it a DICOM file");

            var dump = fixture.Dumps[w.Path];
            Assert.True(dump.Readable, $"{what}: DCMTK cannot read it:\n" + string.Join('\n', dump.Diagnostics));
            var added = Normalise(dump.Diagnostics, w.Path).Except(before)
                // In implicit VR a private sequence its dictionary does not know reaches DCMTK as an unknown element of
                // undefined length, which it reads as a sequence (PS3.5 §6.2.2) and says so (its "CP-246" notice). That
                // is what our writer intends; the comparison below checks DCMTK found the same items.
                .Where(l => w.Syntax.IsExplicitVR || !l.Contains("(CP-246)", StringComparison.Ordinal))
                .ToList();
            Assert.True(added.Count == 0, $"{what}: DCMTK says what it did not say about the original:\n" + string.Join('\n', added));

            using var ours = DicomFile.Open(w.Path);
            var report = DcmtkAgreement.Compare(ours.Dataset, dump.Dataset, new DcmtkAgreement.Context(w.Syntax.IsExplicitVR, true, dump.ImplicitSequenceTags));
            var meta = DcmtkAgreement.Compare(ours.FileMetaInformation, dump.Meta, new DcmtkAgreement.Context(true, true, dump.ImplicitSequenceTags), "meta");
            var diffs = meta.Differences.Concat(report.Differences).ToList();
            Assert.True(diffs.Count == 0, $"{what}: DCMTK reads it differently:\n" + string.Join('\n', diffs.Take(30)));
        }
    }

    /// <summary>Diagnostics without the file name, so that those for the original and for our copy compare.</summary>
    private static HashSet<string> Normalise(IEnumerable<string> lines, string path) =>
        lines.Select(l => l.Replace(path, "<file>", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
}
