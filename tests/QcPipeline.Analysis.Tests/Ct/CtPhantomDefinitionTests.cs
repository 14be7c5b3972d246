using QcPipeline.Analysis.Phantoms.Ct;

namespace QcPipeline.Analysis.Tests.Ct;

public class CtPhantomDefinitionTests
{
    private static string DefinitionsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "phantoms", "definitions");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("phantoms/definitions not found above the test folder");
    }

    [Theory]
    [InlineData("ct-water-160.json", 160)]
    [InlineData("ct-water-200.json", 200)]
    [InlineData("ct-water-320.json", 320)]
    public void Committed_definitions_load_and_match_the_built_in_ones(string file, double diameter)
    {
        var d = CtPhantomDefinition.FromJson(File.ReadAllText(Path.Combine(DefinitionsFolder(), file)));
        var builtIn = diameter switch { 160 => CtPhantomDefinition.Water160, 200 => CtPhantomDefinition.Water200, _ => CtPhantomDefinition.Water320 };
        Assert.Equal(builtIn.Name, d.Name);
        Assert.Equal(diameter, d.NominalDiameterMm);
        Assert.Equal(builtIn.RoiDiameterFraction, d.RoiDiameterFraction);
        Assert.Equal(builtIn.EdgeInsetMm, d.EdgeInsetMm);
        Assert.Empty(d.Inserts);
    }

    [Fact]
    public void A_definition_with_inserts_round_trips_and_defaults_missing_fields()
    {
        var d = CtPhantomDefinition.FromJson("""{"name":"catphan-like","nominalDiameterMm":150,"inserts":[{"name":"teflon","xMm":0,"yMm":-58,"diameterMm":12,"expectedHu":990,"toleranceHu":40}]}""");
        Assert.Equal(0.10, d.RoiDiameterFraction);
        Assert.Equal(10, d.EdgeInsetMm);
        var back = CtPhantomDefinition.FromJson(d.ToJson());
        Assert.Equal(d.Inserts.Single(), back.Inserts.Single());
    }

    [Theory]
    [InlineData("""{"name":"x","nominalDiameterMm":0}""")]
    [InlineData("""{"name":"","nominalDiameterMm":200}""")]
    [InlineData("""{"name":"x","nominalDiameterMm":200,"roiDiameterFraction":0.9}""")]
    [InlineData("""{"name":"x","nominalDiameterMm":200,"inserts":[{"name":"a","xMm":0,"yMm":0,"diameterMm":0}]}""")]
    [InlineData("""{"nominalDiameterMm":200}""")]
    [InlineData("""not json""")]
    public void Invalid_definitions_are_a_format_error(string json) =>
        Assert.Throws<FormatException>(() => CtPhantomDefinition.FromJson(json));
}
