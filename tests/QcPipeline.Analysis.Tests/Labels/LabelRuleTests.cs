using QcPipeline.Analysis.Labels;
using QcPipeline.Dicom;

namespace QcPipeline.Analysis.Tests.Labels;

/// <summary>Required labels (DB11 §5.2.1) on files written by DCMTK with GB18030, ISO 2022 IR 58 and UTF-8 values.</summary>
public class LabelRuleTests(TempFolder temp) : IClassFixture<TempFolder>
{
    private string Dir => temp.Path;

    [Fact]
    public void Complete_ct_header_in_utf8_passes_every_rule_with_the_registry()
    {
        var r = LabelTestFiles.Check(LabelTestFiles.SampleRegistry, new CtDump().Header(Dir, "clean-utf8"));
        Assert.Empty(r.Findings);
        Assert.True(r.IsCompliant);
        Assert.Equal(1.0, r.ComplianceRate);
        Assert.True(r.ChecksMade > 20, $"{r.ChecksMade} checks");
    }

    public static TheoryData<string, string, Func<string, byte[]>> Charsets => new()
    {
        { "gb18030", "GB18030", B.Gb18030 },
        { "gbk", "GBK", B.Gb18030 },
        { "ir58", "\\ISO 2022 IR 58", B.Iso2022Ir58 },
        { "utf8", "ISO_IR 192", B.Utf8 },
    };

    [Theory]
    [MemberData(nameof(Charsets))]
    public void Chinese_values_in_each_declared_set_decode_and_match_the_registry(string name, string term, Func<string, byte[]> encode)
    {
        var h = new CtDump()
            .Set("0008,0005", "CS", term)
            .Set("0008,0080", "LO", encode("首都医科大学附属北京友谊医院（JJJHR）"))
            .Set("0010,0010", "PN", encode("Zhang^XiaoDong=张^小东="))
            .Header(Dir, "cs-" + name);
        var r = LabelTestFiles.Check(LabelTestFiles.SampleRegistry, h);
        Assert.Empty(r.Findings);
    }

    [Fact]
    public void Absent_and_empty_labels_are_missing()
    {
        var h = new CtDump().Remove("0010,1010").Set("0010,0040", "CS", "").Remove("0008,1010").Remove("0008,1090").Header(Dir, "missing");
        var r = LabelTestFiles.Check(null, h);
        var missing = r.Findings.Where(f => f.RuleId == "label.missing").ToArray();
        Assert.Contains(missing, f => f.Keyword == "PatientAge" && f.MessageEn.Contains("absent", StringComparison.Ordinal) && f.Severity == FindingSeverity.Error);
        Assert.Contains(missing, f => f.Keyword == "PatientSex" && f.MessageEn.Contains("empty", StringComparison.Ordinal) && f.MessageZh.Contains("为空", StringComparison.Ordinal));
        // Device name: neither StationName nor Manufacturer + model.
        Assert.Contains(missing, f => f.Keyword == "StationName" && f.MessageEn.Contains("ManufacturerModelName", StringComparison.Ordinal));
        Assert.False(r.IsCompliant);
        Assert.True(r.ComplianceRate < 1);
    }

    [Fact]
    public void Device_name_from_manufacturer_and_model_is_enough()
    {
        var r = LabelTestFiles.Check(null, new CtDump().Remove("0008,1010").Header(Dir, "device-alt"));
        Assert.DoesNotContain("label.missing", r.Rules());
    }

    [Fact]
    public void Projection_labels_need_laterality_only_for_paired_parts()
    {
        CtDump Dx(string part) => new CtDump().Set("0008,0060", "CS", "DX").Set("0008,0016", "UI", "1.2.840.10008.5.1.4.1.1.1.1")
            .Set("0018,0015", "CS", part).Set("0018,1152", "IS", "4").Set("0018,1110", "DS", "1800").Set("0018,5101", "CS", "PA")
            .Set("0020,0020", "CS", "L\\F").Remove("0020,0032").Remove("0020,0037").Remove("0018,1151").Remove("0018,0050").Remove("0018,1210").Remove("0018,5100");
        var chest = LabelTestFiles.Check(null, Dx("CHEST").Header(Dir, "dx-chest"));
        Assert.DoesNotContain("label.missing", chest.Rules());
        var knee = LabelTestFiles.Check(null, Dx("KNEE").Header(Dir, "dx-knee"));
        Assert.Contains(knee.Findings, f => f.RuleId == "label.missing" && f.Keyword == "ImageLaterality");
        var kneeLeft = LabelTestFiles.Check(null, Dx("KNEE").Set("0020,0062", "CS", "L").Header(Dir, "dx-knee-l"));
        Assert.DoesNotContain("label.missing", kneeLeft.Rules());
    }

    [Fact]
    public void Bytes_invalid_in_the_declared_set_are_undecodable()
    {
        // 0x81 0x20: a GB18030 lead byte followed by a byte that cannot trail it.
        var h = new CtDump().Set("0008,0005", "CS", "GB18030").Set("0010,0010", "PN", B.Cat(B.Gb18030("张"), [0x81, 0x20], B.A("X")))
            .Header(Dir, "undecodable");
        var r = LabelTestFiles.Check(null, h);
        var f = Assert.Single(r.Findings, x => x.RuleId == "label.undecodable");
        Assert.Equal("(0010,0010)", f.Tag);
        Assert.Equal("PatientName", f.Keyword);
        Assert.Equal(FindingSeverity.Error, f.Severity);
        Assert.Contains("GB18030", f.MessageEn, StringComparison.Ordinal);
    }

    [Fact]
    public void Utf8_bytes_under_the_default_repertoire_are_undecodable()
    {
        var h = new CtDump().Remove("0008,0005").Set("0008,0080", "LO", B.Utf8("北京大学第三医院 BJHR")).Header(Dir, "no-charset");
        var r = LabelTestFiles.Check(null, h);
        Assert.Contains(r.Findings, f => f.RuleId == "label.undecodable" && f.Keyword == "InstitutionName");
    }

    [Fact]
    public void Unknown_character_set_term_makes_text_labels_undecodable()
    {
        var h = new CtDump().Set("0008,0005", "CS", "ISO_IR 999").Header(Dir, "bad-term");
        var r = LabelTestFiles.Check(null, h);
        Assert.Contains(r.Findings, f => f.RuleId == "label.undecodable" && f.MessageEn.Contains("ISO_IR 999", StringComparison.Ordinal));
    }

    [Fact]
    public void Gb_text_declared_latin1_is_mojibake_but_french_is_not()
    {
        var gb = new CtDump().Set("0008,0005", "CS", "ISO_IR 100").Set("0010,0010", "PN", B.Gb18030("王小东")).Header(Dir, "mojibake-gb");
        var r = LabelTestFiles.Check(null, gb);
        var f = Assert.Single(r.Findings, x => x.RuleId == "label.mojibake");
        Assert.Equal("PatientName", f.Keyword);
        Assert.Equal(FindingSeverity.Warning, f.Severity);
        Assert.Contains("GB18030", f.MessageEn, StringComparison.Ordinal);

        var fr = new CtDump().Set("0008,0005", "CS", "ISO_IR 100").Set("0010,0010", "PN", B.Latin1("Buc^Jérôme^Hélène")).Header(Dir, "latin1-fr");
        Assert.DoesNotContain("label.mojibake", LabelTestFiles.Check(null, fr).Rules());
    }

    [Fact]
    public void Utf8_text_declared_latin1_is_mojibake()
    {
        var h = new CtDump().Set("0008,0005", "CS", "ISO_IR 100").Set("0010,0010", "PN", B.Utf8("Müller^Jürgen")).Header(Dir, "mojibake-utf8");
        Assert.Contains(LabelTestFiles.Check(null, h).Findings, f => f.RuleId == "label.mojibake" && f.MessageEn.Contains("UTF-8", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ÐÂ¶«", true)]       // GB bytes of 新东 read as Latin-1
    [InlineData("Ð¡Ã÷", true)]       // 小明
    [InlineData("a\u0085b", true)]   // C1 control
    [InlineData("a\uFFFDb", true)]
    [InlineData("Hélène", false)]
    [InlineData("Þórður", false)]
    [InlineData("Иванов", false)]
    [InlineData("张三", false)]
    [InlineData("PLAIN ASCII", false)]
    public void Mojibake_heuristic(string text, bool expected) => Assert.Equal(expected, TextQuality.Inspect(text) is not null);

    [Fact]
    public void Labels_that_change_within_a_series_are_inconsistent()
    {
        var a = new CtDump(1).Header(Dir, "inc-1");
        var b = new CtDump(2).Set("0010,0020", "LO", "P0002").Header(Dir, "inc-2");
        var r = LabelTestFiles.Check(null, a, b);
        var f = Assert.Single(r.Findings, x => x.RuleId == "label.inconsistent");
        Assert.Equal("PatientID", f.Keyword);
        Assert.Equal("P0001 | P0002", f.Value);
        Assert.DoesNotContain("P000", f.MessageEn, StringComparison.Ordinal); // patient values only in Value

        var same = LabelTestFiles.Check(null, a, new CtDump(2).Header(Dir, "inc-3"));
        Assert.DoesNotContain("label.inconsistent", same.Rules());
    }

    [Fact]
    public void Same_name_in_two_character_sets_is_consistent()
    {
        var a = new CtDump(1).Set("0008,0005", "CS", "GB18030").Set("0010,0010", "PN", B.Gb18030("Zhang^San=张^三")).Set("0008,0080", "LO", B.Gb18030("首都医科大学附属北京友谊医院 JJJHR")).Header(Dir, "cs-mix-1");
        var b = new CtDump(2).Header(Dir, "cs-mix-2");
        Assert.DoesNotContain("label.inconsistent", LabelTestFiles.Check(null, a, b).Rules());
    }

    [Fact]
    public void Messages_never_carry_patient_values()
    {
        var h = new CtDump().Set("0008,0005", "CS", "ISO_IR 100").Set("0010,0010", "PN", B.Gb18030("王小东")).Set("0010,0020", "LO", "SECRET-ID").Remove("0010,1010").Header(Dir, "privacy");
        var r = LabelTestFiles.Check(null, h, new CtDump(2).Set("0010,0020", "LO", "OTHER-ID").Header(Dir, "privacy-2"));
        Assert.NotEmpty(r.Findings);
        foreach (var f in r.Findings)
        {
            Assert.DoesNotContain("SECRET", f.MessageEn + f.MessageZh, StringComparison.Ordinal);
            Assert.DoesNotContain("Ð", f.MessageEn + f.MessageZh, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Burned_in_annotation_and_secondary_capture_warn()
    {
        var clean = LabelTestFiles.Check(null, new CtDump().Set("0028,0301", "CS", "NO").Header(Dir, "burn-no"));
        Assert.DoesNotContain("burned-in", clean.Rules());

        var burned = LabelTestFiles.Check(null, new CtDump().Set("0028,0301", "CS", "YES").Header(Dir, "burn-yes"));
        var f = Assert.Single(burned.Findings, x => x.RuleId == "burned-in");
        Assert.Equal(FindingSeverity.Warning, f.Severity);
        Assert.Equal("BurnedInAnnotation", f.Keyword);
        Assert.True(burned.IsCompliant); // a warning only

        var sc = LabelTestFiles.Check(null, new CtDump().Set("0008,0016", "UI", DicomUids.SecondaryCaptureImageStorage).Header(Dir, "burn-sc"));
        Assert.Contains(sc.Findings, x => x.RuleId == "burned-in" && x.Keyword == "SOPClassUID");
    }
}
