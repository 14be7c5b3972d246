using System.Numerics;
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
    private readonly double[] _filter; // frequency response, length _padded

    public ParallelBeamFbp(int views, int channels, double detectorSpacing, int matrix, double pixelSize, CtKernel kernel, double blurSigma)
    {
        _views = views; _channels = channels; _ds = detectorSpacing; _matrix = matrix; _pixel = pixelSize;
        _cos = new double[views]; _sin = new double[views];
        for (int v = 0; v < views; v++) { double a = Math.PI * v / views; _cos[v] = Math.Cos(a); _sin[v] = Math.Sin(a); }
        _padded = 1;
        while (_padded < 2 * channels) _padded <<= 1;
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

    private static double[] BuildFilter(int n, double ds, CtKernel kernel, double sigma)
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
        var filter = new double[n];
        for (int k = 0; k < n; k++)
        {
            double f = Math.Min(k, n - k) / (n * ds);
            // × ds: the discrete convolution stands for the integral.
            filter[k] = h[k].Real * ds * Window(kernel, f, ds) * Math.Exp(-2 * Math.PI * Math.PI * sigma * sigma * f * f);
        }
        return filter;
    }

    /// <summary>Reconstructs μ (mm⁻¹) on a matrix × matrix grid centred on the isocentre from a sinogram
    /// [view × channel] of line integrals.</summary>
    public float[] Reconstruct(float[] sinogram)
    {
        var filtered = new float[_views * _channels];
        int pairs = (_views + 1) / 2;
        Parallel.For(0, pairs, () => new Complex[_padded], (pair, _, buffer) =>
        {
            // Two real projections in one complex FFT: the filter is real and even, so the real and imaginary
            // parts stay separate.
            int a = 2 * pair, b = a + 1;
            Array.Clear(buffer);
            for (int i = 0; i < _channels; i++)
                buffer[i] = new Complex(sinogram[a * _channels + i], b < _views ? sinogram[b * _channels + i] : 0);
            Fourier.Forward(buffer, FourierOptions.NoScaling);
            for (int k = 0; k < _padded; k++) buffer[k] *= _filter[k];
            Fourier.Inverse(buffer, FourierOptions.NoScaling);
            double scale = 1.0 / _padded;
            for (int i = 0; i < _channels; i++)
            {
                filtered[a * _channels + i] = (float)(buffer[i].Real * scale);
                if (b < _views) filtered[b * _channels + i] = (float)(buffer[i].Imaginary * scale);
            }
            return buffer;
        }, _ => { });

        var image = new float[_matrix * _matrix];
        double half = (_matrix - 1) / 2.0, t0 = ChannelPosition(0);
        float weight = (float)(Math.PI / _views);
        int last = _channels - 1;
        Parallel.For(0, _matrix, row =>
        {
            var acc = new float[_matrix];
            double y = (row - half) * _pixel, x0 = -half * _pixel;
            for (int v = 0; v < _views; v++)
            {
                var q = filtered.AsSpan(v * _channels, _channels);
                double start = (x0 * _cos[v] + y * _sin[v] - t0) / _ds;
                double step = _pixel * _cos[v] / _ds;
                for (int c = 0; c < _matrix; c++)
                {
                    double fi = start + c * step;
                    int i = (int)fi;
                    if ((uint)i >= (uint)last) continue;
                    float frac = (float)(fi - i);
                    acc[c] += q[i] + frac * (q[i + 1] - q[i]);
                }
            }
            var dst = image.AsSpan(row * _matrix, _matrix);
            for (int c = 0; c < _matrix; c++) dst[c] = acc[c] * weight;
        });
        return image;
    }
}
