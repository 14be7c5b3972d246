using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Tests.Corpus;

/// <summary>Every corpus file that reads, written in every uncompressed syntax (encapsulated files in their own syntax
/// only) and read back: the dataset must come back the same.</summary>
public class RoundTripTests
{
    public static IReadOnlyList<TransferSyntax> UncompressedSyntaxes { get; } =
    [
        TransferSyntax.ImplicitVRLittleEndian,
        TransferSyntax.ExplicitVRLittleEndian,
        TransferSyntax.ExplicitVRBigEndian,
        TransferSyntax.DeflatedExplicitVRLittleEndian,
    ];

    /// <summary>The corpus files that read (all but the broken ones).</summary>
    public static IEnumerable<string> ReadableFiles => CorpusFiles.All.Where(f => !CorpusFiles.Broken.ContainsKey(f));

    public static TheoryData<string> Files => CorpusFiles.AsTheoryData(ReadableFiles);

    /// <summary>The syntaxes a file can be written in without recompressing its pixel data.</summary>
    public static IReadOnlyList<TransferSyntax> TargetsFor(DicomFile file) =>
        file.TransferSyntax.IsEncapsulated ? [file.TransferSyntax] : UncompressedSyntaxes;

    /// <summary>How to compare after writing in <paramref name="ts"/>: in implicit VR the VR read back comes from the
    /// dictionary, so (until the generated dictionary lands) a UN there matches any VR, and OB/OW, US/SS match.</summary>
    public static DatasetComparerOptions OptionsFor(TransferSyntax ts) => new() { VRsFromDictionary = !ts.IsExplicitVR };

    [Theory]
    [MemberData(nameof(Files))]
    public void Writes_and_reads_back_the_same_dataset(string file)
    {
        using var original = DicomFile.Open(CorpusFiles.PathOf(file));
        foreach (var ts in TargetsFor(original))
        {
            var bytes = original.ToBytes(ts);
            using var back = DicomFile.Read(bytes);
            Assert.Equal(ts, back.TransferSyntax);
            Assert.True(back.HadPreamble && back.HadFileMeta);
            Assert.Equal(ts.Uid, back.FileMetaInformation.GetString(new DicomTag(0x00020010)));
            DatasetComparer.AssertEqual(original.Dataset, back.Dataset, OptionsFor(ts), $"{file} via {ts}");

            // Writing what we read back gives the same bytes: the writer is deterministic and loses nothing on the second trip.
            Assert.Equal(bytes, back.ToBytes(ts));
        }
    }
}
