using QcPipeline.Service.Workers;

namespace QcPipeline.Service.Tests;

public sealed class SeriesRoutingTests
{
    private static Dictionary<string, string?> A(params (string Key, string? Value)[] kv) => kv.ToDictionary(x => x.Key, x => x.Value);

    [Theory]
    [InlineData("PatientName", "QC^CT")]
    [InlineData("PatientName", "qc daily")]
    [InlineData("PatientID", "CT-PHANTOM-01")]
    [InlineData("StudyDescription", "Water Phantom constancy")]
    [InlineData("SeriesDescription", "水模 120kV")]
    [InlineData("PatientName", "头部模体")]
    [InlineData("PatientName", "  QC  ")]
    public void Default_rules_recognise_phantom_naming_conventions(string key, string value)
    {
        var route = SeriesRouting.Default.Route(A(("Modality", "CT"), (key, value)));
        Assert.True(route.IsQc);
        Assert.Equal(["auto"], route.Profiles);
        Assert.Equal(["phantom-names"], route.Rules);
    }

    [Theory]
    [InlineData("DOE^JOHN")]
    [InlineData("AQC")]        // QC* is anchored at the start
    [InlineData("PHANTO")]
    [InlineData("")]
    public void A_clinical_series_is_not_routed_to_phantom_analyses(string name)
    {
        var route = SeriesRouting.Default.Route(A(("Modality", "CT"), ("PatientName", name), ("StudyDescription", "CHEST")));
        Assert.False(route.IsQc);
        Assert.Empty(route.Rules);
    }

    [Fact]
    public void File_rules_need_every_match_key_and_any_of_a_key_s_patterns()
    {
        var routing = SeriesRouting.Parse("""
            useDefaults: false
            rules:
              - name: ct-daily
                match:
                  Modality: CT
                  StationName: [CT01, "CT2?-*"]
                profiles: [ct-water]
              - name: dr-flat
                match: { Modality: [DX, CR] }
                matchAny:
                  SeriesDescription: "*FLAT*"
                  ProtocolName: "*UNIFORM*"
                profiles: [dr-uniformity, dr-dark]
            """);
        Assert.Equal(["ct-water"], routing.Route(A(("Modality", "CT"), ("StationName", "ct01"))).Profiles);
        Assert.Equal(["ct-water"], routing.Route(A(("Modality", "CT"), ("StationName", "CT23-EAST"))).Profiles);
        Assert.False(routing.Route(A(("Modality", "CT"), ("StationName", "CT3-EAST"))).IsQc);
        Assert.False(routing.Route(A(("Modality", "MR"), ("StationName", "CT01"))).IsQc);
        Assert.False(routing.Route(A(("Modality", "CT"))).IsQc); // a missing attribute matches nothing
        Assert.Equal(["dr-uniformity", "dr-dark"], routing.Route(A(("Modality", "DX"), ("ProtocolName", "Uniformity 70kV"))).Profiles);
        Assert.False(routing.Route(A(("Modality", "DX"), ("SeriesDescription", "CHEST PA"))).IsQc);
        // useDefaults: false drops the phantom-name rule
        Assert.False(routing.Route(A(("Modality", "CT"), ("PatientName", "QC^CT"))).IsQc);
    }

    [Fact]
    public void Defaults_and_file_rules_combine_without_repeating_a_profile()
    {
        var routing = SeriesRouting.Parse("""
            rules:
              - name: mr-by-station
                match: { Modality: MR, StationName: "MR*" }
                profiles: [mr-uniform, auto]
            """);
        var route = routing.Route(A(("Modality", "MR"), ("StationName", "MR1"), ("PatientName", "QC^MR")));
        Assert.Equal(["auto", "mr-uniform"], route.Profiles);
        Assert.Equal(["phantom-names", "mr-by-station"], route.Rules);
    }

    [Theory]
    [InlineData("rules:\n  - name: x\n    match: { PatientSex: M }\n    profiles: [auto]", "'PatientSex' is not one of")]
    [InlineData("rules:\n  - name: x\n    match: { Modality: CT }\n    profiles: [ct-magic]", "unknown profile 'ct-magic'")]
    [InlineData("rules:\n  - name: x\n    profiles: [auto]", "would match every series")]
    [InlineData("rules:\n  - name: x\n    match: { Modality: CT }", "names no profiles")]
    [InlineData("rules:\n  - name: x\n    match: { Modality: CT }\n    profiles: [auto]\n  - name: x\n    match: { Modality: MR }\n    profiles: [auto]", "defined twice")]
    [InlineData("rules:\n  - name: x\n    match: { Modality: {a: b} }\n    profiles: [auto]", "must be a pattern or a list")]
    [InlineData("rules: [\n", "not valid YAML")]
    public void A_bad_routing_file_is_refused_with_a_clear_message(string text, string expected)
    {
        var ex = Assert.Throws<RoutingException>(() => SeriesRouting.Parse(text));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("*", "", true)]
    [InlineData("A*B?D", "axxbcd", true)]
    [InlineData("A*B?D", "axxbd", false)]
    [InlineData("*PHANTOM*", "CT phantom 1", true)]
    [InlineData("**", "x", true)]
    [InlineData("?", "", false)]
    public void Wildcards_match_the_whole_value_ignoring_case(string pattern, string value, bool expected) =>
        Assert.Equal(expected, Wildcard.Matches(pattern, value));
}
