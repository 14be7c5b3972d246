using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Tests.CharacterSets;

namespace QcPipeline.Dicom.Tests.Imaging;

/// <summary>Every compressed file of pydicom's corpus through the whole stack (reader, frame location, codec):
/// lossless ones decode exactly to DCMTK's decompressed output or to their uncompressed counterpart; lossy ones
/// are flagged; undecodable ones give a clear NotSupportedException.</summary>
public sealed class PixelCorpusTests : IClassFixture<TempFolder>
{
    private readonly TempFolder _tmp;
    public PixelCorpusTests(TempFolder tmp) => _tmp = tmp;

    private static byte[] AllFrames(DicomFile f)
    {
        var p = DicomPixelData.Create(f.Dataset);
        var all = new byte[p.FrameSize * p.NumberOfFrames];
        for (int i = 0; i < p.NumberOfFrames; i++) p.GetFrame(i, f.TransferSyntax).Span.CopyTo(all.AsSpan((int)(i * p.FrameSize)));
        return all;
    }

    [Theory]
    [InlineData("MR_small_RLE.dcm", "dcmdrle")]
    [InlineData("rtdose_rle.dcm", "dcmdrle")]
    [InlineData("rtdose_rle_1frame.dcm", "dcmdrle")]
    [InlineData("SC_rgb_rle.dcm", "dcmdrle")]
    [InlineData("SC_rgb_rle_2frame.dcm", "dcmdrle")]
    [InlineData("SC_rgb_rle_16bit.dcm", "dcmdrle")]
    [InlineData("SC_rgb_rle_16bit_2frame.dcm", "dcmdrle")]
    [InlineData("SC_rgb_rle_32bit.dcm", "dcmdrle")]
    [InlineData("SC_rgb_rle_32bit_2frame.dcm", "dcmdrle")]
    [InlineData("SC_rgb_jpeg_gdcm.dcm", "dcmdjpeg")]
    [InlineData("MR_small_jpeg_ls_lossless.dcm", "dcmdjpls")]
    public void Lossless_files_decode_exactly_like_DCMTK(string name, string decompressor)
    {
        var reference = Path.Combine(_tmp.Path, name + "." + decompressor + ".dcm");
        Dcmtk.Run(decompressor, "-q", "+te", TestFiles.Pydicom(name), reference);
        using var ours = DicomFile.Open(TestFiles.Pydicom(name));
        Assert.False(ours.TransferSyntax.IsLossy);
        using var theirs = DicomFile.Open(reference);
        var expected = AllFrames(theirs);
        Assert.Equal(expected, AllFrames(ours));

        // And the transcoder gives a native file with the same pixels that DCMTK accepts.
        var native = DicomTranscoder.Transcode(ours, TransferSyntax.ExplicitVRLittleEndian);
        var path = Path.Combine(_tmp.Path, name + ".native.dcm");
        native.Save(path);
        Assert.Contains("yes", Dcmtk.Run("dcmftest", path), StringComparison.Ordinal);
        using var back = DicomFile.Open(path);
        Assert.Equal(expected, AllFrames(back));
    }

    [Theory]
    [InlineData("MR_small_jp2klossless.dcm", "MR_small.dcm")]
    [InlineData("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm")]
    [InlineData("MR_small_RLE.dcm", "MR_small.dcm")]
    [InlineData("rtdose_rle.dcm", "rtdose.dcm")]
    public void Lossless_files_decode_exactly_to_their_uncompressed_counterpart(string compressed, string uncompressed)
    {
        using var c = DicomFile.Open(TestFiles.Pydicom(compressed));
        using var u = DicomFile.Open(TestFiles.Pydicom(uncompressed));
        Assert.Equal(AllFrames(u), AllFrames(c));
    }

    [Theory]
    [InlineData("JPEG2000.dcm")]
    [InlineData("693_J2KI.dcm")]
    [InlineData("SC_rgb_gdcm_KY.dcm")]
    [InlineData("GDCMJ2K_TextGBR.dcm")]
    [InlineData("J2K_pixelrep_mismatch.dcm")]
    public void Jpeg2000_files_decode(string name)
    {
        using var f = DicomFile.Open(TestFiles.Pydicom(name));
        var p = DicomPixelData.Create(f.Dataset);
        var frame = p.GetFrame(0, f.TransferSyntax);
        Assert.Equal(p.FrameSize, frame.Length);
        Assert.Contains(frame.ToArray(), b => b != 0);
        Assert.Equal(f.TransferSyntax.Uid == TransferSyntax.Jpeg2000.Uid, f.TransferSyntax.IsLossy);
    }

    [Fact]
    public void A_corrupt_jpeg2000_codestream_gives_a_clear_pixel_data_error()
    {
        // pydicom: "a copy of JPEG2000.dcm with 4 encoded bytes replaced by the Sequence Delimiter": valid DICOM, broken J2K.
        using var f = DicomFile.Open(TestFiles.Pydicom("JPEG2000-embedded-sequence-delimiter.dcm"));
        var p = DicomPixelData.Create(f.Dataset);
        var ex = Assert.Throws<DicomPixelDataException>(() => p.GetFrame(0, f.TransferSyntax));
        Assert.StartsWith("frame 0: JPEG 2000", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("JPEG-lossy.dcm")]
    [InlineData("JPGExtended.dcm")]
    [InlineData("SC_rgb_jpeg_dcmtk.dcm")]
    [InlineData("SC_rgb_dcmtk_+eb+cy+s4.dcm")]
    public void Lossy_jpeg_is_flagged_and_refused_with_a_clear_reason(string name)
    {
        using var f = DicomFile.Open(TestFiles.Pydicom(name));
        Assert.True(f.TransferSyntax.IsLossy);
        var p = DicomPixelData.Create(f.Dataset);
        var ex = Assert.Throws<NotSupportedException>(() => p.GetFrame(0, f.TransferSyntax));
        Assert.Contains("not supported for pixel access", ex.Message, StringComparison.Ordinal);
        Assert.Contains(f.TransferSyntax.Uid, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CT_small.dcm")]
    [InlineData("MR_small.dcm")]
    [InlineData("SC_rgb_small_odd.dcm")]
    [InlineData("rtdose.dcm")]
    public void Our_RLE_encoding_is_decoded_by_DCMTK_to_the_original_pixels(string name)
    {
        using var original = DicomFile.Open(TestFiles.Pydicom(name));
        var rle = DicomTranscoder.Transcode(original, TransferSyntax.RleLossless);
        var path = Path.Combine(_tmp.Path, name + ".rle.dcm");
        rle.Save(path);
        var decoded = Path.Combine(_tmp.Path, name + ".rle.dcmdrle.dcm");
        Dcmtk.Run("dcmdrle", "-q", "+te", path, decoded);
        using var theirs = DicomFile.Open(decoded);
        Assert.Equal(AllFrames(original), AllFrames(theirs));
        using var ours = DicomFile.Open(path);
        Assert.Equal(AllFrames(original), AllFrames(ours));
    }
}
