using QcPipeline.Dicom.CharacterSets;
using static QcPipeline.Dicom.Tests.CharacterSets.B;

namespace QcPipeline.Dicom.Tests.CharacterSets;

/// <summary>Chinese names written byte-exact into dump files, turned into DICOM files by dump2dcm, read back raw,
/// and decoded by us and by DCMTK (dcmdump +U8, iconv) — DCMTK is the oracle.</summary>
public sealed class DcmtkCorpusTests : IClassFixture<TempFolder>
{
    private readonly TempFolder _tmp;

    public DcmtkCorpusTests(TempFolder tmp) => _tmp = tmp;

    public static TheoryData<string, string, byte[], string> Cases => new()
    {
        { "gb18030", "GB18030", Cat(A("Wang^XiaoDong="), H(0xCD, 0xF5), A("^"), H(0xD0, 0xA1, 0xB6, 0xAB), A("=")), "Wang^XiaoDong=王^小东=" },
        { "gb18030-4byte", "GB18030", Cat(A("Chen^"), H(0x95, 0x32, 0x82, 0x36), H(0xA2, 0xE3)), "Chen^𠀀€" },
        // 乗 = 0x81 0x5C in GBK: the trail byte is the backslash code; the value has two values, not three.
        { "gbk-5c", "GBK", Cat(A("Wang^"), H(0x81, 0x5C), A("\\"), H(0xD0, 0xA1), A("^"), H(0x82, 0x5C)), "Wang^乗\\小^俓" },
        { "ir58", "\\ISO 2022 IR 58", Cat(A("Zhang^XiaoDong="), Es("$)A"), H(0xD5, 0xC5), A("^"), Es("$)A"), H(0xD0, 0xA1, 0xB6, 0xAB), A("=")), "Zhang^XiaoDong=张^小东=" },
        { "utf8", "ISO_IR 192", Cat(A("Wang^XiaoDong="), H(0xE7, 0x8E, 0x8B), A("^"), H(0xE5, 0xB0, 0x8F, 0xE6, 0x9D, 0xB1), A("=")), "Wang^XiaoDong=王^小東=" },
        // Mislabelled: GB18030 bytes declared Latin-1. Both sides must agree on the (wrong) Latin-1 reading.
        { "mislabelled", "ISO_IR 100", Cat(A("Wang^"), H(0xCD, 0xF5), A("^"), H(0xD0, 0xA1, 0xB6, 0xAB)), "Wang^Íõ^Ð¡¶«" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decode_matches_dcmtk(string name, string charset, byte[] nameBytes, string expected)
    {
        var file = Dcmtk.MakeFile(_tmp.Path, name, A(charset), nameBytes);
        var bytes = File.ReadAllBytes(file);
        var raw = RawElements.Find(bytes, 0x0010, 0x0010)!;
        var set = DicomCharacterSet.Parse(RawElements.Terms(bytes));

        var ours = set.Decode(raw, DicomVR.PN);
        Assert.Equal(expected, ours);
        Assert.Equal(Dcmtk.Utf8Value(file, "0010,0010"), ours);
    }

    [Fact]
    public void Gbk_value_multiplicity_comes_from_the_decoded_text()
    {
        var file = Dcmtk.MakeFile(_tmp.Path, "gbk-vm", A("GBK"), Cat(A("Wang^"), H(0x81, 0x5C), A("\\"), H(0xD0, 0xA1)));
        var raw = RawElements.Find(File.ReadAllBytes(file), 0x0010, 0x0010)!;
        Assert.Equal(["Wang^乗", "小"], DicomCharacterSet.Parse(["GBK"]).DecodeValues(raw, DicomVR.PN));
        Assert.Equal("Wang^乗\\小", Dcmtk.Utf8Value(file, "0010,0010"));
    }

    [Fact]
    public void Mislabelled_file_is_flagged_when_c1_bytes_appear()
    {
        // 乗 (0x81 0x5C) declared ISO_IR 100: 0x81 is a C1 control, not Latin-1 text.
        var file = Dcmtk.MakeFile(_tmp.Path, "mislabelled-c1", A("ISO_IR 100"), Cat(A("Wang^"), H(0x81, 0x5C)));
        var raw = RawElements.Find(File.ReadAllBytes(file), 0x0010, 0x0010)!;
        var set = DicomCharacterSet.Parse(["ISO_IR 100"]);
        Assert.False(set.TryDecode(raw, DicomVR.PN, out var text, out var problem));
        Assert.Equal("Wang^\u0081\\", text);
        Assert.Contains("C1 control byte 0x81 at offset 5", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Undeclared_gb18030_decodes_with_the_device_fallback()
    {
        var file = Dcmtk.MakeFile(_tmp.Path, "undeclared", [], Cat(A("Wang^"), H(0xCD, 0xF5)));
        var bytes = File.ReadAllBytes(file);
        var raw = RawElements.Find(bytes, 0x0010, 0x0010)!;
        var set = DicomCharacterSet.Parse(RawElements.Terms(bytes), DicomCharacterSets.GetEncodingForTerm("GB18030"));
        Assert.Equal("Wang^王", set.Decode(raw, DicomVR.PN));
    }
}
