using System.Text.Json;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Phantoms.Common;

namespace QcPipeline.Phantoms.Mr;

/// <summary>A uniform disc with B1 shading, a phase-encode ghost and Rician noise (complex Gaussian noise of known σ),
/// in <see cref="MrOptions.ImageCount"/> acquisitions with independent noise. Truth per the ACR MRI phantom
/// test guidance (PIU, ghosting ratio) and NEMA MS 1 (SNR), measured on the noiseless image.</summary>
public static class MrPhantom
{
    public const string Snr = QcPipeline.Analysis.MetricNames.MrSnr;
    public const string Piu = QcPipeline.Analysis.MetricNames.MrPiu;
    public const string Ghosting = QcPipeline.Analysis.MetricNames.MrGhosting;
    private const int Supersample = 4;

    public static PhantomManifest Generate(MrOptions options, string outputDir, TransferSyntax? transferSyntax = null)
    {
        var series = Generate(options);
        series.WriteTo(outputDir, transferSyntax);
        return series.Manifest;
    }

    public static PhantomSeries Generate(MrOptions o)
    {
        o.Validate();
        var optionsJson = JsonSerializer.SerializeToElement(o, PhantomManifest.JsonOptions);
        var uids = new Uids($"mr|{o.Seed}|{optionsJson.GetRawText()}");
        var gauss = new Gaussian(new Random(o.Seed));
        int n = o.Matrix;
        double ps = o.FovMm / n;
        var obj = Object(o);
        var withGhost = AddGhost(o, obj);
        const int max = 4095;

        var study = uids.For("study");
        var seriesUid = uids.For("series");
        var frame = uids.For("frame-of-reference");
        var noiselessStored = withGhost.Select(v => Headers.Quantise(v, 0, max)).ToArray();
        var noiseless = noiselessStored.Select(v => (float)v).ToArray();
        var images = new List<SimulatedImage>();
        for (int k = 0; k < o.ImageCount; k++)
        {
            var stored = new int[n * n];
            for (int i = 0; i < stored.Length; i++)
            {
                double re = withGhost[i] + o.NoiseSigma * gauss.Next(), im = o.NoiseSigma * gauss.Next();
                stored[i] = Headers.Quantise(Math.Sqrt(re * re + im * im), 0, max);
            }
            var sop = uids.For($"image-{k}");
            var ds = Dataset(o, study, seriesUid, frame, sop, k + 1, stored);
            images.Add(new SimulatedImage($"MR{k + 1:D4}.dcm", k == 0 ? "acquisition-1" : $"acquisition-{k + 1}", ds, n, n, stored.Select(v => (float)v).ToArray(), noiseless));
        }

        var rois = Rois(o);
        double large = Roi.Of(noiseless, n, n, rois.Large).Mean;
        var truth = new Dictionary<string, TruthValue>();
        double snr = large / o.NoiseSigma;
        List<double>? snrPer = null;
        if (images.Count >= 2)
        {
            var a = images[0].Noisy; var b = images[1].Noisy;
            var sum = new float[a.Length];
            for (int i = 0; i < a.Length; i++) sum[i] = 0.5f * (a[i] + b[i]);
            double mean = Roi.Of(sum, n, n, rois.Large).Mean, sdDiff = Roi.Of(Roi.Difference(a, b), n, n, rois.Large).Sd;
            snrPer = [mean * Math.Sqrt(2) / sdDiff];
        }
        truth[Snr] = new TruthValue
        {
            Value = snr, Unit = "1", Rois = [rois.Large], PerImage = snrPer, Tolerance = Math.Round(0.05 * snr, 3),
            Definition = $"mean of the noiseless quantised image in the large ROI (circle on the phantom centre, 75 % of the phantom area) / σ, with σ = {o.NoiseSigma} the configured per-channel Gaussian noise σ. Estimators that match it: two-image (NEMA MS 1) mean(ROI of (I1 + I2)/2) × √2 / SD(ROI of I1 − I2); single-image mean(ROI) / (SD(background) / 0.655) with background ROIs free of ghosts (left/right for phase-encode COL); perImage: [the two-image estimate on files 1 and 2]. Tolerance 5 %.",
        };
        var (piu, hi, lo) = PiuOf(noiseless, n, rois);
        double piuNoisy = PiuOf(images[0].Noisy, n, rois).Piu;
        truth[Piu] = new TruthValue
        {
            Value = piu, Unit = "%", Rois = [rois.Large, hi, lo], PerImage = images.Select(i => PiuOf(i.Noisy, n, rois).Piu).ToList(),
            Tolerance = Math.Round(Math.Abs(piuNoisy - piu) + 0.5, 3),
            Definition = $"ACR: on the noiseless quantised image, the 1 cm² circular ROI (radius {rois.SmallRadius:F4} px) with the highest mean and the one with the lowest mean among all centres on pixel centres whose ROI lies inside the large ROI (centre distance ≤ large radius − small radius); PIU = 100 × (1 − (high − low)/(high + low)). The ROIs found are listed. perImage: the same search on each noisy image (noise lowers it).",
        };
        double Ghost(float[] px)
        {
            double m = Roi.Of(px, n, n, rois.Large).Mean;
            double t = Roi.Of(px, n, n, rois.Background[0]).Mean, bo = Roi.Of(px, n, n, rois.Background[1]).Mean;
            double l = Roi.Of(px, n, n, rois.Background[2]).Mean, r = Roi.Of(px, n, n, rois.Background[3]).Mean;
            return Math.Abs((t + bo - l - r) / (2 * m)) * 100;
        }
        truth[Ghosting] = new TruthValue
        {
            Value = Ghost(noiseless), Unit = "%", Rois = [rois.Large, .. rois.Background], PerImage = images.Select(i => Ghost(i.Noisy)).ToList(),
            Tolerance = Math.Round(images.Max(i => Math.Abs(Ghost(i.Noisy) - Ghost(noiseless))) + 0.05, 4),
            Definition = $"ACR ghosting ratio × 100 on the noiseless quantised image: |((top + bottom) − (left + right)) / (2 × large)|, top/bottom/left/right = means of background rectangles of 64 mm × 16 mm (long side along the nearby image edge) centred in the gap between the phantom and the image edge; large = the large ROI mean. Ghost: {o.GhostAmplitude} × the object shifted {GhostShift(o)} px along the phase-encode direction ({o.PhaseEncodingDirection}). perImage: the same on each noisy image. The Rician floor (mean ≈ 1.25 σ in pure background) cancels between the bands only when the ghost is well above σ; a ghost comparable to σ is compressed in magnitude images, so a measurement on noisy images reads low — compare it with perImage, which the tolerance covers.",
        };

        var manifest = new PhantomManifest
        {
            Kind = "mr-uniform",
            Seed = o.Seed,
            StudyInstanceUid = study,
            SeriesInstanceUid = seriesUid,
            Truth = truth,
            Files = images.Select((im, k) => new PhantomFile(im.FileName, im.Role, im.Dataset.GetStringOrEmpty(DicomTags.SOPInstanceUID), k + 1)).ToList(),
            Options = optionsJson,
        };
        return new PhantomSeries(images, manifest);
    }

    internal sealed record MrRois(TruthRoi Large, double SmallRadius, IReadOnlyList<TruthRoi> Background);

    internal static int GhostShift(MrOptions o) => o.GhostShiftPixels ?? o.Matrix / 2;

    internal static MrRois Rois(MrOptions o)
    {
        int n = o.Matrix;
        double ps = o.FovMm / n, c = (n - 1) / 2.0, rPx = o.PhantomDiameterMm / 2 / ps;
        var large = TruthRoi.Circle("large (75 % area)", c, c, Math.Sqrt(0.75) * rPx);
        double small = Math.Sqrt(100 / Math.PI) / ps;
        int len = (int)Math.Round(64 / ps, MidpointRounding.AwayFromZero), wid = (int)Math.Round(16 / ps, MidpointRounding.AwayFromZero);
        double gap = (c - rPx) / 2; // centre of the background band, from the image edge
        int Start(double centre, int size) => (int)Math.Round(centre - size / 2.0, MidpointRounding.AwayFromZero);
        var background = new[]
        {
            TruthRoi.Rect("top", Start(c, len), Start(gap, wid), len, wid),
            TruthRoi.Rect("bottom", Start(c, len), Start(n - 1 - gap, wid), len, wid),
            TruthRoi.Rect("left", Start(gap, wid), Start(c, len), wid, len),
            TruthRoi.Rect("right", Start(n - 1 - gap, wid), Start(c, len), wid, len),
        };
        return new MrRois(large, small, background);
    }

    internal static (double Piu, TruthRoi High, TruthRoi Low) PiuOf(float[] px, int n, MrRois rois)
    {
        var lg = rois.Large;
        double limit = lg.Radius - rois.SmallRadius, best = double.NegativeInfinity, worst = double.PositiveInfinity;
        (int, int) hi = default, lo = default;
        int x0 = (int)Math.Ceiling(lg.X - limit), x1 = (int)Math.Floor(lg.X + limit);
        for (int y = (int)Math.Ceiling(lg.Y - limit); y <= (int)Math.Floor(lg.Y + limit); y++)
            for (int x = x0; x <= x1; x++)
            {
                double dx = x - lg.X, dy = y - lg.Y;
                if (dx * dx + dy * dy > limit * limit) continue;
                double m = Roi.Circle(px, n, n, x, y, rois.SmallRadius).Mean;
                if (m > best) { best = m; hi = (x, y); }
                if (m < worst) { worst = m; lo = (x, y); }
            }
        double piu = 100 * (1 - (best - worst) / (best + worst));
        return (piu, TruthRoi.Circle("high (1 cm²)", hi.Item1, hi.Item2, rois.SmallRadius), TruthRoi.Circle("low (1 cm²)", lo.Item1, lo.Item2, rois.SmallRadius));
    }

    /// <summary>The shaded disc, its edge partial-volume-averaged over 4 × 4 sub-samples per pixel.</summary>
    private static double[] Object(MrOptions o)
    {
        int n = o.Matrix;
        double ps = o.FovMm / n, c = (n - 1) / 2.0, r = o.PhantomDiameterMm / 2;
        var img = new double[n * n];
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                double dx = (x - c) * ps, dy = (y - c) * ps;
                double shade = 1 - o.ShadingQuadratic * (dx * dx + dy * dy) / (r * r) + o.ShadingLinear * dx / r;
                int inside = 0;
                for (int sy = 0; sy < Supersample; sy++)
                    for (int sx = 0; sx < Supersample; sx++)
                    {
                        double ux = dx + ((sx + 0.5) / Supersample - 0.5) * ps, uy = dy + ((sy + 0.5) / Supersample - 0.5) * ps;
                        if (ux * ux + uy * uy <= r * r) inside++;
                    }
                img[y * n + x] = o.Signal * shade * inside / (Supersample * Supersample);
            }
        return img;
    }

    private static double[] AddGhost(MrOptions o, double[] obj)
    {
        int n = o.Matrix, shift = GhostShift(o);
        var img = (double[])obj.Clone();
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
            {
                int sx = o.PhaseEncodingDirection == "ROW" ? ((x - shift) % n + n) % n : x;
                int sy = o.PhaseEncodingDirection == "COL" ? ((y - shift) % n + n) % n : y;
                img[y * n + x] += o.GhostAmplitude * obj[sy * n + sx];
            }
        return img;
    }

    private static DicomDataset Dataset(MrOptions o, string study, string series, string frame, string sop, int number, int[] stored)
    {
        int n = o.Matrix;
        double ps = o.FovMm / n, first = -(n - 1) / 2.0 * ps;
        var ds = Headers.Start(o.Header, DicomUids.MRImageStorage, sop, study, series, frame, "MR", number, number * 120);
        ds.AddOrUpdate(DicomTags.ImageType, DicomVR.CS, "ORIGINAL", "PRIMARY", "M", "ND");
        ds.AddOrUpdate(DicomTags.ScanningSequence, DicomVR.CS, "SE");
        ds.AddOrUpdate(DicomTags.SequenceVariant, DicomVR.CS, "NONE");
        ds.AddOrUpdate(DicomTags.ScanOptions, DicomVR.CS, "");
        ds.AddOrUpdate(DicomTags.MRAcquisitionType, DicomVR.CS, "2D");
        ds.AddOrUpdate(DicomTags.SliceThickness, DicomVR.DS, o.SliceThicknessMm);
        ds.AddOrUpdate(DicomTags.RepetitionTime, DicomVR.DS, o.RepetitionTimeMs);
        ds.AddOrUpdate(DicomTags.EchoTime, DicomVR.DS, o.EchoTimeMs);
        ds.AddOrUpdate(DicomTags.NumberOfAverages, DicomVR.DS, 1.0);
        ds.AddOrUpdate(DicomTags.ImagingFrequency, DicomVR.DS, Math.Round(o.ImagingFrequencyMhz, 6));
        ds.AddOrUpdate(DicomTags.ImagedNucleus, DicomVR.SH, "1H");
        ds.AddOrUpdate(DicomTags.EchoNumbers, DicomVR.IS, 1);
        ds.AddOrUpdate(DicomTags.MagneticFieldStrength, DicomVR.DS, o.MagneticFieldStrengthT);
        ds.AddOrUpdate(DicomTags.EchoTrainLength, DicomVR.IS, 1);
        ds.AddOrUpdate(DicomTags.ReceiveCoilName, DicomVR.SH, "HEAD");
        ds.AddOrUpdate(DicomTags.InPlanePhaseEncodingDirection, DicomVR.CS, o.PhaseEncodingDirection);
        ds.AddOrUpdate(DicomTags.FlipAngle, DicomVR.DS, 90.0);
        ds.AddOrUpdate(DicomTags.PatientPosition, DicomVR.CS, "HFS");
        ds.AddOrUpdate(DicomTags.ImagePositionPatient, DicomVR.DS, $"{DicomValues.FormatDS(first)}\\{DicomValues.FormatDS(first)}\\0");
        ds.AddOrUpdate(DicomTags.ImageOrientationPatient, DicomVR.DS, "1\\0\\0\\0\\1\\0");
        ds.AddOrUpdate(DicomTags.SliceLocation, DicomVR.DS, 0.0);
        ds.AddOrUpdate(DicomTags.PixelSpacing, DicomVR.DS, $"{DicomValues.FormatDS(ps)}\\{DicomValues.FormatDS(ps)}");
        Headers.Pixels(ds, n, n, 12, false, "MONOCHROME2", stored);
        return ds;
    }
}
