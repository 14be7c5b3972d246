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
    public void Encapsulated_input_to_a_native_syntax_is_refused_without_writing()
    {
        using var dir = new CliRunner.TempDir();
        var output = dir.File("out.dcm");
        var r = CliRunner.Run("convert", CliRunner.Pydicom("JPEG2000.dcm"), "--ts", "explicit-le", "-o", output);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"qc: {CliRunner.Pydicom("JPEG2000.dcm")}: the pixel data is encapsulated", r.Error, StringComparison.Ordinal);
        Assert.Contains("decompression lands with the codec work", r.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(dir.Path));
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
