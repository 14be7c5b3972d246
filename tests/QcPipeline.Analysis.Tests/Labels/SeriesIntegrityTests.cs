using System.Globalization;
using QcPipeline.Analysis.Labels;
using QcPipeline.Analysis.SeriesIntegrity;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Analysis.Tests.Labels;

/// <summary>Series integrity on series cloned from pydicom's CT_small.dcm, and every rule over pydicom's real files.</summary>
public class SeriesIntegrityTests
{
    private static readonly string CtSmall = Path.Combine(LabelTestFiles.Pydicom, "test_files", "CT_small.dcm");

    /// <summary>A clean axial CT series: n slices 5 mm apart, 512×512, every label present, in instance order.</summary>
    internal static List<InstanceHeader> CleanSeries(int n, TransferSyntax? ts = null)
    {
        using var file = DicomFile.Open(CtSmall, DicomReadOptions.HeaderOnly);
        var template = file.Dataset.Clone();
        template.AddOrUpdate(DicomTags.PatientBirthDate, DicomVR.DA, "19700101");
        template.AddOrUpdate(DicomTags.PatientAge, DicomVR.AS, "054Y");
        template.AddOrUpdate(DicomTags.InstitutionName, DicomVR.LO, "Test Hospital");
        template.AddOrUpdate(DicomTags.StationName, DicomVR.SH, "CT01");
        template.AddOrUpdate(DicomTags.ConvolutionKernel, DicomVR.SH, "STANDARD");
        template.AddOrUpdate(DicomTags.PatientPosition, DicomVR.CS, "HFS");
        template.AddOrUpdate(DicomTags.ImageOrientationPatient, DicomVR.DS, "1", "0", "0", "0", "1", "0");
        template.AddOrUpdate(DicomTags.Rows, DicomVR.US, (ushort)512);
        template.AddOrUpdate(DicomTags.Columns, DicomVR.US, (ushort)512);
        var list = new List<InstanceHeader>(n);
        for (int i = 0; i < n; i++)
        {
            var ds = template.Clone();
            ds.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, i + 1);
            ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, $"1.2.826.0.1.3680043.2.1125.88.{i + 1}");
            SetZ(ds, -100 + 5.0 * i);
            list.Add(new InstanceHeader(ds, ts ?? file.TransferSyntax, $"slice{i + 1:000}"));
        }
        return list;
    }

    private static void SetZ(DicomDataset ds, double z) =>
        ds.AddOrUpdate(DicomTags.ImagePositionPatient, DicomVR.DS, "-100", "-100", z.ToString("0.###", CultureInfo.InvariantCulture));

    private static SeriesCheckResult Check(List<InstanceHeader> list) => SeriesQc.Check(new SeriesHeaders(list));

    [Fact]
    public void Clean_synthetic_series_gives_no_findings()
    {
        var r = Check(CleanSeries(20));
        Assert.Empty(r.Findings);
        Assert.True(r.IsCompliant);
        Assert.Equal(r.ChecksMade, r.ChecksPassed);
    }

    [Fact]
    public void Missing_slice_is_detected()
    {
        var list = CleanSeries(20);
        list.RemoveAt(7);
        var r = Check(list);
        var gap = Assert.Single(r.Findings, f => f.RuleId == "series.instance-number-gap");
        Assert.Equal("missing 8", gap.Value);
        var spacing = Assert.Single(r.Findings, f => f.RuleId == "series.uneven-spacing");
        Assert.Contains("10 mm between -70 and -60", spacing.Value, StringComparison.Ordinal);
        Assert.False(r.IsCompliant);
    }

    [Fact]
    public void Missing_slice_is_detected_even_when_renumbered()
    {
        var list = CleanSeries(20);
        list.RemoveAt(7);
        for (int i = 0; i < list.Count; i++) list[i].Dataset.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, i + 1);
        var r = Check(list);
        Assert.Equal(["series.uneven-spacing"], r.Rules());
    }

    [Fact]
    public void Swapped_slices_are_out_of_order()
    {
        var list = CleanSeries(20);
        SetZ(list[5].Dataset, -100 + 5.0 * 6);
        SetZ(list[6].Dataset, -100 + 5.0 * 5);
        var r = Check(list);
        var f = Assert.Single(r.Findings);
        Assert.Equal("series.position-order", f.RuleId);
        Assert.Contains("#6→#7", f.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_instance_numbers_and_positions()
    {
        var list = CleanSeries(10);
        list[4].Dataset.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, 4);
        SetZ(list[4].Dataset, -100 + 5.0 * 3);
        var rules = Check(list).Rules().ToArray();
        Assert.Contains("series.instance-number-duplicate", rules);
        Assert.Contains("series.duplicate-position", rules);
    }

    [Fact]
    public void Missing_instance_number_and_position()
    {
        var list = CleanSeries(5);
        list[2].Dataset.Remove(DicomTags.InstanceNumber);
        list[3].Dataset.Remove(DicomTags.ImagePositionPatient);
        list[3].Dataset.Remove(DicomTags.SliceLocation);
        var rules = Check(list).Rules().ToArray();
        Assert.Contains("series.instance-number-missing", rules);
        Assert.Contains("series.position-missing", rules);
    }

    [Fact]
    public void Uneven_spacing_within_tolerance_passes_and_beyond_fails()
    {
        var list = CleanSeries(10);
        SetZ(list[4].Dataset, -100 + 5.0 * 4 + 0.3); // 0.3 mm off a 5 mm grid: inside 10 %
        Assert.DoesNotContain("series.uneven-spacing", Check(list).Rules());
        var strict = SeriesQc.Check(new SeriesHeaders(list), new SeriesQcOptions(Integrity: new SeriesIntegrityOptions(SpacingToleranceMm: 0.1, SpacingToleranceFraction: 0)));
        Assert.Contains("series.uneven-spacing", strict.Rules());
    }

    [Fact]
    public void Mixed_orientation()
    {
        var list = CleanSeries(5);
        list[2].Dataset.AddOrUpdate(DicomTags.ImageOrientationPatient, DicomVR.DS, "1", "0", "0", "0", "0", "-1");
        Assert.Contains("series.mixed-orientation", Check(list).Rules());
    }

    [Fact]
    public void Ct_matrix_under_512_is_reported()
    {
        var list = CleanSeries(3);
        foreach (var h in list) { h.Dataset.AddOrUpdate(DicomTags.Rows, DicomVR.US, (ushort)256); h.Dataset.AddOrUpdate(DicomTags.Columns, DicomVR.US, (ushort)256); }
        var f = Assert.Single(Check(list).Findings);
        Assert.Equal("series.ct-matrix", f.RuleId);
        Assert.Equal(3, f.InstanceCount);
        Assert.Equal("256×256", f.Value);
    }

    [Fact]
    public void Lossy_transfer_syntax_or_flag_is_reported()
    {
        var lossyTs = Check(CleanSeries(3, TransferSyntax.JpegBaseline));
        Assert.Equal(["series.lossy"], lossyTs.Rules());
        Assert.True(lossyTs.IsCompliant); // warning

        var flagged = CleanSeries(3);
        flagged[1].Dataset.AddOrUpdate(DicomTags.LossyImageCompression, DicomVR.CS, "01");
        var f = Assert.Single(Check(flagged).Findings);
        Assert.Equal("LossyImageCompression", f.Keyword);
    }

    [Fact]
    public void Study_attributes_inconsistent_across_the_series()
    {
        var list = CleanSeries(4);
        list[3].Dataset.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, "ACC-OTHER");
        list[2].Dataset.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, "1.2.3.999");
        var rules = Check(list).Rules().ToArray();
        Assert.Contains("series.inconsistent", rules);
        Assert.Contains("label.inconsistent", rules);
    }

    [Fact]
    public void Compliance_rate_counts_checks()
    {
        var list = CleanSeries(10);
        list[0].Dataset.Remove(DicomTags.PatientAge);
        var r = Check(list);
        Assert.Equal(r.ChecksMade - 1, r.ChecksPassed);
        Assert.InRange(r.ComplianceRate, 0.99, 0.9999);
    }

    public static TheoryData<string> PydicomFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.EnumerateFiles(LabelTestFiles.Pydicom, "*.dcm", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(LabelTestFiles.Pydicom, f));
        return data;
    }

    [Theory]
    [MemberData(nameof(PydicomFiles))]
    public void Every_rule_runs_on_pydicom_files_without_exception(string relative)
    {
        DicomFile file;
        try { file = DicomFile.Open(Path.Combine(LabelTestFiles.Pydicom, relative), DicomReadOptions.HeaderOnly); }
        catch (DicomFormatException) { return; } // deliberately broken test files: the reader's business, not ours
        using (file)
        {
            var h = new InstanceHeader(file.Dataset, file.TransferSyntax, relative);
            var r = SeriesQc.Check(new SeriesHeaders([h, h]), new SeriesQcOptions(LabelTestFiles.SampleRegistry));
            Assert.True(r.ChecksMade > 0);
            Assert.InRange(r.ComplianceRate, 0, 1);
            foreach (var f in r.Findings) Assert.False(string.IsNullOrEmpty(f.MessageZh) || string.IsNullOrEmpty(f.MessageEn));
        }
    }

    [Fact]
    public void Pydicom_charset_files_are_not_called_mojibake()
    {
        foreach (var f in Directory.EnumerateFiles(Path.Combine(LabelTestFiles.Pydicom, "charset_files"), "*.dcm"))
        {
            using var file = DicomFile.Open(f, DicomReadOptions.HeaderOnly);
            var r = SeriesQc.Check(new SeriesHeaders([new InstanceHeader(file.Dataset, file.TransferSyntax)]));
            Assert.DoesNotContain("label.mojibake", r.Rules());
        }
    }
}
