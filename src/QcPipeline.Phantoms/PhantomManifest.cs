using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace QcPipeline.Phantoms;

/// <summary>One region of interest used by a truth definition, in pixel coordinates of the image
/// (a pixel's centre is at its integer column/row index; a pixel belongs to a circle when its centre lies inside).
/// Rectangles are [X, X+Width) × [Y, Y+Height).</summary>
public sealed record TruthRoi(string Label, string Shape, double X, double Y, double Width, double Height, double Radius)
{
    public static TruthRoi Circle(string label, double cx, double cy, double r) => new(label, "circle", cx, cy, 0, 0, r);
    public static TruthRoi Rect(string label, int x, int y, int w, int h) => new(label, "rectangle", x, y, w, h, 0);
}

/// <summary>The true value of one metric. <see cref="Value"/> comes from the noiseless object (or, where the
/// definition says so, from the realised noise); <see cref="PerImage"/> applies the same definition to each
/// noisy stored image, i.e. what a correct analysis reproduces to float precision.</summary>
public sealed record TruthValue
{
    public required double Value { get; init; }
    public required string Unit { get; init; }
    public required string Definition { get; init; }
    /// <summary>Expected agreement of an analysis measuring the noisy images (same units); null when exact.</summary>
    public double? Tolerance { get; init; }
    /// <summary>True when the value is a model prediction rather than a measurement on the noiseless image.</summary>
    public bool Approximate { get; init; }
    public IReadOnlyList<double>? PerImage { get; init; }
    public IReadOnlyList<TruthRoi>? Rois { get; init; }
}

/// <summary>A file of the set; <see cref="AirKermaUgy"/> is the true detector air kerma (DR) the image was made with.</summary>
public sealed record PhantomFile(string Name, string Role, string SopInstanceUid, int InstanceNumber)
{
    public double? AirKermaUgy { get; init; }
}

/// <summary>The manifest of a generated set: its truth, its files and the options it was made with.</summary>
public sealed record PhantomManifest
{
    public const string CurrentGeneratorVersion = "1.0";
    public string Generator { get; init; } = "QcPipeline.Phantoms";
    public string GeneratorVersion { get; init; } = CurrentGeneratorVersion;
    public required string Kind { get; init; }
    public required int Seed { get; init; }
    public required string StudyInstanceUid { get; init; }
    public required string SeriesInstanceUid { get; init; }
    public required IReadOnlyDictionary<string, TruthValue> Truth { get; init; }
    public required IReadOnlyList<PhantomFile> Files { get; init; }
    public required JsonElement Options { get; init; }

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Institution names are Chinese; keep them readable in the file.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static PhantomManifest FromJson(string json) =>
        JsonSerializer.Deserialize<PhantomManifest>(json, JsonOptions) ?? throw new JsonException("empty manifest");
}
