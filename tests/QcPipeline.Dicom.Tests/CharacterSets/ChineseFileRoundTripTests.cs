using QcPipeline.Dicom.IO;
using static QcPipeline.Dicom.Tests.CharacterSets.B;

namespace QcPipeline.Dicom.Tests.CharacterSets;

/// <summary>The whole stack on Chinese names: files made by DCMTK's dump2dcm are read by DicomFile, decoded through
/// the dataset's character set, written back (as they were, and converted to UTF-8 and GB18030), and DCMTK
/// (dcmdump +U8) reads what we wrote as the same name.</summary>
public sealed class ChineseFileRoundTripTests : IClassFixture<TempFolder>
{
    private static readonly DicomTag PatientName = new(0x00100010);
    private readonly TempFolder _tmp;

    public ChineseFileRoundTripTests(TempFolder tmp) => _tmp = tmp;

    public static TheoryData<string, string, byte[], string> Cases => DcmtkCorpusTests.Cases;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads_decodes_and_writes_back(string name, string charset, byte[] nameBytes, string expected)
    {
        var source = Dcmtk.MakeFile(_tmp.Path, "rt-" + name, A(charset), nameBytes);
        using var file = DicomFile.Open(source);
        Assert.Equal(expected, file.Dataset.GetString(PatientName));

        // As it was: the same bytes, so DCMTK decodes the same name.
        var same = Path.Combine(_tmp.Path, "rt-" + name + "-same.dcm");
        file.Save(same);
        Assert.Equal(Dcmtk.Utf8Value(source, "0010,0010"), Dcmtk.Utf8Value(same, "0010,0010"));

        foreach (var target in new[] { "ISO_IR 192", "GB18030" })
        {
            var copy = file.Dataset.Clone();
            copy.ConvertCharacterSet(target);
            var path = Path.Combine(_tmp.Path, $"rt-{name}-{target.Replace(' ', '_')}.dcm");
            new DicomFile(copy).Save(path);
            Assert.Equal(expected, Dcmtk.Utf8Value(path, "0010,0010"));
            using var back = DicomFile.Open(path);
            Assert.Equal(target, back.Dataset.GetString(new DicomTag(0x00080005)));
            Assert.Equal(expected, back.Dataset.GetString(PatientName));
        }
    }

    [Fact]
    public void A_new_name_set_through_the_dataset_is_encoded_in_its_declared_set()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomTag(0x00080005), DicomVR.CS, "GB18030");
        ds.AddOrUpdate(new DicomTag(0x00080016), DicomVR.UI, "1.2.840.10008.5.1.4.1.1.7");
        ds.AddOrUpdate(new DicomTag(0x00080018), DicomVR.UI, "1.2.3.4");
        ds.AddOrUpdate(PatientName, DicomVR.PN, "水模^测试=");
        ds.AddOrUpdate(new DicomTag(0x00080080), DicomVR.LO, "北京协和医院 BJHR");
        var path = Path.Combine(_tmp.Path, "new-gb18030.dcm");
        new DicomFile(ds).Save(path);
        Assert.Equal("水模^测试=", Dcmtk.Utf8Value(path, "0010,0010"));
        Assert.Equal("北京协和医院 BJHR", Dcmtk.Utf8Value(path, "0008,0080"));
        // GB18030 bytes of 水 are CB AE.
        Assert.Equal([0xCB, 0xAE], ds.GetElement(PatientName)!.Data.Span[..2].ToArray());
    }
}
