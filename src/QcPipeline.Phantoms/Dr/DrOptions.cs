namespace QcPipeline.Phantoms.Dr;

public enum DrResponse { Linear, Logarithmic }
public enum DrPresentationIntent { ForProcessing, ForPresentation }

/// <summary>A DR detector constancy session: flat field, signal-transfer series, dark image and lag pair.
/// Kerma in µGy at the detector; pixel values (PV) in MONOCHROME2 sense (the stored values are inverted for
/// MONOCHROME1).</summary>
public sealed record DrOptions
{
    public int Seed { get; init; } = 1;
    public int Width { get; init; } = 1024;
    public int Height { get; init; } = 1024;
    public double PixelSpacingMm { get; init; } = 0.4;
    public string Photometric { get; init; } = "MONOCHROME2";
    public DrPresentationIntent PresentationIntent { get; init; } = DrPresentationIntent.ForProcessing;
    public int BitsStored { get; init; } = 14;

    // --- response: linear PV = Gain·K + Offset + Quadratic·K²; logarithmic PV = LogGain·ln(K / 1 µGy) + LogOffset
    public DrResponse Response { get; init; } = DrResponse.Linear;
    public double Gain { get; init; } = 400;
    public double Offset { get; init; } = 100;
    /// <summary>A non-linearity (PV per µGy²) that lowers the signal-transfer R² by a known amount.</summary>
    public double Quadratic { get; init; }
    public double LogGain { get; init; } = 1000;
    public double LogOffset { get; init; } = 2000;
    /// <summary>Dark (unexposed) level of a logarithmic detector; a linear one shows <see cref="Offset"/>.</summary>
    public double LogDarkPv { get; init; } = 100;

    // --- field
    public double ReferenceKermaUgy { get; init; } = 2.5;
    public IReadOnlyList<double> SignalTransferKermasUgy { get; init; } = [0.5, 1, 2.5, 5, 10];
    /// <summary>Heel effect: linear kerma gradient along the anode–cathode axis (image columns, top = cathode),
    /// total fractional change from the top row to the bottom row.</summary>
    public double HeelGradient { get; init; } = 0.06;
    /// <summary>Source–detector distance: inverse-square and obliquity fall-off (SID² / (SID² + r²))^{3/2}.</summary>
    public double SidMm { get; init; } = 1000;
    /// <summary>Peak amplitude of the smooth low-frequency gain map (fraction).</summary>
    public double GainNonUniformity { get; init; } = 0.01;

    // --- noise and defects
    /// <summary>Quantum noise: var(K) = this × K (µGy²/µGy), i.e. Poisson-like, Gaussian-distributed.</summary>
    public double QuantumVarianceUgy { get; init; } = 2.5e-4;
    public double ReadNoisePv { get; init; } = 3;
    public int DeadPixels { get; init; }
    public int DeadLines { get; init; }

    // --- lag
    /// <summary>Residual signal in the next image as a fraction of the previous image's signal (PV − dark).</summary>
    public double LagFraction { get; init; } = 0.02;
    /// <summary>Transmission of the attenuator block (a centred square of side min(W,H)/4) in the first lag exposure.</summary>
    public double AttenuatorTransmission { get; init; } = 0.05;

    public bool IncludeSignalTransfer { get; init; } = true;
    public bool IncludeDark { get; init; } = true;
    public bool IncludeLag { get; init; } = true;

    // --- header
    public double Kvp { get; init; } = 70;
    /// <summary>Detector air kerma per mAs, which sets the mAs written for each image (ExposureInuAs ∝ kerma).</summary>
    public double KermaPerMasUgy { get; init; } = 1.0;

    public PhantomHeader Header { get; init; } = new()
    {
        PatientName = "QC^DR FLAT",
        StudyDescription = "QC DR detector constancy",
        SeriesDescription = "Flat field",
        StationName = "DR01",
        ManufacturerModelName = "SimDR 43",
        BodyPartExamined = "CHEST",
    };

    internal void Validate()
    {
        if (Width < 32 || Height < 32) throw new ArgumentOutOfRangeException(nameof(Width), "at least 32 × 32");
        if (Photometric is not ("MONOCHROME1" or "MONOCHROME2")) throw new ArgumentOutOfRangeException(nameof(Photometric));
        if (BitsStored is < 10 or > 16) throw new ArgumentOutOfRangeException(nameof(BitsStored));
        if (IncludeSignalTransfer && SignalTransferKermasUgy.Count < 4) throw new ArgumentException("the signal transfer needs at least 4 kerma values");
        if (SignalTransferKermasUgy.Any(k => k <= 0) || ReferenceKermaUgy <= 0) throw new ArgumentException("kerma must be positive");
    }
}
