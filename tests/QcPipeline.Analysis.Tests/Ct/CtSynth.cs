using MathNet.Numerics;

namespace QcPipeline.Analysis.Tests.Ct;

/// <summary>Analytic water-phantom slices with exact truth: a disc of water (plus optional offset, cupping or a
/// regional offset) in air, Gaussian noise of known σ (or a ±a checkerboard whose sample σ is a), the edge blurred
/// by a Gaussian PSF of known σ (point-sampled, so the MTF is exactly exp(−2π²σ²f²)), and a table below.</summary>
internal sealed record CtSynth
{
    public int Matrix { get; init; } = 512;
    public double FovMm { get; init; } = 250;
    public double DiameterMm { get; init; } = 200;
    public double OffsetXMm { get; init; }
    public double OffsetYMm { get; init; }
    public double WaterHu { get; init; }
    public double AirHu { get; init; } = -1000;
    public double NoiseSd { get; init; } = 5;
    public double AirNoiseSd { get; init; } = 5;
    /// <summary>Checkerboard ±NoiseSd instead of Gaussian noise (its sample SD is NoiseSd to 0.1 %).</summary>
    public bool Checkerboard { get; init; }
    /// <summary>HU(r) = water + Cup·(r/R)²; the ROI-mean difference at distance d is exactly Cup·d²/R².</summary>
    public double CupHu { get; init; }
    /// <summary>Extra HU inside the phantom as a function of (x, y) in mm from the phantom centre (y down).</summary>
    public Func<double, double, double>? Extra { get; init; }
    public double EdgeSigmaMm { get; init; } = 0.4;
    public bool Table { get; init; } = true;
    public double TableGapMm { get; init; } = 5;
    public double TableHu { get; init; } = 50;
    /// <summary>Pixels outside a circle of this radius around the image centre are padding (NaN).</summary>
    public double? FovRadiusMm { get; init; }
    /// <summary>A square phantom of side DiameterMm instead of a disc.</summary>
    public bool Square { get; init; }
    public int Seed { get; init; } = 1;
    public string Modality { get; init; } = "CT";
    public double? SlicePosition { get; init; }
    public bool NoSpacing { get; init; }

    public double Spacing => FovMm / Matrix;
    public double R => DiameterMm / 2;

    public AnalysisImage Build()
    {
        int n = Matrix;
        double s = Spacing, c = (n - 1) / 2.0;
        var px = new float[n * n];
        var rng = new Random(Seed);
        double tableTop = OffsetYMm + R + TableGapMm;
        for (int j = 0; j < n; j++)
        {
            double ym = (j - c) * s;
            for (int i = 0; i < n; i++)
            {
                double xm = (i - c) * s;
                if (FovRadiusMm is { } fr && xm * xm + ym * ym > fr * fr) { px[j * n + i] = float.NaN; continue; }
                double dx = xm - OffsetXMm, dy = ym - OffsetYMm;
                double dist = Square ? R - Math.Max(Math.Abs(dx), Math.Abs(dy)) : R - Math.Sqrt(dx * dx + dy * dy);
                double phi = EdgeSigmaMm > 0 ? 0.5 * (1 + SpecialFunctions.Erf(dist / (EdgeSigmaMm * Math.Sqrt(2)))) : dist >= 0 ? 1 : 0;
                double rr = (dx * dx + dy * dy) / (R * R);
                double inside = WaterHu + CupHu * rr + (Extra?.Invoke(dx, dy) ?? 0);
                double background = Table && ym >= tableTop && ym <= tableTop + 15 ? TableHu : AirHu;
                double noiseW, noiseA;
                if (Checkerboard) { noiseW = ((i + j) & 1) == 0 ? NoiseSd : -NoiseSd; noiseA = ((i + j) & 1) == 0 ? AirNoiseSd : -AirNoiseSd; }
                else { noiseW = NoiseSd * Gauss(rng); noiseA = AirNoiseSd * Gauss(rng); }
                px[j * n + i] = (float)(background + (inside - background) * phi + noiseW * phi + noiseA * (1 - phi));
            }
        }
        return new AnalysisImage
        {
            Width = n,
            Height = n,
            Pixels = px,
            PixelSpacingX = NoSpacing ? null : s,
            PixelSpacingY = NoSpacing ? null : s,
            Modality = Modality,
            SlicePosition = SlicePosition,
            SopInstanceUid = $"1.2.3.{Seed}",
        };
    }

    /// <summary>Slices at 5 mm steps with different noise seeds.</summary>
    public IReadOnlyList<AnalysisImage> Series(int count = 3)
    {
        var list = new List<AnalysisImage>(count);
        for (int k = 0; k < count; k++) list.Add((this with { Seed = Seed + 101 * k, SlicePosition = 5.0 * k }).Build());
        return list;
    }

    private static double Gauss(Random rng)
    {
        double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
