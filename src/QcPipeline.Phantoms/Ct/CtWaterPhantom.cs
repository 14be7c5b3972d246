using System.Globalization;
using System.Text.Json;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Phantoms.Common;

namespace QcPipeline.Phantoms.Ct;

/// <summary>A water cylinder (with an optional acrylic holder) scanned in parallel-beam geometry: analytic line
/// integrals, Poisson quantum noise, optional beam-hardening cupping/capping and ring artefacts, FBP, HU and
/// quantisation to stored values. Truth comes from the same reconstruction without quantum noise.</summary>
public static class CtWaterPhantom
{
    public const string WaterHu = QcPipeline.Analysis.MetricNames.CtWaterHu;
    public const string NoisePercent = QcPipeline.Analysis.MetricNames.CtNoisePercent;
    public const string UniformityHu = QcPipeline.Analysis.MetricNames.CtUniformityHu;
    public const string Mtf10 = QcPipeline.Analysis.MetricNames.CtMtf10;

    private const int SubRays = 4; // sub-rays per channel: the detector aperture averages intensity over its width

    /// <summary>Generates the series and writes it (files + manifest.json) into <paramref name="outputDir"/>.</summary>
    public static PhantomManifest Generate(CtWaterOptions options, string outputDir, TransferSyntax? transferSyntax = null)
    {
        var series = Generate(options);
        series.WriteTo(outputDir, transferSyntax);
        return series.Manifest;
    }

    /// <summary>Generates the series in memory.</summary>
    public static PhantomSeries Generate(CtWaterOptions o)
    {
        o.Validate();
        var optionsJson = JsonSerializer.SerializeToElement(o, PhantomManifest.JsonOptions);
        var uids = new Uids($"ct-water|{o.Seed}|{optionsJson.GetRawText()}");
        var rng = new Random(o.Seed);
        var gauss = new Gaussian(rng);

        int n = o.Matrix;
        double fov = o.EffectiveFovMm, ps = fov / n;
        int channels = (int)Math.Ceiling(o.ScanFieldMm / o.DetectorSpacingMm);
        if (channels % 2 == 1) channels++;
        var fbp = new ParallelBeamFbp(o.Views, channels, o.DetectorSpacingMm, n, ps, o.Kernel, o.FocalSpotSigmaMm);

        // Noiseless line integrals (after the beam-hardening polynomial and the ring gains, both systematic).
        var clean = Project(o, fbp);
        double[] gains = RingGains(o, fbp, rng);
        for (int v = 0; v < o.Views; v++)
            for (int i = 0; i < channels; i++)
                clean[v * channels + i] -= (float)Math.Log(gains[i]);

        double i0 = o.PhotonsPerMasPerMm * o.ExposureMas * o.SliceThicknessMm;
        int intercept = o.RescaleIntercept;
        int min = o.SignedPixels ? short.MinValue : 0, max = o.SignedPixels ? short.MaxValue : 4095;
        // The noiseless image is clamped to the stored range but not rounded: it is the expectation of the stored noisy
        // values, whose rounding the quantum noise (σ of several HU) dithers away. Rounding it would make a flat region
        // an integer and bias the truth by up to 0.5 HU (a +5.7 HU offset read as a truth of 6).
        var noiselessHu = Clamped(ToHu(fbp.Reconstruct(clean), o), intercept, min, max);

        var study = uids.For("study");
        var seriesUid = uids.For("series");
        var frame = uids.For("frame-of-reference");
        var images = new List<SimulatedImage>();
        for (int s = 0; s < o.SliceCount; s++)
        {
            var noisy = new float[clean.Length];
            for (int k = 0; k < clean.Length; k++)
            {
                // Counts behind the gain: I = I0·exp(−p_clean) (p_clean already holds −ln gain); log against the
                // air calibration I0, so the ring survives and the quantum noise is the realisation's.
                double expected = i0 * Math.Exp(-clean[k]);
                double count = Math.Max(gauss.Poisson(expected), 0.5);
                noisy[k] = (float)-Math.Log(count / i0);
            }
            var hu = Quantised(ToHu(fbp.Reconstruct(noisy), o), intercept, min, max, out var stored);
            double z = o.FirstSliceZMm + s * o.SliceThicknessMm;
            var sop = uids.For($"image-{s}");
            var ds = Dataset(o, study, seriesUid, frame, sop, s + 1, z, n, ps, stored);
            images.Add(new SimulatedImage($"CT{s + 1:D4}.dcm", "slice", ds, n, n, hu, noiselessHu));
        }

        var truth = Truth(o, images, noiselessHu, n, ps);
        var manifest = new PhantomManifest
        {
            Kind = "ct-water",
            Seed = o.Seed,
            StudyInstanceUid = study,
            SeriesInstanceUid = seriesUid,
            Truth = truth,
            Files = images.Select((im, k) => new PhantomFile(im.FileName, im.Role, im.Dataset.GetStringOrEmpty(DicomTags.SOPInstanceUID), k + 1)).ToList(),
            Options = optionsJson,
        };
        return new PhantomSeries(images, manifest);
    }

    /// <summary>Exact chord lengths through the cylinder and the holder for every ray, averaged in intensity over
    /// <see cref="SubRays"/> sub-rays per channel, then the beam-hardening polynomial.</summary>
    private static float[] Project(CtWaterOptions o, ParallelBeamFbp fbp)
    {
        int views = fbp.Views, channels = fbp.Channels;
        var sino = new float[views * channels];
        double r = o.PhantomDiameterMm / 2, cx = o.OffsetXMm, cy = o.OffsetYMm;
        double hx0 = cx - o.HolderWidthMm / 2, hx1 = cx + o.HolderWidthMm / 2, hy0 = cy + r, hy1 = hy0 + o.HolderThicknessMm;
        double pRef = o.MuWaterPerMm * o.PhantomDiameterMm;
        Parallel.For(0, views, v =>
        {
            double c = fbp.Cos(v), s = fbp.Sin(v);
            double centre = cx * c + cy * s;
            for (int i = 0; i < channels; i++)
            {
                double intensity = 0;
                for (int k = 0; k < SubRays; k++)
                {
                    double t = fbp.ChannelPosition(i) + ((k + 0.5) / SubRays - 0.5) * o.DetectorSpacingMm;
                    double d = t - centre, p = 0;
                    if (Math.Abs(d) < r) p += o.MuWaterPerMm * 2 * Math.Sqrt(r * r - d * d);
                    if (o.IncludeHolder) p += o.MuHolderPerMm * RectChord(t, c, s, hx0, hx1, hy0, hy1);
                    intensity += Math.Exp(-p);
                }
                double line = -Math.Log(intensity / SubRays);
                line -= o.CuppingFraction * line * line / pRef;
                sino[v * channels + i] = (float)line;
            }
        });
        return sino;
    }

    /// <summary>Length of the line {x cos θ + y sin θ = t} inside an axis-aligned rectangle (slab clipping).</summary>
    internal static double RectChord(double t, double c, double s, double x0, double x1, double y0, double y1)
    {
        // Points: (t c − u s, t s + u c), u the position along the ray.
        double lo = double.NegativeInfinity, hi = double.PositiveInfinity;
        if (!Clip(t * c, -s, x0, x1, ref lo, ref hi) || !Clip(t * s, c, y0, y1, ref lo, ref hi)) return 0;
        return Math.Max(0, hi - lo);

        static bool Clip(double p0, double dir, double a, double b, ref double lo, ref double hi)
        {
            if (Math.Abs(dir) < 1e-12) return p0 >= a && p0 <= b;
            double u0 = (a - p0) / dir, u1 = (b - p0) / dir;
            if (u0 > u1) (u0, u1) = (u1, u0);
            lo = Math.Max(lo, u0); hi = Math.Min(hi, u1);
            return lo < hi;
        }
    }

    private static double[] RingGains(CtWaterOptions o, ParallelBeamFbp fbp, Random rng)
    {
        var gains = Enumerable.Repeat(1.0, fbp.Channels).ToArray();
        if (o.RingChannels <= 0) return gains;
        // Channels whose rays can cross the phantom, so the rings land on it.
        double reach = Math.Sqrt(o.OffsetXMm * o.OffsetXMm + o.OffsetYMm * o.OffsetYMm) + o.PhantomDiameterMm / 2;
        var candidates = Enumerable.Range(0, fbp.Channels).Where(i => Math.Abs(fbp.ChannelPosition(i)) < reach * 0.9).ToArray();
        for (int k = 0; k < o.RingChannels && candidates.Length > 0; k++)
        {
            int i = candidates[rng.Next(candidates.Length)];
            gains[i] = 1 + (rng.Next(2) == 0 ? -1 : 1) * o.RingGainError;
        }
        return gains;
    }

    private static double[] ToHu(float[] mu, CtWaterOptions o)
    {
        // HU = 1000 (μ − μ_water) / (μ_water − μ_air), μ_air = 0, plus the configured calibration offset.
        var hu = new double[mu.Length];
        for (int k = 0; k < mu.Length; k++) hu[k] = 1000.0 * (mu[k] - o.MuWaterPerMm) / o.MuWaterPerMm + o.CtNumberOffsetHu;
        return hu;
    }

    /// <summary>HU clamped to the modality range the stored values can hold (no rounding).</summary>
    private static float[] Clamped(double[] hu, int intercept, int min, int max)
    {
        var modality = new float[hu.Length];
        for (int k = 0; k < hu.Length; k++) modality[k] = (float)(Math.Clamp(hu[k] - intercept, min, max) + intercept);
        return modality;
    }

    /// <summary>Stored = round(HU − intercept) clamped to the stored range; returns the modality values the file
    /// decodes to (stored + intercept, slope 1).</summary>
    private static float[] Quantised(double[] hu, int intercept, int min, int max, out int[] stored)
    {
        stored = new int[hu.Length];
        var modality = new float[hu.Length];
        for (int k = 0; k < hu.Length; k++)
        {
            stored[k] = Headers.Quantise(hu[k] - intercept, min, max);
            modality[k] = stored[k] + intercept;
        }
        return modality;
    }

    private static DicomDataset Dataset(CtWaterOptions o, string study, string series, string frame, string sop, int number, double z, int n, double ps, int[] stored)
    {
        var h = o.Header;
        var ds = Headers.Start(h, DicomUids.CTImageStorage, sop, study, series, frame, "CT", number, number);
        ds.AddOrUpdate(DicomTags.ImageType, DicomVR.CS, "ORIGINAL", "PRIMARY", "AXIAL");
        ds.AddOrUpdate(DicomTags.ScanOptions, DicomVR.CS, "AXIAL MODE");
        ds.AddOrUpdate(DicomTags.SliceThickness, DicomVR.DS, o.SliceThicknessMm);
        ds.AddOrUpdate(DicomTags.KVP, DicomVR.DS, o.Kvp);
        ds.AddOrUpdate(DicomTags.DataCollectionDiameter, DicomVR.DS, o.ScanFieldMm);
        ds.AddOrUpdate(DicomTags.ReconstructionDiameter, DicomVR.DS, o.EffectiveFovMm);
        ds.AddOrUpdate(DicomTags.GantryDetectorTilt, DicomVR.DS, 0.0);
        ds.AddOrUpdate(DicomTags.TableHeight, DicomVR.DS, 150.0);
        ds.AddOrUpdate(DicomTags.RotationDirection, DicomVR.CS, "CW");
        ds.AddOrUpdate(DicomTags.ExposureTime, DicomVR.IS, (int)Math.Round(o.ExposureTimeMs));
        ds.AddOrUpdate(DicomTags.XRayTubeCurrent, DicomVR.IS, (int)Math.Round(o.TubeCurrentMa));
        ds.AddOrUpdate(DicomTags.Exposure, DicomVR.IS, (int)Math.Round(o.ExposureMas));
        ds.AddOrUpdate(DicomTags.ConvolutionKernel, DicomVR.SH, o.Kernel.ToString().ToUpperInvariant());
        ds.AddOrUpdate(DicomTags.PatientPosition, DicomVR.CS, "HFS");
        ds.AddOrUpdate(DicomTags.CTDIvol, DicomVR.FD, o.CtdiVolPerMas * o.ExposureMas);
        double first = -(n - 1) / 2.0 * ps;
        ds.AddOrUpdate(DicomTags.ImagePositionPatient, DicomVR.DS, string.Join('\\', Ds(first), Ds(first), Ds(z)));
        ds.AddOrUpdate(DicomTags.ImageOrientationPatient, DicomVR.DS, "1\\0\\0\\0\\1\\0");
        ds.AddOrUpdate(DicomTags.SliceLocation, DicomVR.DS, z);
        ds.AddOrUpdate(DicomTags.PixelSpacing, DicomVR.DS, string.Join('\\', Ds(ps), Ds(ps)));
        Headers.Pixels(ds, n, n, o.SignedPixels ? 16 : 12, o.SignedPixels, "MONOCHROME2", stored);
        ds.AddOrUpdate(DicomTags.WindowCenter, DicomVR.DS, 40.0);
        ds.AddOrUpdate(DicomTags.WindowWidth, DicomVR.DS, 400.0);
        ds.AddOrUpdate(DicomTags.RescaleIntercept, DicomVR.DS, (double)o.RescaleIntercept);
        ds.AddOrUpdate(DicomTags.RescaleSlope, DicomVR.DS, 1.0);
        ds.AddOrUpdate(DicomTags.RescaleType, DicomVR.LO, "HU");
        return ds;

        static string Ds(double v) => DicomValues.FormatDS(v);
    }

    // ------------------------------------------------------------------ truth

    /// <summary>The five STANDARDS.md §1 ROIs in pixel coordinates: centre circle of diameter 10 % of the phantom
    /// diameter on the phantom centre, and four of the same size at 12/3/6/9 o'clock whose outer edge is 10 mm
    /// inside the phantom edge.</summary>
    public static IReadOnlyList<TruthRoi> StandardRois(CtWaterOptions o)
    {
        int n = o.Matrix;
        double ps = o.EffectiveFovMm / n;
        double cx = (n - 1) / 2.0 + o.OffsetXMm / ps, cy = (n - 1) / 2.0 + o.OffsetYMm / ps;
        double rMm = 0.05 * o.PhantomDiameterMm, r = rMm / ps;
        double d = (o.PhantomDiameterMm / 2 - 10 - rMm) / ps;
        return
        [
            TruthRoi.Circle("centre", cx, cy, r),
            TruthRoi.Circle("12 o'clock", cx, cy - d, r),
            TruthRoi.Circle("3 o'clock", cx + d, cy, r),
            TruthRoi.Circle("6 o'clock", cx, cy + d, r),
            TruthRoi.Circle("9 o'clock", cx - d, cy, r),
        ];
    }

    private static Dictionary<string, TruthValue> Truth(CtWaterOptions o, List<SimulatedImage> images, float[] noiseless, int n, double ps)
    {
        var rois = StandardRois(o);
        var centre = rois[0];
        double water = Roi.Of(noiseless, n, n, centre).Mean;
        var waterPer = images.Select(im => Roi.Of(im.Noisy, n, n, centre).Mean).ToList();

        double Uniformity(float[] px)
        {
            double c = Roi.Of(px, n, n, centre).Mean;
            return rois.Skip(1).Max(p => Math.Abs(Roi.Of(px, n, n, p).Mean - c));
        }
        double uniformity = Uniformity(noiseless);
        var uniformityPer = images.Select(im => Uniformity(im.Noisy)).ToList();

        double denominator = water + 1000; // CT_water − CT_air with CT_air = −1000 HU
        var noiseTrue = images.Select(im => Roi.Of(Roi.Difference(im.Noisy, noiseless), n, n, centre).Sd / denominator * 100).ToList();
        var noisePer = images.Select((im, k) => Roi.Of(im.Noisy, n, n, centre).Sd / (waterPer[k] + 1000) * 100).ToList();

        double mtf10 = Mtf10Model(o);
        string roiText = $"centre ROI: circle of diameter 10 % of the phantom diameter ({0.1 * o.PhantomDiameterMm:F1} mm, radius {centre.Radius:F3} px) on the phantom centre";
        return new Dictionary<string, TruthValue>
        {
            [WaterHu] = new()
            {
                Value = water, Unit = "HU",
                Definition = $"Mean of the noiseless reconstruction (same projections, beam hardening, rings, kernel and FBP, no quantum noise), clamped to the stored range like the files but not rounded (the expectation of the rounded noisy values, whose rounding the noise dithers), in the {roiText}. Includes cupping and the CT-number offset ({H(o.CtNumberOffsetHu)} HU). Pixels belong to the ROI when their centre is inside. perImage: the same ROI mean on each noisy stored image.",
                Tolerance = Math.Round(waterPer.Max(v => Math.Abs(v - water)) + 0.5, 3),
                PerImage = waterPer, Rois = [centre],
            },
            [NoisePercent] = new()
            {
                Value = noiseTrue.Average(), Unit = "%",
                Definition = "Mean over images of σ(noisy − noiseless) in the centre ROI (sample SD, n−1; the noise-only image, so exact for the realisation) / (CT_water − CT_air) × 100, with CT_water = the ct.water_hu truth and CT_air = −1000 HU (nominal; with a CT-number offset the measured air is −1000 + offset). perImage: σ of the noisy stored image in the centre ROI / (its ROI mean + 1000) × 100.",
                Tolerance = Math.Round(0.03 * noiseTrue.Average() + noisePer.Select((v, k) => Math.Abs(v - noiseTrue[k])).Max(), 5),
                PerImage = noisePer, Rois = [centre],
            },
            [UniformityHu] = new()
            {
                Value = uniformity, Unit = "HU",
                Definition = "On the noiseless image (clamped, not rounded; see ct.water_hu): max over the 12/3/6/9 o'clock ROIs of |mean(peripheral) − mean(centre)|; all five ROIs are circles of the centre ROI's size, the peripheral ones with their outer edge 10 mm inside the phantom edge (STANDARDS.md §1). perImage: the same on each noisy stored image.",
                Tolerance = Math.Round(uniformityPer.Max(v => Math.Abs(v - uniformity)) + 0.5, 3),
                PerImage = uniformityPer, Rois = rois,
            },
            [Mtf10] = new()
            {
                Value = mtf10, Unit = "lp/cm", Approximate = true, Tolerance = Math.Round(0.1 * mtf10, 3),
                Definition = "Model MTF of the simulated system: detector aperture sinc(π a f) (a = channel spacing) × Gaussian blur exp(−2π²σ²f²) × kernel window W(f) × linear-interpolation sinc²(π a f); MTF10 = the lowest f where it falls to 0.1, in lp/cm. Approximate: ignores the discrete ramp and the pixel grid; an edge-method measurement on the cylinder edge should agree within the tolerance.",
            },
        };

        static string H(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
    }

    /// <summary>See the ct.mtf10_lpcm definition.</summary>
    public static double Mtf10Model(CtWaterOptions o)
    {
        double a = o.DetectorSpacingMm, sigma = o.FocalSpotSigmaMm;
        double Mtf(double f)
        {
            double x = Math.PI * a * f;
            double sinc = x == 0 ? 1 : Math.Sin(x) / x;
            return Math.Abs(sinc) * Math.Exp(-2 * Math.PI * Math.PI * sigma * sigma * f * f)
                * ParallelBeamFbp.Window(o.Kernel, f, a) * sinc * sinc;
        }
        double step = 1e-4, fmax = 1 / (2 * a);
        for (double f = step; f <= fmax; f += step)
        {
            if (Mtf(f) <= 0.1)
            {
                // Bisect the last step.
                double lo = f - step, hi = f;
                for (int i = 0; i < 40; i++) { double m = (lo + hi) / 2; if (Mtf(m) > 0.1) lo = m; else hi = m; }
                return Math.Round((lo + hi) / 2 * 10, 4);
            }
        }
        return Math.Round(fmax * 10, 4);
    }
}
