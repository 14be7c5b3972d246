using System.Text.Json;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Cli.Tests;

public class LabelsCommandTests
{
    /// <summary>Writes a header-only CT instance built from CT_small.dcm with every required label present and a
    /// 512×512 matrix, so that it passes every rule; <paramref name="institution"/> goes into (0008,0080).</summary>
    private static string WriteCompliant(string path, int instance, string institution = "Test Hospital")
    {
        using var source = DicomFile.Open(CliRunner.Pydicom("CT_small.dcm"), DicomReadOptions.HeaderOnly);
        var ds = source.Dataset.Clone();
        ds.AddOrUpdate(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 192");
        ds.AddOrUpdate(DicomTags.PatientBirthDate, DicomVR.DA, "19700101");
        ds.AddOrUpdate(DicomTags.PatientAge, DicomVR.AS, "054Y");
        ds.AddOrUpdate(DicomTags.InstitutionName, DicomVR.LO, institution);
        ds.AddOrUpdate(DicomTags.StationName, DicomVR.SH, "CT01");
        ds.AddOrUpdate(DicomTags.ConvolutionKernel, DicomVR.SH, "STANDARD");
        ds.AddOrUpdate(DicomTags.PatientPosition, DicomVR.CS, "HFS");
        ds.AddOrUpdate(DicomTags.BodyPartExamined, DicomVR.CS, "CHEST");
        ds.AddOrUpdate(DicomTags.ImageOrientationPatient, DicomVR.DS, "1", "0", "0", "0", "1", "0");
        ds.AddOrUpdate(DicomTags.ImagePositionPatient, DicomVR.DS, "0", "0", (instance * 5).ToString(System.Globalization.CultureInfo.InvariantCulture));
        ds.AddOrUpdate(DicomTags.Rows, DicomVR.US, 512);
        ds.AddOrUpdate(DicomTags.Columns, DicomVR.US, 512);
        ds.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, instance);
        ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, $"1.2.826.0.1.3680043.2.1125.99.{instance}");
        new DicomFile(ds, null, TransferSyntax.ExplicitVRLittleEndian).Save(path);
        return path;
    }

    [Fact]
    public void Compliant_series_in_a_folder_is_exit_0_with_no_findings()
    {
        using var dir = new CliRunner.TempDir();
        Directory.CreateDirectory(dir.File("a/b"));
        WriteCompliant(dir.File("a/one.dcm"), 1);
        WriteCompliant(dir.File("a/b/two.dcm"), 2);
        File.WriteAllText(dir.File("a/notes.txt"), "not DICOM");
        var r = CliRunner.Run("labels", dir.Path);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("2 instance(s)", r.Out, StringComparison.Ordinal);
        Assert.Contains("no findings", r.Out, StringComparison.Ordinal);
        Assert.Contains("compliant", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_finding_is_exit_1_and_printed_as_a_table()
    {
        var r = CliRunner.Run("labels", CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(1, r.ExitCode);
        var lines = r.Out.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Contains(lines, l => l.StartsWith("SEVERITY  RULE", StringComparison.Ordinal));
        Assert.Matches(@"(?m)^error +series\.ct-matrix +\(0028,0010\) +Rows +1 +128×128 +CT matrix", r.Out);
        Assert.Contains("NOT compliant", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_is_an_array_of_series_with_stable_rule_ids()
    {
        var r = CliRunner.Run("labels", "--json", CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(1, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        var series = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal("CT", series.GetProperty("modality").GetString());
        Assert.Equal(1, series.GetProperty("instances").GetInt32());
        Assert.False(series.GetProperty("compliant").GetBoolean());
        Assert.InRange(series.GetProperty("complianceRate").GetDouble(), 0, 0.999);
        Assert.True(series.GetProperty("checksMade").GetInt32() > series.GetProperty("checksPassed").GetInt32());
        var findings = series.GetProperty("findings").EnumerateArray().ToArray();
        var matrix = Assert.Single(findings, f => f.GetProperty("ruleId").GetString() == "series.ct-matrix");
        Assert.Equal("error", matrix.GetProperty("severity").GetString());
        Assert.Equal("(0028,0010)", matrix.GetProperty("tag").GetString());
        Assert.Equal("Rows", matrix.GetProperty("keyword").GetString());
        Assert.Equal("128×128", matrix.GetProperty("value").GetString());
        Assert.Contains("矩阵", matrix.GetProperty("messageZh").GetString(), StringComparison.Ordinal);
        Assert.Contains("matrix", matrix.GetProperty("messageEn").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, matrix.GetProperty("instanceCount").GetInt32());
    }

    [Fact]
    public void Registry_drives_the_hr_rules()
    {
        using var dir = new CliRunner.TempDir();
        File.WriteAllText(dir.File("reg.yaml"), "scopes: [JJJHR, BJHR]\ninstitutions:\n  - name: 测试医院\n    items:\n      - modality: CT\n        scopes: [JJJHR, BJHR]\n");
        WriteCompliant(dir.File("held.dcm"), 1, "测试医院 JJJHR");
        Assert.Equal(0, CliRunner.Run("labels", "--registry", dir.File("reg.yaml"), dir.File("held.dcm")).ExitCode);

        using var other = new CliRunner.TempDir();
        WriteCompliant(other.File("claim.dcm"), 1, "别的医院 JJJHR");
        var r = CliRunner.Run("labels", "--json", "--registry", dir.File("reg.yaml"), other.File("claim.dcm"));
        Assert.Equal(1, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        var ids = doc.RootElement[0].GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("ruleId").GetString()!).ToArray();
        Assert.Equal(["hr.not-held"], ids);
    }

    [Fact]
    public void Sample_registry_loads()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "QcPipeline.sln"))) root = root.Parent;
        var sample = Path.Combine(root!.FullName, "deploy", "hr-registry.sample.yaml");
        var r = CliRunner.Run("labels", "--registry", sample, CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(1, r.ExitCode); // CT_small's own findings, but the registry was accepted
        Assert.Equal("", r.Error);
    }

    [Theory]
    [InlineData("labels")]
    [InlineData("labels", "--bogus", "x.dcm")]
    [InlineData("labels", "--registry")]
    public void Bad_command_line_is_exit_3(params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(3, r.ExitCode);
        Assert.NotEqual("", r.Error.Trim());
    }

    [Fact]
    public void Unusable_registry_is_exit_3_with_the_reason()
    {
        using var dir = new CliRunner.TempDir();
        File.WriteAllText(dir.File("bad.json"), "{ \"scopes\": [\"BJHR\"], \"institutions\": [ { \"name\": \"A\", \"items\": [ { \"modality\": \"CT\", \"scopes\": [\"JJJHR\"] } ] } ] }");
        var r = CliRunner.Run("labels", "--registry", dir.File("bad.json"), CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("JJJHR", r.Error, StringComparison.Ordinal);
        Assert.Equal(3, CliRunner.Run("labels", "--registry", dir.File("missing.yaml"), CliRunner.Pydicom("CT_small.dcm")).ExitCode);
    }

    [Fact]
    public void Unreadable_named_file_is_reported_and_exit_1()
    {
        var r = CliRunner.Run("labels", "/nonexistent/file.dcm");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no such file", r.Error, StringComparison.Ordinal);
    }
}
