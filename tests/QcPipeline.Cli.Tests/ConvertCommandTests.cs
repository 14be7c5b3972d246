using QcPipeline.Dicom;

namespace QcPipeline.Cli.Tests;

public class ConvertCommandTests
{
    [Theory]
    [InlineData("CT_small.dcm", "explicit-le", "1.2.840.10008.1.2.1")]
    [InlineData("CT_small.dcm", "implicit-le", "1.2.840.10008.1.2")]
    [InlineData("CT_small.dcm", "explicit-be", "1.2.840.10008.1.2.2")]
    [InlineData("CT_small.dcm", "deflate", "1.2.840.10008.1.2.1.99")]
    [InlineData("MR_small_implicit.dcm", "explicit-le", "1.2.840.10008.1.2.1")]
    [InlineData("MR_small_implicit.dcm", "explicit-be", "1.2.840.10008.1.2.2")]
    [InlineData("test-SR.dcm", "implicit-le", "1.2.840.10008.1.2")]
    [InlineData("test-SR.dcm", "deflate", "1.2.840.10008.1.2.1.99")]
    [InlineData("rtplan.dcm", "explicit-le", "1.2.840.10008.1.2.1")]
    public void Converted_file_is_accepted_by_DCMTK_and_keeps_every_value(string name, string ts, string expectedUid)
    {
        using var dir = new CliRunner.TempDir();
        var output = dir.File("out.dcm");
        var r = CliRunner.Run("convert", CliRunner.Pydicom(name), "--ts", ts, "-o", output);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Error);

        var (ftest, ftestOut) = CliRunner.Dcmtk("dcmftest", output);
        Assert.True(ftest == 0, ftestOut);
        var (dump, dumpOut) = CliRunner.Dcmtk("dcmdump", "-q", "+L", output);
        Assert.True(dump == 0 && !dumpOut.Contains("E:", StringComparison.Ordinal), dumpOut);

        using var original = DicomFile.Open(CliRunner.Pydicom(name));
        using var converted = DicomFile.Open(output);
        Assert.Equal(expectedUid, converted.TransferSyntax.Uid);
        Assert.Equal(expectedUid, converted.FileMetaInformation.GetString(new DicomTag(0x00020010)));
        AssertSameValues(original.Dataset, converted.Dataset, "");
    }

    [Fact]
    public void Lossy_input_that_cannot_be_decoded_is_refused_without_writing()
    {
        using var dir = new CliRunner.TempDir();
        var output = dir.File("out.dcm");
        var r = CliRunner.Run("convert", CliRunner.Pydicom("JPEG-lossy.dcm"), "--ts", "explicit-le", "-o", output);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"qc: {CliRunner.Pydicom("JPEG-lossy.dcm")}: transfer syntax 1.2.840.10008.1.2.4.51 not supported for pixel access", r.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Theory]
    [InlineData("MR_small_jp2klossless.dcm")]
    [InlineData("MR_small_jpeg_ls_lossless.dcm")]
    [InlineData("MR_small_RLE.dcm")]
    public void Lossless_compressed_input_decompresses_to_the_uncompressed_pixels(string name)
    {
        using var dir = new CliRunner.TempDir();
        var output = dir.File("out.dcm");
        var r = CliRunner.Run("convert", CliRunner.Pydicom(name), "--ts", "explicit-le", "-o", output);
        Assert.Equal(0, r.ExitCode);
        using var converted = DicomFile.Open(output);
        using var reference = DicomFile.Open(CliRunner.Pydicom("MR_small.dcm"));
        Assert.Equal(reference.Dataset.GetElement(new DicomTag(0x7FE00010))!.Data.ToArray(), converted.Dataset.GetElement(new DicomTag(0x7FE00010))!.Data.ToArray());
    }

    [Fact]
    public void Compresses_to_RLE_and_back()
    {
        using var dir = new CliRunner.TempDir();
        var rle = dir.File("rle.dcm");
        var back = dir.File("back.dcm");
        Assert.Equal(0, CliRunner.Run("convert", CliRunner.Pydicom("CT_small.dcm"), "--ts", "rle", "-o", rle).ExitCode);
        Assert.Equal(0, CliRunner.Run("convert", rle, "--ts", "implicit-le", "-o", back).ExitCode);
        using var original = DicomFile.Open(CliRunner.Pydicom("CT_small.dcm"));
        using var rleFile = DicomFile.Open(rle);
        Assert.Equal("1.2.840.10008.1.2.5", rleFile.TransferSyntax.Uid);
        using var roundTrip = DicomFile.Open(back);
        Assert.Equal(original.Dataset.GetElement(new DicomTag(0x7FE00010))!.Data.ToArray(), roundTrip.Dataset.GetElement(new DicomTag(0x7FE00010))!.Data.ToArray());
    }

    [Fact]
    public void Broken_input_is_exit_1_and_writes_nothing()
    {
        using var dir = new CliRunner.TempDir();
        var r = CliRunner.Run("convert", CliRunner.Pydicom("MR_truncated.dcm"), "--ts", "deflate", "-o", dir.File("out.dcm"));
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"qc: {CliRunner.Pydicom("MR_truncated.dcm")}: ", r.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    /// <summary>Same tags and same value bytes, recursively. VRs are not compared: implicit VR output re-reads with the
    /// dictionary's VR. Group lengths are left out: the writer drops them (retired, PS3.5 §7.2).</summary>
    private static void AssertSameValues(DicomDataset expected, DicomDataset actual, string path)
    {
        var e = expected.Where(i => !i.Tag.IsGroupLength).ToList();
        var a = actual.Where(i => !i.Tag.IsGroupLength).ToList();
        Assert.Equal(e.Select(i => i.Tag), a.Select(i => i.Tag));
        for (int i = 0; i < e.Count; i++)
        {
            var where = $"{path}{e[i].Tag}";
            switch (e[i])
            {
                case DicomElement ee:
                    var ae = Assert.IsType<DicomElement>(a[i]);
                    Assert.True(ee.Data.Span.SequenceEqual(ae.Data.Span), $"value of {where} differs");
                    break;
                case DicomSequence es:
                    var asq = Assert.IsType<DicomSequence>(a[i]);
                    Assert.Equal(es.Items.Count, asq.Items.Count);
                    for (int k = 0; k < es.Items.Count; k++) AssertSameValues(es.Items[k], asq.Items[k], $"{where}[{k}]");
                    break;
                default:
                    Assert.Fail($"unexpected {e[i].GetType().Name} at {where}");
                    break;
            }
        }
    }
}
