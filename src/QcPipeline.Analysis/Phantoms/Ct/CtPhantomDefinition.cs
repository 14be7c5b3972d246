using System.Text.Json;
using System.Text.Json.Serialization;

namespace QcPipeline.Analysis.Phantoms.Ct;

/// <summary>An insert of known material, placed relative to the phantom centre in image axes (x to the right,
/// y down, mm). Measured as a circular ROI; judged against <see cref="ExpectedHu"/> ± <see cref="ToleranceHu"/>
/// when both are given (a limit set entry named after the metric wins).</summary>
public sealed record CtInsert(string Name, double XMm, double YMm, double DiameterMm, double? ExpectedHu = null, double? ToleranceHu = null);

/// <summary>Geometry of a CT constancy phantom as data (DESIGN.md: "phantom geometry and limits are data, not code"),
/// so that a new phantom needs a JSON file and no code. ROI rules default to STANDARDS.md §1.</summary>
public sealed record CtPhantomDefinition
{
    public required string Name { get; init; }
    /// <summary>Nominal outer diameter (mm); the analysis measures the real one and warns on a large difference.</summary>
    public required double NominalDiameterMm { get; init; }
    /// <summary>ROI diameter as a fraction of the measured phantom diameter (STANDARDS.md §1: ≈ 10 %, default).</summary>
    public double RoiDiameterFraction { get; init; } = 0.10;
    /// <summary>Distance from the edge of a peripheral ROI to the phantom edge (STANDARDS.md §1: ≈ 10 mm, default).</summary>
    public double EdgeInsetMm { get; init; } = 10;
    public IReadOnlyList<CtInsert> Inserts { get; init; } = [];

    public static CtPhantomDefinition Water160 { get; } = new() { Name = "ct-water-160", NominalDiameterMm = 160 };
    public static CtPhantomDefinition Water200 { get; } = new() { Name = "ct-water-200", NominalDiameterMm = 200 };
    public static CtPhantomDefinition Water320 { get; } = new() { Name = "ct-water-320", NominalDiameterMm = 320 };

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Reads a definition such as <c>phantoms/definitions/ct-water-200.json</c>.</summary>
    /// <exception cref="FormatException">the JSON is not a valid definition</exception>
    public static CtPhantomDefinition FromJson(string json)
    {
        CtPhantomDefinition? d;
        try { d = JsonSerializer.Deserialize<CtPhantomDefinition>(json, JsonOptions); }
        catch (JsonException e) { throw new FormatException($"invalid CT phantom definition: {e.Message}", e); }
        if (d is null) throw new FormatException("empty CT phantom definition");
        d.Validate();
        return d;
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <exception cref="FormatException">a value is out of range</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new FormatException("a CT phantom definition needs a \"name\"");
        if (!(NominalDiameterMm > 0)) throw new FormatException($"{Name}: nominalDiameterMm must be > 0");
        if (!(RoiDiameterFraction > 0 && RoiDiameterFraction <= 0.5)) throw new FormatException($"{Name}: roiDiameterFraction must be in (0, 0.5]");
        if (!(EdgeInsetMm >= 0)) throw new FormatException($"{Name}: edgeInsetMm must be ≥ 0");
        foreach (var i in Inserts ?? [])
        {
            if (string.IsNullOrWhiteSpace(i.Name)) throw new FormatException($"{Name}: every insert needs a name");
            if (!(i.DiameterMm > 0)) throw new FormatException($"{Name}: insert {i.Name} needs diameterMm > 0");
        }
    }
}
