using QcPipeline.Analysis.Labels;

namespace QcPipeline.Analysis.Tests.Labels;

/// <summary>HR mutual-recognition marks (DB11 §5.2.2) against the sample registry in deploy/.</summary>
public class HrMarkTests(TempFolder temp) : IClassFixture<TempFolder>
{
    private static readonly HrRegistry Registry = LabelTestFiles.SampleRegistry;

    /// <summary>One CT CHEST header with the institution name in GB18030 (or the given encoding and term).</summary>
    private SeriesCheckResult CheckName(string file, string institution, string modality = "CT", string bodyPart = "CHEST", string term = "GB18030", Func<string, byte[]>? encode = null)
    {
        var dump = new CtDump().Set("0008,0005", "CS", term).Set("0008,0080", "LO", (encode ?? B.Gb18030)(institution))
            .Set("0010,0010", "PN", (encode ?? B.Gb18030)("Li^Si")).Set("0008,0060", "CS", modality).Set("0018,0015", "CS", bodyPart);
        return LabelTestFiles.Check(Registry, dump.Header(temp.Path, file));
    }

    private static string[] Hr(SeriesCheckResult r) => [.. r.Rules().Where(x => x.StartsWith("hr.", StringComparison.Ordinal))];

    [Fact]
    public void Bjhr_held_and_marked_passes()
    {
        // 北京大学第三医院 holds only BJHR for CT.
        var r = CheckName("bjhr-ok", "北京大学第三医院 BJHR");
        Assert.Empty(Hr(r));
        Assert.Empty(r.Findings);
    }

    [Fact]
    public void Jjjhr_and_bjhr_held_but_only_bjhr_marked_is_a_smaller_scope()
    {
        var r = CheckName("smaller", "首都医科大学附属北京友谊医院 BJHR");
        var f = Assert.Single(r.Findings, x => x.RuleId.StartsWith("hr.", StringComparison.Ordinal));
        Assert.Equal("hr.smaller-scope", f.RuleId);
        Assert.Equal(FindingSeverity.Error, f.Severity);
        Assert.Equal("InstitutionName", f.Keyword);
        Assert.Equal("首都医科大学附属北京友谊医院 BJHR", f.Value);
        Assert.Contains("JJJHR", f.MessageEn, StringComparison.Ordinal);
        Assert.Contains("最大互认范围", f.MessageZh, StringComparison.Ordinal);
    }

    [Fact]
    public void Institution_not_in_registry_claiming_jjjhr_is_not_held()
    {
        var r = CheckName("not-in-registry", "某某县人民医院 JJJHR");
        Assert.Equal(["hr.not-held"], Hr(r));
    }

    [Fact]
    public void Mark_of_a_scope_not_held_for_the_item_is_not_held_and_the_held_one_is_missing()
    {
        // 天津医科大学总医院 holds JJJHR only for CT CHEST; BJHR is not held, JJJHR is missing.
        var r = CheckName("wrong-scope", "天津医科大学总医院 BJHR");
        Assert.Equal(["hr.missing", "hr.not-held"], Hr(r).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Exam_item_not_covered_makes_the_mark_not_held()
    {
        var r = CheckName("item-not-covered", "天津医科大学总医院 JJJHR", bodyPart: "ABDOMEN");
        Assert.Equal(["hr.not-held"], Hr(r));
    }

    [Fact]
    public void Held_scope_without_a_mark_is_missing()
    {
        var r = CheckName("missing", "北京大学第三医院");
        var f = Assert.Single(r.Findings, x => x.RuleId.StartsWith("hr.", StringComparison.Ordinal));
        Assert.Equal("hr.missing", f.RuleId);
        Assert.Contains("BJHR", f.MessageEn, StringComparison.Ordinal);
    }

    [Fact]
    public void Mark_before_the_name_is_misplaced()
    {
        var r = CheckName("before", "BJHR 北京大学第三医院");
        Assert.Equal(["hr.misplaced"], Hr(r));
        Assert.Equal(FindingSeverity.Warning, r.Findings.Single(f => f.RuleId == "hr.misplaced").Severity);
    }

    [Fact]
    public void Full_width_mark_is_recognised_but_non_standard()
    {
        var r = CheckName("full-width", "北京大学第三医院ＢＪＨＲ");
        var f = Assert.Single(r.Findings, x => x.RuleId.StartsWith("hr.", StringComparison.Ordinal));
        Assert.Equal("hr.nonstandard", f.RuleId);
        Assert.Equal("ＢＪＨＲ", f.Value);
    }

    [Fact]
    public void Lower_case_mark_is_recognised_but_non_standard()
    {
        Assert.Equal(["hr.nonstandard"], Hr(CheckName("lower", "北京大学第三医院-bjhr")));
    }

    [Theory]
    [InlineData("paren-ascii", "北京大学第三医院(BJHR)")]
    [InlineData("paren-full", "北京大学第三医院（BJHR）")]
    [InlineData("dunhao", "北京大学第三医院、BJHR")]
    [InlineData("hyphen-full", "北京大学第三医院－BJHR")]
    [InlineData("alias", "北医三院 BJHR")]
    [InlineData("english", "Peking University Third Hospital BJHR")]
    public void Mark_after_the_name_with_any_accepted_separator_passes(string file, string name)
    {
        Assert.Empty(Hr(CheckName(file, name)));
    }

    [Fact]
    public void Unknown_marks_are_reported()
    {
        var r = CheckName("unknown", "北京大学第三医院 BJHR SHHR");
        var f = Assert.Single(r.Findings, x => x.RuleId == "hr.unknown");
        Assert.Equal("SHHR", f.Value);
        Assert.Equal(["hr.unknown"], Hr(CheckName("unknown-xx", "北京大学第三医院 BJHR XXHR")));
    }

    [Fact]
    public void Name_in_the_wrong_character_set_is_mojibake_and_still_matched_by_its_gb_reading()
    {
        // GB18030 bytes declared as ISO_IR 100: the label is mojibake; the HR check reads it as GB18030.
        var r = CheckName("wrong-cs", "北京大学第三医院 BJHR", term: "ISO_IR 100");
        Assert.Contains(r.Findings, f => f.RuleId == "label.mojibake" && f.Keyword == "InstitutionName");
        Assert.Empty(Hr(r));
        var missing = CheckName("wrong-cs-missing", "北京大学第三医院", term: "ISO_IR 100");
        Assert.Contains("hr.missing", missing.Rules());
    }

    [Fact]
    public void Name_in_iso2022_ir58_and_utf8_are_matched()
    {
        Assert.Empty(Hr(CheckName("ir58", "河北医科大学第二医院 JJJHR", modality: "DX", term: "\\ISO 2022 IR 58", encode: B.Iso2022Ir58)));
        Assert.Empty(Hr(CheckName("utf8", "河北医科大学第二医院（JJJHR）", modality: "DX", term: "ISO_IR 192", encode: B.Utf8)));
    }

    [Fact]
    public void Without_a_registry_only_the_name_itself_is_checked()
    {
        var h = new CtDump().Set("0008,0080", "LO", B.Utf8("JJJHR 某医院 ＳＨＨＲ")).Header(temp.Path, "no-registry");
        var r = LabelTestFiles.Check(null, h);
        Assert.Equal(["hr.misplaced", "hr.unknown"], Hr(r).Order(StringComparer.Ordinal));
    }

    // ------------------------------------------------------------------ parser

    [Theory]
    [InlineData("北京友谊医院 BJHR", "北京友谊医院", "BJHR", false, false)]
    [InlineData("北京友谊医院(JJJHR)", "北京友谊医院", "JJJHR", false, false)]
    [InlineData("北京友谊医院（ＪＪＪＨＲ）", "北京友谊医院", "JJJHR", true, false)]
    [InlineData("JJJHR-北京友谊医院", "北京友谊医院", "JJJHR", false, true)]
    [InlineData("北京友谊医院jjjhr", "北京友谊医院", "JJJHR", true, false)]
    [InlineData("Beijing Friendship Hospital - BJHR", "Beijing Friendship Hospital", "BJHR", false, false)]
    public void Parser_splits_name_and_mark(string value, string name, string mark, bool nonStandard, bool before)
    {
        var p = HrMarkParser.Parse(value);
        Assert.Equal(name, p.Name);
        var m = Assert.Single(p.Marks);
        Assert.Equal(mark, m.Mark);
        Assert.Equal(nonStandard, m.IsNonStandard);
        Assert.Equal(before, m.BeforeName);
    }

    [Theory]
    [InlineData("Shanghai Chest Hospital")]
    [InlineData("CT-2HR Center")]
    [InlineData("北京友谊医院")]
    public void Parser_finds_no_mark_in_plain_names(string value) => Assert.Empty(HrMarkParser.Parse(value).Marks);

    // ------------------------------------------------------------------ registry

    [Fact]
    public void Registry_yaml_and_json_give_the_same_answers()
    {
        const string yaml = """
            scopes: [JJJHR, BJHR]
            institutions:
              - name: 测试医院
                aliases: [Test Hospital]
                items:
                  - modality: CT
                    bodyParts: [HEAD]
                    scopes: [BJHR, JJJHR]
                  - modality: MR
                    procedureCodes: [MR01]
                    scopes: [BJHR]
            """;
        const string json = """
            { "scopes": ["JJJHR", "BJHR"],
              "institutions": [ { "name": "测试医院", "aliases": ["Test Hospital"], "items": [
                { "modality": "CT", "bodyParts": ["HEAD"], "scopes": ["BJHR", "JJJHR"] },
                { "modality": "MR", "procedureCodes": ["MR01"], "scopes": ["BJHR"] } ] } ] }
            """;
        foreach (var reg in new[] { HrRegistry.Parse(yaml, json: false), HrRegistry.Parse(json, json: true) })
        {
            var inst = reg.Find("ｔｅｓｔ hospital");
            Assert.NotNull(inst);
            Assert.Equal(["JJJHR", "BJHR"], reg.HeldScopes(inst, "CT", "HEAD", []));
            Assert.Empty(reg.HeldScopes(inst, "CT", "CHEST", []));
            Assert.Equal(["BJHR"], reg.HeldScopes(inst, "MR", null, ["MR01"]));
        }
    }

    [Theory]
    [InlineData("scopes: [BJHR]\ninstitutions:\n  - name: A\n    items:\n      - modality: CT\n        scopes: [JJJHR]\n", "not in scopes")]
    [InlineData("institutions:\n  - name: A\n    colour: red\n", "YAML")]
    [InlineData("institutions:\n  - items: []\n", "no name")]
    public void Bad_registries_are_rejected_with_a_reason(string yaml, string expected)
    {
        var ex = Assert.Throws<HrRegistryException>(() => HrRegistry.Parse(yaml, json: false));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scope_order_is_configurable()
    {
        var reg = HrRegistry.Parse("scopes: [BJHR, JJJHR]\ninstitutions:\n  - name: 甲医院\n    items:\n      - modality: CT\n        scopes: [JJJHR, BJHR]\n", json: false);
        Assert.Equal(["BJHR", "JJJHR"], reg.HeldScopes(reg.Find("甲医院")!, "CT", null, []));
    }
}
