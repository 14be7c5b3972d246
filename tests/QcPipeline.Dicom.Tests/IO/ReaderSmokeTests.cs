using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Tests.IO;

public class ReaderSmokeTests
{
    [Fact]
    public void Reads_CT_small_header_and_pixels()
    {
        using var f = DicomFile.Open(TestFiles.Pydicom("CT_small.dcm"));
        Assert.True(f.HadPreamble);
        Assert.Equal(TransferSyntax.ExplicitVRLittleEndian, f.TransferSyntax);
        Assert.Equal("CompressedSamples^CT1", f.Dataset.GetString(new DicomTag(0x00100010)));
        Assert.Equal(128, f.Dataset.GetInt32OrDefault(new DicomTag(0x00280010)));
        Assert.Equal(128 * 128 * 2, f.Dataset.GetElement(new DicomTag(0x7FE00010))!.Length);
    }

    [Fact]
    public void Header_only_stops_before_pixel_data()
    {
        using var f = DicomFile.Open(TestFiles.Pydicom("CT_small.dcm"), DicomReadOptions.HeaderOnly);
        Assert.Null(f.Dataset[new DicomTag(0x7FE00010)]);
        Assert.True(f.PixelDataOffset > 0);
        Assert.Equal("CompressedSamples^CT1", f.Dataset.GetString(new DicomTag(0x00100010)));
    }

    [Theory]
    [InlineData("MR_small.dcm")]
    [InlineData("MR_small_implicit.dcm")]
    [InlineData("MR_small_bigendian.dcm")]
    [InlineData("MR_small_expb.dcm")]
    [InlineData("image_dfl.dcm")]
    [InlineData("ExplVR_BigEndNoMeta.dcm")]
    [InlineData("ExplVR_LitEndNoMeta.dcm")]
    public void Reads_every_uncompressed_syntax(string name)
    {
        using var f = DicomFile.Open(TestFiles.Pydicom(name));
        Assert.True(f.Dataset.Count > 5);
    }

    [Fact]
    public void File_that_DCMTK_also_rejects_gives_a_format_error_naming_tag_and_offset()
    {
        // no_meta.dcm is one byte off: DCMTK reports "Unknown Tag & Data (0820,0500) larger than remaining bytes".
        var ex = Assert.Throws<DicomFormatException>(() => DicomFile.Open(TestFiles.Pydicom("no_meta.dcm")));
        Assert.Equal(new DicomTag(0x08200500), ex.Tag);
        Assert.Equal(0, ex.Offset);
    }
}
