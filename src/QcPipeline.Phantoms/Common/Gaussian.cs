namespace QcPipeline.Phantoms.Common;

/// <summary>Standard normal deviates from a seeded <see cref="Random"/> (Box–Muller, both values used).
/// Instance state only: one per generation, never shared.</summary>
internal sealed class Gaussian(Random random)
{
    private double _spare;
    private bool _hasSpare;

    public Random Random { get; } = random;

    public double Next()
    {
        if (_hasSpare) { _hasSpare = false; return _spare; }
        double u1 = 1.0 - Random.NextDouble(), u2 = Random.NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spare = r * Math.Sin(2 * Math.PI * u2);
        _hasSpare = true;
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A Poisson count of mean <paramref name="lambda"/>: exact (inversion) below 50, else the normal
    /// approximation N(λ, λ) rounded and floored at 0 — indistinguishable at the counts CT rays carry.</summary>
    public double Poisson(double lambda)
    {
        if (lambda <= 0) return 0;
        if (lambda < 50)
        {
            double l = Math.Exp(-lambda), p = 1;
            int k = 0;
            do { k++; p *= Random.NextDouble(); } while (p > l);
            return k - 1;
        }
        return Math.Max(0, Math.Round(lambda + Math.Sqrt(lambda) * Next()));
    }
}
