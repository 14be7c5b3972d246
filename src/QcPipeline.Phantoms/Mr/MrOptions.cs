namespace QcPipeline.Phantoms.Mr;

/// <summary>A uniform MR phantom (ACR-like disc). Signal and noise in stored pixel units.</summary>
public sealed record MrOptions
{
    public int Seed { get; init; } = 1;
    public int Matrix { get; init; } = 256;
    public double FovMm { get; init; } = 250;
    public double PhantomDiameterMm { get; init; } = 190;
    /// <summary>Noiseless magnitude at the phantom centre.</summary>
    public double Signal { get; init; } = 1000;
    /// <summary>σ of the Gaussian noise added to each of the real and imaginary channels (magnitude is Rician).</summary>
    public double NoiseSigma { get; init; } = 10;
    /// <summary>B1 shading, multiplicative: 1 − Quadratic·(r/R)² + Linear·(x − x_c)/R.</summary>
    public double ShadingQuadratic { get; init; } = 0.06;
    public double ShadingLinear { get; init; } = 0.02;
    /// <summary>Ghost: a copy of the object × this amplitude, shifted by <see cref="GhostShiftPixels"/> (null: Matrix/2)
    /// along the phase-encode direction (with wrap-around), added coherently.</summary>
    public double GhostAmplitude { get; init; } = 0.01;
    public int? GhostShiftPixels { get; init; }
    /// <summary>"COL" (vertical, default) or "ROW": DICOM (0018,1312).</summary>
    public string PhaseEncodingDirection { get; init; } = "COL";
    /// <summary>Images with identical object and independent noise (2: the two-image SNR method).</summary>
    public int ImageCount { get; init; } = 2;

    public double MagneticFieldStrengthT { get; init; } = 1.5;
    public double RepetitionTimeMs { get; init; } = 500;
    public double EchoTimeMs { get; init; } = 20;
    public double SliceThicknessMm { get; init; } = 5;
    public double ImagingFrequencyMhz => 42.577478 * MagneticFieldStrengthT;

    public PhantomHeader Header { get; init; } = new()
    {
        PatientName = "QC^MR UNIFORMITY",
        StudyDescription = "QC MR uniform phantom",
        SeriesDescription = "AX T1 SE uniformity",
        StationName = "MR01",
        ManufacturerModelName = "SimMR 1.5T",
        BodyPartExamined = "HEAD",
    };

    internal void Validate()
    {
        if (Matrix is < 64 or > 1024) throw new ArgumentOutOfRangeException(nameof(Matrix));
        if (PhantomDiameterMm >= FovMm - 40) throw new ArgumentException("the phantom must leave ≥ 20 mm of background on each side for the ghosting ROIs");
        if (PhaseEncodingDirection is not ("COL" or "ROW")) throw new ArgumentOutOfRangeException(nameof(PhaseEncodingDirection));
        if (ImageCount < 1) throw new ArgumentOutOfRangeException(nameof(ImageCount));
        if (NoiseSigma <= 0) throw new ArgumentOutOfRangeException(nameof(NoiseSigma));
    }
}
