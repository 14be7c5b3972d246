using System.Text.Json;

namespace QcPipeline.Cli.Tests;

public class JsonCommandTests
{
    [Fact]
    public void One_compact_object_per_file_per_line()
    {
        var r = CliRunner.Run("json", CliRunner.Pydicom("CT_small.dcm"), CliRunner.Pydicom("rtplan.dcm"));
        Assert.Equal(0, r.ExitCode);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var ct = JsonDocument.Parse(lines[0]);
        Assert.Equal("PN", ct.RootElement.GetProperty("00100010").GetProperty("vr").GetString());
        Assert.Equal("CompressedSamples^CT1", ct.RootElement.GetProperty("00100010").GetProperty("Value")[0].GetProperty("Alphabetic").GetString());
        Assert.Equal(128, ct.RootElement.GetProperty("00280010").GetProperty("Value")[0].GetInt32());
        Assert.True(ct.RootElement.GetProperty("7FE00010").TryGetProperty("InlineBinary", out _));
        using var plan = JsonDocument.Parse(lines[1]);
        Assert.Equal("SQ", plan.RootElement.GetProperty("300A00B0").GetProperty("vr").GetString());
    }

    [Fact]
    public void Same_values_as_DCMTK_dcm2json()
    {
        var r = CliRunner.Run("json", CliRunner.Pydicom("MR_small.dcm"));
        var (code, theirs) = CliRunner.Dcmtk("dcm2json", CliRunner.Pydicom("MR_small.dcm"));
        Assert.Equal(0, code);
        using var a = JsonDocument.Parse(r.Out);
        using var b = JsonDocument.Parse(theirs);
        foreach (var tag in new[] { "00100010", "00280030", "00180050", "00200032", "00280106", "7FE00010" })
            Assert.Equal(JsonSerializer.Serialize(b.RootElement.GetProperty(tag)), JsonSerializer.Serialize(a.RootElement.GetProperty(tag)));
    }

    [Fact]
    public void Keywords_header_only_and_meta_options()
    {
        var r = CliRunner.Run("json", "--keywords", "--header-only", "--meta", CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal("PatientName", doc.RootElement.GetProperty("00100010").GetProperty("keyword").GetString());
        Assert.False(doc.RootElement.TryGetProperty("7FE00010", out _));
        Assert.Equal("1.2.840.10008.1.2.1", doc.RootElement.GetProperty("00020010").GetProperty("Value")[0].GetString());
    }

    [Fact]
    public void A_broken_file_is_reported_and_the_others_still_printed()
    {
        var r = CliRunner.Run("json", CliRunner.Pydicom("MR_truncated.dcm"), CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"qc: {CliRunner.Pydicom("MR_truncated.dcm")}: ", r.Error, StringComparison.Ordinal);
        Assert.Single(r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
