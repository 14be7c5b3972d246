using QcPipeline.Dicom.CharacterSets;

namespace QcPipeline.Dicom.Tests.CharacterSets;

/// <summary>pydicom's charset test files (real files written by others). PatientName raw bytes are decoded by us and
/// compared with DCMTK's UTF-8 conversion; where DCMTK (built with glibc iconv) cannot convert ISO 2022 IR 87, with
/// the names documented in the corpus' FileInfo.txt / PS3.5 Annex H.</summary>
public class PydicomCorpusTests
{
    private const string Dir = "/usr/lib/python3/dist-packages/pydicom/data/charset_files";

    public static TheoryData<string, string?> Files => new()
    {
        { "chrArab.dcm", null }, { "chrFren.dcm", null }, { "chrFrenMulti.dcm", null }, { "chrGerm.dcm", null },
        { "chrGreek.dcm", null }, { "chrHbrw.dcm", null }, { "chrRuss.dcm", null }, { "chrI2.dcm", null },
        { "chrKoreanMulti.dcm", null }, { "chrX1.dcm", null }, { "chrX2.dcm", null },
        // DCMTK/iconv: "'ISO 2022 IR 87' is not supported" — expected values from FileInfo.txt and PS3.5 H.3.
        { "chrH31.dcm", "Yamada^Tarou=山田^太郎=やまだ^たろう" },
        { "chrH32.dcm", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう" },
        { "chrJapMulti.dcm", "やまだ^たろう" },
        { "chrJapMultiExplicitIR6.dcm", "やまだ^たろう" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Patient_name_matches_reference(string fileName, string? expectedWhereDcmtkCannot)
    {
        var path = Path.Combine(Dir, fileName);
        var bytes = File.ReadAllBytes(path);
        var raw = RawElements.Find(bytes, 0x0010, 0x0010)!;
        var set = DicomCharacterSet.Parse(RawElements.Terms(bytes));

        Assert.True(set.TryDecode(raw, DicomVR.PN, out var ours, out var problem), problem);
        var expected = expectedWhereDcmtkCannot ?? Dcmtk.Utf8Value(path, "0010,0010");
        Assert.NotNull(expected);
        Assert.Equal(expected, ours);
        if (expectedWhereDcmtkCannot is not null) Assert.Null(Dcmtk.Utf8Value(path, "0010,0010")); // still unsupported by DCMTK here
    }

    [Theory]
    [InlineData("chrH31.dcm")]
    [InlineData("chrH32.dcm")]
    [InlineData("chrI2.dcm")]
    [InlineData("chrX1.dcm")]
    [InlineData("chrX2.dcm")]
    [InlineData("chrGreek.dcm")]
    public void Re_encoding_in_the_declared_set_reproduces_the_file_bytes(string fileName)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Dir, fileName));
        var raw = RawElements.Find(bytes, 0x0010, 0x0010)!;
        var set = DicomCharacterSet.Parse(RawElements.Terms(bytes));
        var text = set.Decode(raw, DicomVR.PN);
        var unpadded = raw.AsSpan().TrimEnd((byte)' ').ToArray();
        Assert.Equal(Convert.ToHexString(unpadded), Convert.ToHexString(set.Encode(text, DicomVR.PN)));
    }
}
