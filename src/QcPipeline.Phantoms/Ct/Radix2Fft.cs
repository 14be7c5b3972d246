namespace QcPipeline.Phantoms.Ct;

/// <summary>In-place iterative radix-2 complex FFT on split float arrays with precomputed twiddles and
/// bit-reversal table, for the per-view filtering. MathNet's managed FFT parallelises internally and is slow to
/// warm up, which costs more than the transform itself when thousands of short rows are filtered in a
/// Parallel.For; MathNet still builds the filter response once.</summary>
internal sealed class Radix2Fft
{
    private readonly int _n;
    private readonly int[] _reverse;
    private readonly float[] _cos, _sin;

    public Radix2Fft(int n)
    {
        if (n < 2 || (n & (n - 1)) != 0) throw new ArgumentException("length must be a power of two", nameof(n));
        _n = n;
        int bits = System.Numerics.BitOperations.Log2((uint)n);
        _reverse = new int[n];
        for (int i = 0; i < n; i++)
        {
            int r = 0;
            for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
            _reverse[i] = r;
        }
        _cos = new float[n / 2]; _sin = new float[n / 2];
        for (int k = 0; k < n / 2; k++) { _cos[k] = (float)Math.Cos(2 * Math.PI * k / n); _sin[k] = (float)Math.Sin(2 * Math.PI * k / n); }
    }

    /// <summary>X[k] = Σ x[j] e^{∓2πi jk/n} (forward: minus), unscaled.</summary>
    public void Transform(float[] re, float[] im, bool inverse)
    {
        int n = _n;
        for (int i = 0; i < n; i++)
        {
            int j = _reverse[i];
            if (j > i) { (re[i], re[j]) = (re[j], re[i]); (im[i], im[j]) = (im[j], im[i]); }
        }
        float sign = inverse ? 1f : -1f;
        for (int size = 2; size <= n; size <<= 1)
        {
            int half = size >> 1, stride = n / size;
            for (int start = 0; start < n; start += size)
            {
                for (int k = 0; k < half; k++)
                {
                    float wr = _cos[k * stride], wi = sign * _sin[k * stride];
                    int a = start + k, b = a + half;
                    float tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - tr; im[b] = im[a] - ti;
                    re[a] += tr; im[a] += ti;
                }
            }
        }
    }
}
