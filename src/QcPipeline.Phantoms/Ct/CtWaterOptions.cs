namespace QcPipeline.Phantoms.Ct;

/// <summary>Reconstruction kernels: the ramp filter times an apodisation window (PS3.3 leaves (0018,1210)
/// vendor-defined; these names are ours). Hann windows W(f) = ½(1 + cos(π f / f_c)) cut off at f_c =
/// 0.5 (soft), 0.8 (standard) or 1.0 (sharp) × the detector Nyquist frequency.</summary>
public enum CtKernel { RamLak, SheppLogan, Soft, Standard, Sharp }

/// <summary>A CT water phantom scan. Lengths in mm, linear attenuation in mm⁻¹ at the effective energy.</summary>
public sealed record CtWaterOptions
{
    public int Seed { get; init; } = 1;

    // --- object
    /// <summary>Water cylinder diameter: 200 (default), 160 or 320 mm — any value the scan field holds.</summary>
    public double PhantomDiameterMm { get; init; } = 200;
    /// <summary>Cylinder centre relative to the isocentre (x to the image right, y to the image bottom = posterior for HFS).</summary>
    public double OffsetXMm { get; init; }
    public double OffsetYMm { get; init; }
    /// <summary>A thin acrylic holder slab directly below the cylinder.</summary>
    public bool IncludeHolder { get; init; } = true;
    public double HolderThicknessMm { get; init; } = 8;
    public double HolderWidthMm { get; init; } = 260;
    /// <summary>Effective-energy μ of water (≈ 70 keV) and of PMMA (≈ +120 HU); air is 0.</summary>
    public double MuWaterPerMm { get; init; } = 0.0192;
    public double MuHolderPerMm { get; init; } = 0.0215;

    // --- acquisition
    public double Kvp { get; init; } = 120;
    public double TubeCurrentMa { get; init; } = 250;
    public double ExposureTimeMs { get; init; } = 1000;
    public double ExposureMas => TubeCurrentMa * ExposureTimeMs / 1000.0;
    /// <summary>Incident photons per detector ray per mAs per mm of slice thickness: the dose scale. The count per
    /// ray is this × mAs × slice thickness, so the noise σ goes as 1/√(mAs × thickness).</summary>
    public double PhotonsPerMasPerMm { get; init; } = 1500;
    /// <summary>Header only: CTDIvol written to (0018,9345) = this × mAs.</summary>
    public double CtdiVolPerMas { get; init; } = 0.075;
    public int Views { get; init; } = 720;
    /// <summary>Detector channel spacing at the isocentre; channels cover <see cref="ScanFieldMm"/>.</summary>
    public double DetectorSpacingMm { get; init; } = 0.5;
    public double ScanFieldMm { get; init; } = 500;
    /// <summary>Gaussian focal-spot/detector blur σ at the isocentre (applied to every projection).</summary>
    public double FocalSpotSigmaMm { get; init; } = 0.25;

    // --- artefacts and calibration
    /// <summary>CT-number offset added to every reconstructed value (a mis-calibration of known size).</summary>
    public double CtNumberOffsetHu { get; init; }
    /// <summary>Beam-hardening polynomial on the line integral: p' = p − k·p²/p_ref with p_ref = μ_water × diameter,
    /// so the central ray loses the fraction k. k &gt; 0 gives cupping, k &lt; 0 capping.</summary>
    public double CuppingFraction { get; init; }
    /// <summary>Number of detector channels (chosen by the seed among those crossing the phantom) with a gain error.</summary>
    public int RingChannels { get; init; }
    /// <summary>Relative gain error of each ring channel (sign chosen by the seed).</summary>
    public double RingGainError { get; init; } = 0.01;

    // --- reconstruction and storage
    public CtKernel Kernel { get; init; } = CtKernel.Standard;
    /// <summary>512 (default), 768 or 1024.</summary>
    public int Matrix { get; init; } = 512;
    /// <summary>Display field of view; null: 250 mm up to a 200 mm phantom, else diameter + 80 mm rounded up to 50 mm.</summary>
    public double? FovMm { get; init; }
    public double SliceThicknessMm { get; init; } = 5;
    public int SliceCount { get; init; } = 1;
    /// <summary>Table position (z) of the first slice; slices follow at spacing = thickness.</summary>
    public double FirstSliceZMm { get; init; }
    /// <summary>−1024 (default), −1000 or 0.</summary>
    public int RescaleIntercept { get; init; } = -1024;
    /// <summary>Pixel Representation 1 (signed 16 bits stored) or 0 (unsigned 12 bits stored). Values beyond the
    /// stored range are clamped — e.g. intercept 0 unsigned clamps everything below 0 HU.</summary>
    public bool SignedPixels { get; init; }

    public PhantomHeader Header { get; init; } = new();

    public double EffectiveFovMm => FovMm ?? (PhantomDiameterMm <= 200 ? 250 : Math.Ceiling((PhantomDiameterMm + 80) / 50) * 50);

    internal void Validate()
    {
        if (PhantomDiameterMm <= 0) throw new ArgumentOutOfRangeException(nameof(PhantomDiameterMm));
        if (Matrix is < 64 or > 2048) throw new ArgumentOutOfRangeException(nameof(Matrix));
        if (SliceCount < 1) throw new ArgumentOutOfRangeException(nameof(SliceCount));
        if (Views < 16) throw new ArgumentOutOfRangeException(nameof(Views));
        if (RescaleIntercept is not (-1024 or -1000 or 0)) throw new ArgumentOutOfRangeException(nameof(RescaleIntercept), "−1024, −1000 or 0");
        double reach = Math.Sqrt(OffsetXMm * OffsetXMm + OffsetYMm * OffsetYMm) + PhantomDiameterMm / 2;
        if (IncludeHolder) reach = Math.Max(reach, Math.Sqrt(Math.Pow(Math.Abs(OffsetXMm) + HolderWidthMm / 2, 2) + Math.Pow(Math.Abs(OffsetYMm) + PhantomDiameterMm / 2 + HolderThicknessMm, 2)));
        if (reach >= ScanFieldMm / 2) throw new ArgumentException($"the object reaches {reach:F0} mm from the isocentre, beyond the {ScanFieldMm} mm scan field");
    }
}
