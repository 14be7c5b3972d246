namespace QcPipeline.Analysis.Phantoms.Ct;

/// <summary>How the phantom is found on a slice. All values are *defaults* of ours (STANDARDS.md is silent).</summary>
public sealed record CtDetectionOptions
{
    /// <summary>Pixels above this value are "object" (halfway between air, −1000, and water, 0).</summary>
    public double ThresholdHu { get; init; } = -500;
    /// <summary>Smaller objects are not a water phantom (the 160 mm head phantom is the smallest in use).</summary>
    public double MinDiameterMm { get; init; } = 100;
    /// <summary>Objects with fewer pixels are ignored as "no phantom".</summary>
    public int MinPhantomPixels { get; init; } = 200;
    /// <summary>RMS distance of the edge points kept by the robust circle fit from the circle.</summary>
    public double MaxCircleRmsMm { get; init; } = 1.0;
    /// <summary>Share of the edge points the robust circle fit must keep (the rest: table contact, defects).</summary>
    public double MinInlierFraction { get; init; } = 0.8;
}

/// <summary>Options of <see cref="CtWaterAnalysis"/>. Values marked *default* in STANDARDS.md §1 live in
/// <see cref="Phantom"/>; the rest are our defaults.</summary>
public sealed record CtWaterOptions
{
    public CtPhantomDefinition Phantom { get; init; } = CtPhantomDefinition.Water200;
    public CtDetectionOptions Detection { get; init; } = new();
    /// <summary>The aggregate is taken over this many central slices of the ordered series (all when fewer).</summary>
    public int CentralSlices { get; init; } = 3;
    /// <summary>CT_air used for the noise when no air can be measured (STANDARDS.md §1).</summary>
    public double AssumedAirHu { get; init; } = -1000;
    public double AirRoiDiameterMm { get; init; } = 10;
    /// <summary>Gap between the phantom edge and the air ROIs' edge.</summary>
    public double AirGapMm { get; init; } = 10;
    /// <summary>An air ROI counts only with this many pixels, none of them padding or above the threshold.</summary>
    public int MinAirPixels { get; init; } = 50;
    /// <summary>Fewer pixels in a phantom ROI make its metric inconclusive.</summary>
    public int MinRoiPixels { get; init; } = 10;
    /// <summary>STANDARDS.md §1 image rule: matrix ≥ 512×512.</summary>
    public int MinMatrix { get; init; } = 512;
    /// <summary>STANDARDS.md §1 image rule "ROI centred": a larger offset of the phantom centre is a warning.</summary>
    public double MaxCentringOffsetMm { get; init; } = 10;
    /// <summary>Relative difference between measured and nominal diameter that is worth a warning.</summary>
    public double DiameterTolerance { get; init; } = 0.05;
    /// <summary>Relative deviation of a slice gap from the median gap that counts as irregular.</summary>
    public double SliceSpacingTolerance { get; init; } = 0.1;
}

/// <summary>Options of <see cref="CtMtfAnalysis"/> (all *defaults* of ours).</summary>
public sealed record CtMtfOptions
{
    public CtDetectionOptions Detection { get; init; } = new();
    public int CentralSlices { get; init; } = 3;
    /// <summary>The edge-spread function is sampled from R − w to R + w.</summary>
    public double EdgeHalfWidthMm { get; init; } = 8;
    /// <summary>Radial bin width of the oversampled ESF, in pixels.</summary>
    public double BinWidthPixels { get; init; } = 0.1;
    /// <summary>Full angle of the sector around 6 o'clock left out (the table lies there).</summary>
    public double ExcludedTableSectorDegrees { get; init; } = 90;
    public double MinEdgeContrastHu { get; init; } = 300;
    /// <summary>RMS of the line-spread function in its tails over its peak above which the ESF is "too noisy".</summary>
    public double MaxLsfTailNoiseRatio { get; init; } = 0.1;
    public double SliceSpacingTolerance { get; init; } = 0.1;
}
