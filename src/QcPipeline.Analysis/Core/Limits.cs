using System.Text.Json;
using System.Text.Json.Serialization;

namespace QcPipeline.Analysis;

[JsonConverter(typeof(JsonStringEnumConverter<LimitKind>))]
public enum LimitKind
{
    /// <summary>State/constancy tests (routine QC): the limits of STANDARDS.md.</summary>
    Constancy,
    /// <summary>Acceptance tests: tighter limits, kept apart.</summary>
    Acceptance,
}

/// <summary>Identifies the limits a result was judged by.</summary>
public sealed record LimitSetReference(string Id, int Version, LimitKind Kind);

/// <summary>A versioned, immutable set of limits keyed by stable metric name. Limits are data: a site overrides
/// them per device and per test kind in a JSON file; every result records the set it was judged by.</summary>
public sealed record LimitSet(string Id, int Version, LimitKind Kind, IReadOnlyDictionary<string, Limit> Limits)
{
    public LimitSetReference Reference => new(Id, Version, Kind);

    public Limit? For(string metric) => Limits.TryGetValue(metric, out var l) ? l : null;

    /// <summary>Defaults quoted from STANDARDS.md (seed 003; MR defaults from the ACR values it names).</summary>
    public static LimitSet Default { get; } = new("default-constancy", 1, LimitKind.Constancy, new Dictionary<string, Limit>(StringComparer.Ordinal)
    {
        // CT (STANDARDS.md §1)
        [MetricNames.CtWaterHu] = Limit.Within(0, 6),
        [MetricNames.CtUniformityHu] = Limit.AtMost(6),
        [MetricNames.CtNoisePercent] = Limit.Below(0.45),
        [MetricNames.CtMtf10] = new Limit(5.0, null, MinExclusive: true),
        // DR (§2)
        [MetricNames.DrUniformityCv] = Limit.AtMost(5.0),
        [MetricNames.DrStpR2] = Limit.AtLeast(0.95),
        [MetricNames.DrLagPercent] = Limit.AtMost(5.0),
        // dr.dark_mean is judged against the device baseline (±50 %), see BaselineLimits.
        // MR (§3, defaults): PIU ≥ 87.5 % below 3 T (82.0 % at 3 T is the field-strength override), ghosting ≤ 2.5 %.
        [MetricNames.MrPiu] = Limit.AtLeast(87.5),
        [MetricNames.MrGhosting] = Limit.AtMost(2.5),
        // mr.snr is judged against the device baseline (±10 %), see BaselineLimits.
    });

    /// <summary>A relative limit around a device baseline (dark noise ±50 %, MR SNR ±10 %, STANDARDS.md §2–3).</summary>
    public static Limit AroundBaseline(double baseline, double relativeTolerance) =>
        new(baseline - Math.Abs(baseline) * relativeTolerance, baseline + Math.Abs(baseline) * relativeTolerance);

    /// <summary>This set with some limits replaced (a device override); the id and version identify the result.</summary>
    public LimitSet With(string id, int version, IReadOnlyDictionary<string, Limit> overrides, LimitKind? kind = null)
    {
        var merged = new Dictionary<string, Limit>(Limits, StringComparer.Ordinal);
        foreach (var (k, v) in overrides) merged[k] = v;
        return new LimitSet(id, version, kind ?? Kind, merged);
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Reads a limits file: {"id","version","kind","limits":{"ct.water_hu":{"min":-4,"max":4},...}}; metrics
    /// it does not name keep their defaults.</summary>
    public static LimitSet Load(string json, LimitSet? basis = null)
    {
        var file = JsonSerializer.Deserialize<LimitFile>(json, JsonOptions) ?? throw new FormatException("empty limits file");
        if (string.IsNullOrWhiteSpace(file.Id)) throw new FormatException("a limits file needs an \"id\"");
        return (basis ?? Default).With(file.Id, file.Version, file.Limits ?? new Dictionary<string, Limit>(), file.Kind);
    }

    public string ToJson() => JsonSerializer.Serialize(new LimitFile { Id = Id, Version = Version, Kind = Kind, Limits = new Dictionary<string, Limit>(Limits) }, JsonOptions);

    private sealed class LimitFile
    {
        public string Id { get; set; } = "";
        public int Version { get; set; } = 1;
        public LimitKind? Kind { get; set; }
        public Dictionary<string, Limit>? Limits { get; set; }
    }
}
