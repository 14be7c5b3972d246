using System.Text.Json.Serialization;

namespace QcPipeline.Analysis;

[JsonConverter(typeof(JsonStringEnumConverter<Verdict>))]
public enum Verdict
{
    Pass,
    Fail,
    /// <summary>The analysis could not judge (phantom missing, wrong input, ...): never a silent pass or fail.</summary>
    Inconclusive,
}

/// <summary>An acceptance range. Either bound may be open; each bound is inclusive unless marked exclusive
/// ("noise &lt; 0.45 %" is an exclusive maximum, "within ±6 HU" inclusive on both sides).</summary>
public sealed record Limit(double? Min = null, double? Max = null, bool MinExclusive = false, bool MaxExclusive = false)
{
    public static Limit Within(double center, double tolerance) => new(center - tolerance, center + tolerance);
    public static Limit AtMost(double max) => new(null, max);
    public static Limit Below(double max) => new(null, max, MaxExclusive: true);
    public static Limit AtLeast(double min) => new(min, null);

    public Verdict Judge(double? value)
    {
        if (value is not { } v || double.IsNaN(v) || double.IsInfinity(v)) return Verdict.Inconclusive;
        if (Min is { } lo && (MinExclusive ? v <= lo : v < lo)) return Verdict.Fail;
        if (Max is { } hi && (MaxExclusive ? v >= hi : v > hi)) return Verdict.Fail;
        return Verdict.Pass;
    }

    public override string ToString() =>
        (Min, Max) switch
        {
            ({ } lo, { } hi) => $"{(MinExclusive ? "(" : "[")}{lo:G6}, {hi:G6}{(MaxExclusive ? ")" : "]")}",
            ({ } lo, null) => $"{(MinExclusive ? ">" : "≥")} {lo:G6}",
            (null, { } hi) => $"{(MaxExclusive ? "<" : "≤")} {hi:G6}",
            _ => "none",
        };
}

/// <summary>One measured quantity with its limit and verdict. <see cref="Name"/> is a stable id (e.g. "ct.water_hu").</summary>
public sealed record MetricResult(string Name, double? Value, string Unit, Limit? Limit, Verdict Verdict, string? Note = null)
{
    public static MetricResult Judge(string name, double? value, string unit, Limit? limit, string? note = null) =>
        new(name, value, unit, limit, limit is null ? (value is null ? Verdict.Inconclusive : Verdict.Pass) : limit.Judge(value), note);

    public static MetricResult Inconclusive(string name, string unit, Limit? limit, string reason) => new(name, null, unit, limit, Verdict.Inconclusive, reason);
}

/// <summary>Where a value was measured, in image pixel coordinates (column = x, row = y, origin at the top-left
/// pixel's centre), so that it can be drawn. <see cref="Frame"/> is the index of the image in the analysed set.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "shape")]
[JsonDerivedType(typeof(CircleRoi), "circle")]
[JsonDerivedType(typeof(RectangleRoi), "rectangle")]
[JsonDerivedType(typeof(LineRoi), "line")]
public abstract record RoiGeometry(string Label, int Frame);

public sealed record CircleRoi(string Label, int Frame, double CenterX, double CenterY, double Radius) : RoiGeometry(Label, Frame);
public sealed record RectangleRoi(string Label, int Frame, double X, double Y, double Width, double Height) : RoiGeometry(Label, Frame);
public sealed record LineRoi(string Label, int Frame, double X1, double Y1, double X2, double Y2) : RoiGeometry(Label, Frame);

/// <summary>Statistics of the pixels inside an ROI.</summary>
public readonly record struct RoiStatistics(double Mean, double StandardDeviation, int Count, double Min, double Max);

/// <summary>The immutable outcome of one analysis of one image set.</summary>
public sealed record AnalysisResult
{
    public required string Profile { get; init; }
    public required string AlgorithmVersion { get; init; }
    public required Verdict Verdict { get; init; }
    public required IReadOnlyList<MetricResult> Metrics { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];
    public IReadOnlyList<RoiGeometry> Rois { get; init; } = [];
    /// <summary>Why the result is inconclusive, when it is.</summary>
    public string? InconclusiveReason { get; init; }
    /// <summary>The limit set the metrics were judged by (id and version).</summary>
    public required LimitSetReference LimitSet { get; init; }
    /// <summary>Per-image detail where the profile measures image by image (e.g. per CT slice).</summary>
    public IReadOnlyList<ImageResult> Images { get; init; } = [];

    /// <summary>Fail if any metric failed; else inconclusive if any metric (or the whole) is inconclusive; else pass.</summary>
    public static Verdict Combine(IEnumerable<MetricResult> metrics, string? inconclusiveReason = null)
    {
        if (inconclusiveReason is not null) return Verdict.Inconclusive;
        bool any = false, inconclusive = false;
        foreach (var m in metrics)
        {
            any = true;
            if (m.Verdict == Verdict.Fail) return Verdict.Fail;
            if (m.Verdict == Verdict.Inconclusive) inconclusive = true;
        }
        return !any || inconclusive ? Verdict.Inconclusive : Verdict.Pass;
    }

    public static AnalysisResult InconclusiveBecause(string profile, string algorithmVersion, LimitSetReference limits, string reason, IReadOnlyList<string>? warnings = null) => new()
    {
        Profile = profile,
        AlgorithmVersion = algorithmVersion,
        Verdict = Verdict.Inconclusive,
        Metrics = [],
        InconclusiveReason = reason,
        Warnings = warnings ?? [],
        LimitSet = limits,
    };
}

/// <summary>Measurements of one image inside a set.</summary>
public sealed record ImageResult(int Frame, string? SopInstanceUid, IReadOnlyList<MetricResult> Metrics, IReadOnlyList<string> Warnings);
