using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MathNet.Numerics.IntegralTransforms;

namespace QcPipeline.Phantoms.Ct;

/// <summary>Parallel-beam filtered back-projection over [0, π) (Kak &amp; Slaney, ch. 3): each projection is
/// convolved with the band-limited ramp (the spatial Ram-Lak kernel, transformed with the FFT so the DC term
/// is right and there is no cupping from the filter), times the kernel window and the Gaussian blur, then
/// back-projected with linear interpolation.</summary>
internal sealed class ParallelBeamFbp
{
    private readonly int _views, _channels, _padded, _matrix;
    private readonly double _ds, _pixel;
    private readonly double[] _cos, _sin;
    private readonly float[] _filter; // frequency response, length _padded
    private readonly Radix2Fft _fft;

    public ParallelBeamFbp(int views, int channels, double detectorSpacing, int matrix, double pixelSize, CtKernel kernel, double blurSigma)
    {
        _views = views; _channels = channels; _ds = detectorSpacing; _matrix = matrix; _pixel = pixelSize;
        _cos = new double[views]; _sin = new double[views];
        for (int v = 0; v < views; v++) { double a = Math.PI * v / views; _cos[v] = Math.Cos(a); _sin[v] = Math.Sin(a); }
        _padded = 1;
        while (_padded < 2 * channels) _padded <<= 1;
        _fft = new Radix2Fft(_padded);
        _filter = BuildFilter(_padded, detectorSpacing, kernel, blurSigma);
    }

    public int Views => _views;
    public int Channels => _channels;
    public double Cos(int v) => _cos[v];
    public double Sin(int v) => _sin[v];
    /// <summary>Detector coordinate (mm) of channel i; channel centres are symmetric about the isocentre.</summary>
    public double ChannelPosition(int i) => (i - (_channels - 1) / 2.0) * _ds;

    /// <summary>The kernel window W(f) at spatial frequency f (cycles/mm), Nyquist = 1/(2·spacing).</summary>
    public static double Window(CtKernel kernel, double f, double spacing)
    {
        double fn = 1 / (2 * spacing);
        switch (kernel)
        {
            case CtKernel.RamLak: return 1;
            case CtKernel.SheppLogan:
                double x = Math.PI * f / (2 * fn);
                return x == 0 ? 1 : Math.Sin(x) / x;
            default:
                double fc = fn * (kernel == CtKernel.Soft ? 0.5 : kernel == CtKernel.Standard ? 0.8 : 1.0);
                return f >= fc ? 0 : 0.5 * (1 + Math.Cos(Math.PI * f / fc));
        }
    }

    private static float[] BuildFilter(int n, double ds, CtKernel kernel, double sigma)
    {
        // Spatial Ram-Lak: h(0) = 1/(4d²), h(k odd) = −1/(π² k² d²), h(k even) = 0, placed circularly.
        var h = new Complex[n];
        h[0] = 1 / (4 * ds * ds);
        for (int k = 1; k < n / 2; k += 2)
        {
            double v = -1 / (Math.PI * Math.PI * k * k * ds * ds);
            h[k] = v; h[n - k] = v;
        }
        Fourier.Forward(h, FourierOptions.NoScaling);
        var filter = new float[n];
        for (int k = 0; k < n; k++)
        {
            double f = Math.Min(k, n - k) / (n * ds);
            // × ds: the discrete convolution stands for the integral.
            filter[k] = (float)(h[k].Real * ds * Window(kernel, f, ds) * Math.Exp(-2 * Math.PI * Math.PI * sigma * sigma * f * f));
        }
        return filter;
    }

    /// <summary>Reconstructs μ (mm⁻¹) on a matrix × matrix grid centred on the isocentre from a sinogram
    /// [view × channel] of line integrals.</summary>
    public float[] Reconstruct(float[] sinogram)
    {
        var filtered = new float[_views * _channels];
        int pairs = (_views + 1) / 2;
        Parallel.For(0, pairs, () => (new float[_padded], new float[_padded]), (pair, _, buffers) =>
        {
            // Two real projections in one complex FFT: the filter is real and even, so the real and imaginary
            // parts stay separate.
            var (re, im) = buffers;
            int a = 2 * pair, b = a + 1;
            Array.Clear(re); Array.Clear(im);
            sinogram.AsSpan(a * _channels, _channels).CopyTo(re);
            if (b < _views) sinogram.AsSpan(b * _channels, _channels).CopyTo(im);
            _fft.Transform(re, im, inverse: false);
            for (int k = 0; k < _padded; k++) { re[k] *= _filter[k]; im[k] *= _filter[k]; }
            _fft.Transform(re, im, inverse: true);
            float scale = 1f / _padded;
            for (int i = 0; i < _channels; i++)
            {
                filtered[a * _channels + i] = re[i] * scale;
                if (b < _views) filtered[b * _channels + i] = im[i] * scale;
            }
            return buffers;
        }, _ => { });

        var image = new float[_matrix * _matrix];
        double half = (_matrix - 1) / 2.0, t0 = ChannelPosition(0);
        float weight = (float)(Math.PI / _views);
        Parallel.For(0, _matrix, row => BackProjectRow(filtered, row, half, t0, weight, image.AsSpan(row * _matrix, _matrix)));
        return image;
    }

    private const double FixedOne = 4294967296.0; // 32.32 fixed point: cheaper than double→int conversions in the hot loop
    private const float FixedFraction = 1f / 4294967296f;

    /// <summary>Accumulates all views into one image row, two views per pass (fewer loads and stores of the row).
    /// Detector positions run in 32.32 fixed point; rays falling off the detector (never, for pixels inside the
    /// scan field) are skipped by clamping the column range.</summary>
    private void BackProjectRow(float[] filtered, int row, double half, double t0, float weight, Span<float> dst)
    {
        var acc = new float[_matrix];
        ref float a0 = ref MemoryMarshal.GetArrayDataReference(acc);
        ref float qb = ref MemoryMarshal.GetArrayDataReference(filtered);
        double y = (row - half) * _pixel, x0 = -half * _pixel;
        for (int v = 0; v < _views; v += 2)
        {
            int w = Math.Min(v + 1, _views - 1);
            double s0 = (x0 * _cos[v] + y * _sin[v] - t0) / _ds, st0 = _pixel * _cos[v] / _ds;
            double s1 = (x0 * _cos[w] + y * _sin[w] - t0) / _ds, st1 = _pixel * _cos[w] / _ds;
            var (c0, c1) = ValidColumns(s0, st0);
            var (d0, d1) = ValidColumns(s1, st1);
            int lo = Math.Max(c0, d0), hi = Math.Min(c1, d1);
            if (lo >= hi) lo = hi = 0;
            float second = w == v ? 0f : 1f;
            ref float q0 = ref Unsafe.Add(ref qb, v * _channels);
            ref float q1 = ref Unsafe.Add(ref qb, w * _channels);
            // Columns outside [lo, hi) for one of the two views: the slow, checked path.
            for (int c = 0; c < lo; c++) { Add1(ref q0, s0 + c * st0, c0, c1, c, 1f); Add1(ref q1, s1 + c * st1, d0, d1, c, second); }
            for (int c = Math.Max(hi, lo); c < _matrix; c++) { Add1(ref q0, s0 + c * st0, c0, c1, c, 1f); Add1(ref q1, s1 + c * st1, d0, d1, c, second); }
            long p0 = (long)((s0 + lo * st0) * FixedOne), dp0 = (long)(st0 * FixedOne);
            long p1 = (long)((s1 + lo * st1) * FixedOne), dp1 = (long)(st1 * FixedOne);
            for (int c = lo; c < hi; c++)
            {
                int i = (int)(p0 >> 32), j = (int)(p1 >> 32);
                float f = (uint)p0 * FixedFraction, g = (uint)p1 * FixedFraction;
                float a = Unsafe.Add(ref q0, i), b = Unsafe.Add(ref q0, i + 1);
                float e = Unsafe.Add(ref q1, j), h = Unsafe.Add(ref q1, j + 1);
                Unsafe.Add(ref a0, c) += a + f * (b - a) + second * (e + g * (h - e));
                p0 += dp0; p1 += dp1;
            }
        }
        for (int c = 0; c < _matrix; c++) dst[c] = acc[c] * weight;

        void Add1(ref float q, double fi, int from, int to, int c, float scale)
        {
            if (c < from || c >= to || scale == 0) return;
            int i = (int)Math.Floor(fi);
            float frac = (float)(fi - i);
            acc[c] += scale * (Unsafe.Add(ref q, i) + frac * (Unsafe.Add(ref q, i + 1) - Unsafe.Add(ref q, i)));
        }
    }

    /// <summary>Columns c with 0 ≤ start + c·step and start + c·step + 1 &lt; channels (both interpolation taps on the detector),
    /// conservatively by one column at each end.</summary>
    private (int From, int To) ValidColumns(double start, double step)
    {
        double lo = 0, hi = _channels - 2; // fi in [0, channels − 2] keeps i and i + 1 inside
        double a, b;
        if (Math.Abs(step) < 1e-12) return start >= lo && start <= hi ? (0, _matrix) : (0, 0);
        a = (lo - start) / step; b = (hi - start) / step;
        if (a > b) (a, b) = (b, a);
        int from = Math.Max(0, (int)Math.Ceiling(a) + 1), to = Math.Min(_matrix, (int)Math.Floor(b));
        return from < to ? (from, to) : (0, 0);
    }
}
