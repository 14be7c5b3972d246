using System.Text.Json;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Phantoms.Common;

namespace QcPipeline.Phantoms.Dr;

/// <summary>DR detector constancy images (WS 76-2020 tests, STANDARDS.md §2): a flat field with heel effect,
/// inverse-square fall-off and a smooth gain map; a signal-transfer series; a dark image; a lag pair.</summary>
public static class DrPhantom
{
    public const string UniformityCv = QcPipeline.Analysis.MetricNames.DrUniformityCv;
    public const string StpR2 = QcPipeline.Analysis.MetricNames.DrStpR2;
    public const string DarkMean = QcPipeline.Analysis.MetricNames.DrDarkMean;
    public const string LagPercent = QcPipeline.Analysis.MetricNames.DrLagPercent;

    public static PhantomManifest Generate(DrOptions options, string outputDir, TransferSyntax? transferSyntax = null)
    {
        var series = Generate(options);
        series.WriteTo(outputDir, transferSyntax);
        return series.Manifest;
    }

    public static PhantomSeries Generate(DrOptions o)
    {
        o.Validate();
        var optionsJson = JsonSerializer.SerializeToElement(o, PhantomManifest.JsonOptions);
        var uids = new Uids($"dr|{o.Seed}|{optionsJson.GetRawText()}");
        var rng = new Random(o.Seed);
        var gauss = new Gaussian(rng);
        int w = o.Width, h = o.Height;
        var field = Field(o, rng);
        var dead = DeadMask(o, rng);
        int max = (1 << o.BitsStored) - 1;
        double dark = o.Response == DrResponse.Linear ? o.Offset : o.LogDarkPv;

        var study = uids.For("study");
        var seriesUid = uids.For("series");
        var images = new List<SimulatedImage>();
        var files = new List<PhantomFile>();
        var rois = Rois(o);

        void Add(string role, double kerma, double[] cleanPv, double[] noisyPv)
        {
            int number = images.Count + 1;
            var (noiseless, _) = Store(cleanPv, dead, max, o.Photometric);
            var (noisy, stored) = Store(noisyPv, dead, max, o.Photometric);
            var sop = uids.For($"image-{number}");
            var ds = Dataset(o, study, seriesUid, sop, number, kerma, role, stored);
            var name = $"DX{number:D4}.dcm";
            images.Add(new SimulatedImage(name, role, ds, w, h, noisy, noiseless));
            files.Add(new PhantomFile(name, role, sop, number) { AirKermaUgy = kerma });
        }

        // Flat field at the reference kerma (uniformity).
        var (flatClean, flatNoisy) = Expose(o, field, o.ReferenceKermaUgy, null, gauss);
        Add("flat", o.ReferenceKermaUgy, flatClean, flatNoisy);
        var stpImages = new List<int>();
        if (o.IncludeSignalTransfer)
            foreach (var k in o.SignalTransferKermasUgy)
            {
                var (c, n) = Expose(o, field, k, null, gauss);
                stpImages.Add(images.Count);
                Add("signal-transfer", k, c, n);
            }
        int darkIndex = -1;
        if (o.IncludeDark)
        {
            var (c, n) = Expose(o, field, 0, null, gauss);
            darkIndex = images.Count;
            Add("dark", 0, c, n);
        }
        int lagIndex = -1;
        if (o.IncludeLag)
        {
            var mask = AttenuatorMask(o);
            var (first, firstNoisy) = Expose(o, field, o.ReferenceKermaUgy, mask, gauss);
            Add("lag-attenuator", o.ReferenceKermaUgy, first, firstNoisy);
            // The residual of the (noiseless) first exposure's signal, λ × (PV − dark), rides on the next flat image.
            var residual = new double[first.Length];
            for (int i = 0; i < residual.Length; i++) residual[i] = o.LagFraction * (first[i] - dark);
            var (second, secondNoisy) = Expose(o, field, o.ReferenceKermaUgy, null, gauss);
            for (int i = 0; i < residual.Length; i++) { second[i] += residual[i]; secondNoisy[i] += residual[i]; }
            lagIndex = images.Count;
            Add("lag-flat", o.ReferenceKermaUgy, second, secondNoisy);
        }

        var truth = new Dictionary<string, TruthValue>();
        string storage = $"Measured on the modality values of the stored pixels (rescale 1/0; {o.Photometric}{(o.Photometric == "MONOCHROME1" ? " after inversion to MONOCHROME2 sense, stored = 2^BitsStored − 1 − PV" : "")}).";
        double Cv(float[] px)
        {
            var means = rois.Uniformity.Select(r => Roi.Of(px, w, h, r).Mean).ToList();
            return Roi.SampleSd(means) / means.Average() * 100;
        }
        var flat = images[0];
        truth[UniformityCv] = new TruthValue
        {
            Value = Cv(flat.Noiseless), Unit = "%", Rois = rois.Uniformity, PerImage = [Cv(flat.Noisy)],
            Tolerance = Math.Round(Math.Abs(Cv(flat.Noisy) - Cv(flat.Noiseless)) + 0.05, 4),
            Definition = $"Flat image (role 'flat', {o.ReferenceKermaUgy} µGy) without noise: 5 square ROIs of side floor(min(W,H)/10) centred on the image centre and the centres of the four quadrants (x = round(fx·W − side/2), fx ∈ {{0.5, 0.25, 0.75}}); CV = SD(ROI means, n − 1) / mean(ROI means) × 100. {storage} perImage: the same on the noisy flat image.",
        };
        if (stpImages.Count >= 2)
        {
            var x = stpImages.Select(i => o.Response == DrResponse.Linear ? files[i].AirKermaUgy!.Value : Math.Log(files[i].AirKermaUgy!.Value)).ToArray();
            double r2Clean = RSquared(x, stpImages.Select(i => Roi.Of(images[i].Noiseless, w, h, rois.Centre).Mean).ToArray());
            double r2Noisy = RSquared(x, stpImages.Select(i => Roi.Of(images[i].Noisy, w, h, rois.Centre).Mean).ToArray());
            truth[StpR2] = new TruthValue
            {
                Value = r2Clean, Unit = "1", Rois = [rois.Centre], PerImage = [r2Noisy],
                Tolerance = Math.Round(Math.Abs(r2Noisy - r2Clean) + 1e-4, 6),
                Definition = $"Images with role 'signal-transfer' (true detector air kerma per file in files[].airKermaUgy; header ExposureInuAs ∝ kerma): mean of the centre ROI (the uniformity centre square) on each noiseless image; least-squares line of mean vs {(o.Response == DrResponse.Linear ? "kerma (linear detector)" : "ln(kerma) (logarithmic detector)")}; R² = 1 − SS_res/SS_tot. {storage} perImage: [R² from the noisy images' ROI means].",
            };
        }
        if (darkIndex >= 0)
        {
            var d = images[darkIndex];
            double v = Roi.Of(d.Noiseless, w, h, rois.Centre).Mean, vn = Roi.Of(d.Noisy, w, h, rois.Centre).Mean;
            truth[DarkMean] = new TruthValue
            {
                Value = v, Unit = "PV", Rois = [rois.Centre], PerImage = [vn], Tolerance = Math.Round(Math.Abs(vn - v) + 0.5, 4),
                Definition = $"Dark image (role 'dark', no exposure; offset {dark} PV + read noise σ = {o.ReadNoisePv} PV): mean of the centre ROI of the noiseless image. {storage} perImage: the same on the noisy dark image.",
            };
        }
        if (lagIndex >= 0)
        {
            double Lag(float[] px)
            {
                double inner = Roi.Of(px, w, h, rois.LagRegion).Mean;
                double outer = rois.LagSurround.Average(r => Roi.Of(px, w, h, r).Mean);
                return Math.Abs(inner - outer) / outer * 100;
            }
            var l = images[lagIndex];
            truth[LagPercent] = new TruthValue
            {
                Value = Lag(l.Noiseless), Unit = "%", Rois = [rois.LagRegion, .. rois.LagSurround], PerImage = [Lag(l.Noisy)],
                Tolerance = Math.Round(Math.Abs(Lag(l.Noisy) - Lag(l.Noiseless)) + 0.02, 4),
                Definition = $"Lag pair: 'lag-attenuator' has a centred square attenuator (side floor(min(W,H)/4), transmission {o.AttenuatorTransmission}); 'lag-flat' is a flat exposure plus {o.LagFraction} × (previous noiseless PV − dark). On the noiseless 'lag-flat': |mean(region) − mean(surround)| / mean(surround) × 100, region = the centre square ROI (inside the former attenuator), surround = mean of the four ROI means of the same size centred at the image centre ± attenuator side along x and y (symmetric, so the heel gradient cancels). {storage} perImage: the same on the noisy image.",
            };
        }

        var manifest = new PhantomManifest
        {
            Kind = "dr",
            Seed = o.Seed,
            StudyInstanceUid = study,
            SeriesInstanceUid = seriesUid,
            Truth = truth,
            Files = files,
            Options = optionsJson,
        };
        return new PhantomSeries(images, manifest);
    }

    internal sealed record DrRois(TruthRoi Centre, IReadOnlyList<TruthRoi> Uniformity, TruthRoi LagRegion, IReadOnlyList<TruthRoi> LagSurround);

    internal static DrRois Rois(DrOptions o)
    {
        int w = o.Width, h = o.Height, s = Math.Max(1, Math.Min(w, h) / 10), l = Math.Min(w, h) / 4;
        TruthRoi Sq(string label, double cx, double cy) =>
            TruthRoi.Rect(label, (int)Math.Round(cx - s / 2.0, MidpointRounding.AwayFromZero), (int)Math.Round(cy - s / 2.0, MidpointRounding.AwayFromZero), s, s);
        var centre = Sq("centre", 0.5 * w, 0.5 * h);
        var uniformity = new[]
        {
            centre, Sq("upper left", 0.25 * w, 0.25 * h), Sq("upper right", 0.75 * w, 0.25 * h),
            Sq("lower left", 0.25 * w, 0.75 * h), Sq("lower right", 0.75 * w, 0.75 * h),
        };
        var surround = new[]
        {
            Sq("surround left", 0.5 * w - l, 0.5 * h), Sq("surround right", 0.5 * w + l, 0.5 * h),
            Sq("surround top", 0.5 * w, 0.5 * h - l), Sq("surround bottom", 0.5 * w, 0.5 * h + l),
        };
        return new DrRois(centre, uniformity, centre with { Label = "former attenuator" }, surround);
    }

    /// <summary>Relative kerma at each pixel: heel × inverse square/obliquity × gain map (1 at the centre for the first two).</summary>
    private static double[] Field(DrOptions o, Random rng)
    {
        int w = o.Width, h = o.Height;
        var terms = Enumerable.Range(0, 3).Select(_ => (fx: 0.3 + 1.2 * rng.NextDouble(), fy: 0.3 + 1.2 * rng.NextDouble(), phase: 2 * Math.PI * rng.NextDouble(), weight: 0.5 + rng.NextDouble())).ToArray();
        double weights = terms.Sum(t => t.weight);
        var field = new double[w * h];
        double sid2 = o.SidMm * o.SidMm;
        for (int y = 0; y < h; y++)
        {
            double heel = 1 + o.HeelGradient * (0.5 - y / (double)(h - 1));
            double dy = (y - (h - 1) / 2.0) * o.PixelSpacingMm, v = y / (double)h;
            for (int x = 0; x < w; x++)
            {
                double dx = (x - (w - 1) / 2.0) * o.PixelSpacingMm, u = x / (double)w;
                double fall = Math.Pow(sid2 / (sid2 + dx * dx + dy * dy), 1.5);
                double gain = 0;
                foreach (var t in terms) gain += t.weight * Math.Cos(2 * Math.PI * (t.fx * u + t.fy * v) + t.phase);
                field[y * w + x] = heel * fall * (1 + o.GainNonUniformity * gain / weights);
            }
        }
        return field;
    }

    private static bool[] DeadMask(DrOptions o, Random rng)
    {
        var dead = new bool[o.Width * o.Height];
        for (int k = 0; k < o.DeadPixels; k++) dead[rng.Next(dead.Length)] = true;
        for (int k = 0; k < o.DeadLines; k++)
        {
            int x = rng.Next(o.Width);
            for (int y = 0; y < o.Height; y++) dead[y * o.Width + x] = true;
        }
        return dead;
    }

    private static bool[] AttenuatorMask(DrOptions o)
    {
        int w = o.Width, h = o.Height, l = Math.Min(w, h) / 4, x0 = (w - l) / 2, y0 = (h - l) / 2;
        var mask = new bool[w * h];
        for (int y = y0; y < y0 + l; y++)
            for (int x = x0; x < x0 + l; x++) mask[y * w + x] = true;
        return mask;
    }

    /// <summary>Noiseless and noisy PV for a nominal kerma: K = nominal × field (× transmission under the
    /// attenuator); noisy K = K + √(q K)·z; PV = response(K) + read noise.</summary>
    private static (double[] Clean, double[] Noisy) Expose(DrOptions o, double[] field, double kerma, bool[]? attenuator, Gaussian gauss)
    {
        var clean = new double[field.Length];
        var noisy = new double[field.Length];
        for (int i = 0; i < field.Length; i++)
        {
            double k = kerma * field[i] * (attenuator is not null && attenuator[i] ? o.AttenuatorTransmission : 1);
            double kn = Math.Max(1e-6, k + Math.Sqrt(o.QuantumVarianceUgy * k) * gauss.Next());
            clean[i] = Response(o, k);
            noisy[i] = Response(o, k > 0 ? kn : 0) + o.ReadNoisePv * gauss.Next();
        }
        return (clean, noisy);
    }

    private static double Response(DrOptions o, double k) => o.Response == DrResponse.Linear
        ? o.Gain * k + o.Offset + o.Quadratic * k * k
        : k <= 0 ? o.LogDarkPv : Math.Max(o.LogDarkPv, o.LogGain * Math.Log(k) + o.LogOffset);

    /// <summary>PV → stored values (rounded, clamped; dead pixels 0 PV; MONOCHROME1 inverted) and the modality
    /// values the file decodes to in MONOCHROME2 sense.</summary>
    private static (float[] Modality, int[] Stored) Store(double[] pv, bool[] dead, int max, string photometric)
    {
        var stored = new int[pv.Length];
        var modality = new float[pv.Length];
        bool invert = photometric == "MONOCHROME1";
        for (int i = 0; i < pv.Length; i++)
        {
            int v = dead[i] ? 0 : Headers.Quantise(pv[i], 0, max);
            modality[i] = v;
            stored[i] = invert ? max - v : v;
        }
        return (modality, stored);
    }

    private static double RSquared(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my); }
        double slope = sxy / sxx, intercept = my - slope * mx, ssRes = 0;
        for (int i = 0; i < x.Length; i++) { double e = y[i] - (slope * x[i] + intercept); ssRes += e * e; }
        return 1 - ssRes / syy;
    }

    private static DicomDataset Dataset(DrOptions o, string study, string series, string sop, int number, double kerma, string role, int[] stored)
    {
        bool processing = o.PresentationIntent == DrPresentationIntent.ForProcessing;
        var ds = Headers.Start(o.Header with { SeriesDescription = $"{o.Header.SeriesDescription} {role}" },
            processing ? DicomUids.DigitalXRayImageStorageForProcessing : DicomUids.DigitalXRayImageStorageForPresentation,
            sop, study, series, "", "DX", number, number * 30);
        ds.AddOrUpdate(DicomTags.ImageType, DicomVR.CS, "ORIGINAL", "PRIMARY");
        ds.AddOrUpdate(DicomTags.PresentationIntentType, DicomVR.CS, processing ? "FOR PROCESSING" : "FOR PRESENTATION");
        double mas = kerma / o.KermaPerMasUgy;
        ds.AddOrUpdate(DicomTags.KVP, DicomVR.DS, o.Kvp);
        ds.AddOrUpdate(DicomTags.DistanceSourceToDetector, DicomVR.DS, o.SidMm);
        ds.AddOrUpdate(DicomTags.ExposureTime, DicomVR.IS, 100);
        ds.AddOrUpdate(DicomTags.XRayTubeCurrent, DicomVR.IS, (int)Math.Round(mas * 10));
        ds.AddOrUpdate(DicomTags.Exposure, DicomVR.IS, (int)Math.Round(mas));
        ds.AddOrUpdate(DicomTags.ExposureInuAs, DicomVR.IS, (int)Math.Round(mas * 1000));
        ds.AddOrUpdate(DicomTags.ImageComments, DicomVR.LT, $"QC {role}; detector air kerma {kerma:0.###} uGy");
        ds.AddOrUpdate(DicomTags.ViewPosition, DicomVR.CS, "PA");
        ds.AddOrUpdate(DicomTags.PatientOrientation, DicomVR.CS, "L", "F");
        ds.AddOrUpdate(DicomTags.ImageLaterality, DicomVR.CS, "U");
        ds.AddOrUpdate(DicomTags.DetectorType, DicomVR.CS, "SCINTILLATOR");
        ds.AddOrUpdate(DicomTags.ImagerPixelSpacing, DicomVR.DS, $"{DicomValues.FormatDS(o.PixelSpacingMm)}\\{DicomValues.FormatDS(o.PixelSpacingMm)}");
        ds.AddOrUpdate(DicomTags.BurnedInAnnotation, DicomVR.CS, "NO");
        Headers.Pixels(ds, o.Height, o.Width, o.BitsStored, false, o.Photometric, stored);
        ds.AddOrUpdate(DicomTags.PixelIntensityRelationship, DicomVR.CS, o.Response == DrResponse.Linear ? "LIN" : "LOG");
        // PS3.3 C.8.11.3.1.2: +1 when lower stored values mean less beam intensity; inverted storage flips it.
        ds.AddOrUpdate(DicomTags.PixelIntensityRelationshipSign, DicomVR.SS, o.Photometric == "MONOCHROME1" ? -1 : 1);
        ds.AddOrUpdate(DicomTags.RescaleIntercept, DicomVR.DS, 0.0);
        ds.AddOrUpdate(DicomTags.RescaleSlope, DicomVR.DS, 1.0);
        ds.AddOrUpdate(DicomTags.RescaleType, DicomVR.LO, "US");
        ds.AddOrUpdate(DicomTags.PresentationLUTShape, DicomVR.CS, o.Photometric == "MONOCHROME1" ? "INVERSE" : "IDENTITY");
        ds.AddOrUpdate(DicomTags.LossyImageCompression, DicomVR.CS, "00");
        return ds;
    }
}
