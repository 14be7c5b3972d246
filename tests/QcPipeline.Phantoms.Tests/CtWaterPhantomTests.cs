using QcPipeline.Dicom;
using QcPipeline.Phantoms.Ct;

namespace QcPipeline.Phantoms.Tests;

public class CtWaterPhantomTests
{
    // Small and quick for most tests; the full 512² default is exercised by the samples test.
    private static readonly CtWaterOptions Small = new() { Matrix = 256, Views = 360, DetectorSpacingMm = 1.0, ScanFieldMm = 440, FocalSpotSigmaMm = 0.4 };

    [Fact]
    public void Files_pass_dcmftest_and_read_back_to_the_simulated_values()
    {
        var series = CtWaterPhantom.Generate(Small with { SliceCount = 2 });
        var dir = TestSupport.TempDir("ct");
        series.WriteTo(dir);
        var files = Directory.GetFiles(dir, "*.dcm").Order().ToArray();
        Assert.Equal(2, files.Length);
        var (code, output) = TestSupport.Run("dcmftest", files);
        Assert.True(code == 0 && !output.Contains("no:"), output);
        for (int i = 0; i < files.Length; i++)
            Assert.Equal(series.Images[i].Noisy, TestSupport.Decode(files[i]));
        using var f = DicomFile.Open(files[0]);
        Assert.Equal("北京协和医院 BJHR", f.Dataset.GetString(DicomTags.InstitutionName));
        Assert.Equal("ISO_IR 192", f.Dataset.GetString(DicomTags.SpecificCharacterSet));
        Assert.Equal(DicomUids.CTImageStorage, f.Dataset.GetString(DicomTags.SOPClassUID));
        Assert.Equal("QC^WATER", f.Dataset.GetString(DicomTags.PatientName));
        Assert.True(File.Exists(Path.Combine(dir, "manifest.json")));
    }

    [Fact]
    public void Geometry_slices_ascend_at_the_slice_thickness_with_one_study_and_series()
    {
        var series = CtWaterPhantom.Generate(Small with { SliceCount = 4, SliceThicknessMm = 2.5, FirstSliceZMm = -10, Views = 64 });
        var z = series.Datasets.Select(d => d.GetDoubles(DicomTags.ImagePositionPatient)[2]).ToArray();
        Assert.Equal([-10, -7.5, -5, -2.5], z);
        Assert.Equal(z, series.Datasets.Select(d => d.GetDoubleOrDefault(DicomTags.SliceLocation)).ToArray());
        Assert.Single(series.Datasets.Select(d => d.GetString(DicomTags.StudyInstanceUID)).Distinct());
        Assert.Single(series.Datasets.Select(d => d.GetString(DicomTags.SeriesInstanceUID)).Distinct());
        Assert.Equal(4, series.Datasets.Select(d => d.GetString(DicomTags.SOPInstanceUID)).Distinct().Count());
        Assert.Equal([1, 2, 3, 4], series.Datasets.Select(d => d.GetInt32OrDefault(DicomTags.InstanceNumber)).ToArray());
        var ipp = series.Datasets[0].GetDoubles(DicomTags.ImagePositionPatient);
        var spacing = series.Datasets[0].GetDoubles(DicomTags.PixelSpacing);
        Assert.Equal(250.0 / 256, spacing[0], 6);
        Assert.Equal(-(255 / 2.0) * spacing[0], ipp[0], 3);
        Assert.Equal(2.5, series.Datasets[0].GetDoubleOrDefault(DicomTags.SliceThickness));
    }

    [Fact]
    public void Noiseless_water_is_flat_without_cupping_and_cupped_with_it()
    {
        var flat = CtWaterPhantom.Generate(Small);
        Assert.InRange(flat.Manifest.Truth[CtWaterPhantom.WaterHu].Value, -1, 1);
        Assert.InRange(flat.Manifest.Truth[CtWaterPhantom.UniformityHu].Value, 0, 1.5);

        var cupped = CtWaterPhantom.Generate(Small with { CuppingFraction = 0.02 });
        var rois = CtWaterPhantom.StandardRois(Small);
        var img = cupped.Images[0].Noiseless;
        double centre = TestSupport.CircleMean(img, 256, rois[0].X, rois[0].Y, rois[0].Radius);
        double edge = rois.Skip(1).Average(r => TestSupport.CircleMean(img, 256, r.X, r.Y, r.Radius));
        Assert.True(edge - centre > 5, $"cupping: centre {centre}, edge {edge}");
        Assert.True(cupped.Manifest.Truth[CtWaterPhantom.UniformityHu].Value > 5);

        var capped = CtWaterPhantom.Generate(Small with { CuppingFraction = -0.02 });
        img = capped.Images[0].Noiseless;
        double capCentre = TestSupport.CircleMean(img, 256, rois[0].X, rois[0].Y, rois[0].Radius), capEdge = rois.Skip(1).Average(r => TestSupport.CircleMean(img, 256, r.X, r.Y, r.Radius));
        Assert.True(capCentre - capEdge > 5, $"capping: centre {capCentre}, edge {capEdge}");
    }

    [Fact]
    public void Ct_number_offset_shifts_the_water_truth()
    {
        var series = CtWaterPhantom.Generate(Small with { CtNumberOffsetHu = 8, Views = 180 });
        Assert.InRange(series.Manifest.Truth[CtWaterPhantom.WaterHu].Value, 7, 9);
    }

    [Fact]
    public void Noise_scales_with_one_over_root_dose()
    {
        double Noise(double ma) => CtWaterPhantom.Generate(Small with { TubeCurrentMa = ma, SliceCount = 2 }).Manifest.Truth[CtWaterPhantom.NoisePercent].Value;
        double low = Noise(100), high = Noise(400);
        Assert.InRange(low / high, 1.8, 2.2);
    }

    [Fact]
    public void Manifest_truth_matches_an_independent_computation_on_the_noiseless_image()
    {
        var o = Small with { OffsetXMm = 20, OffsetYMm = -15, CuppingFraction = 0.005, SliceCount = 2, RescaleIntercept = -1000, SignedPixels = true };
        var series = CtWaterPhantom.Generate(o);
        var t = series.Manifest.Truth;
        int n = 256;
        double ps = 250.0 / n, cx = 127.5 + 20 / ps, cy = 127.5 - 15 / ps, r = 10 / ps, d = (100 - 10 - 10) / ps;
        var img = series.Images[0].Noiseless;
        double centre = TestSupport.CircleMean(img, n, cx, cy, r);
        Assert.Equal(centre, t[CtWaterPhantom.WaterHu].Value, 9);
        double[] peripheral = [TestSupport.CircleMean(img, n, cx, cy - d, r), TestSupport.CircleMean(img, n, cx + d, cy, r), TestSupport.CircleMean(img, n, cx, cy + d, r), TestSupport.CircleMean(img, n, cx - d, cy, r)];
        Assert.Equal(peripheral.Max(p => Math.Abs(p - centre)), t[CtWaterPhantom.UniformityHu].Value, 9);

        // Noise: σ of the noise-only image in the centre ROI / (water + 1000) × 100, averaged over slices.
        double Sd(float[] noisy)
        {
            var values = new List<double>();
            for (int i = 0; i < noisy.Length; i++)
            {
                int x = i % n, y = i / n;
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) values.Add(noisy[i] - img[i]);
            }
            double m = values.Average();
            return Math.Sqrt(values.Sum(v => (v - m) * (v - m)) / (values.Count - 1));
        }
        double noise = series.Images.Average(i => Sd(i.Noisy)) / (centre + 1000) * 100;
        Assert.Equal(noise, t[CtWaterPhantom.NoisePercent].Value, 9);
        Assert.InRange(t[CtWaterPhantom.NoisePercent].Value, 0.1, 1.5);
        // The noisy images scatter about the truth within the stated tolerance.
        foreach (var v in t[CtWaterPhantom.WaterHu].PerImage!) Assert.InRange(v, centre - t[CtWaterPhantom.WaterHu].Tolerance!.Value, centre + t[CtWaterPhantom.WaterHu].Tolerance!.Value);
    }

    [Fact]
    public void Stored_values_follow_the_rescale_and_pixel_representation()
    {
        foreach (var (intercept, signed) in new[] { (-1024, false), (-1000, true), (0, true) })
        {
            var s = CtWaterPhantom.Generate(Small with { RescaleIntercept = intercept, SignedPixels = signed, Views = 120 });
            var ds = s.Datasets[0];
            Assert.Equal(signed ? 1 : 0, ds.GetInt32OrDefault(DicomTags.PixelRepresentation));
            Assert.Equal(intercept, ds.GetDoubleOrDefault(DicomTags.RescaleIntercept));
            var decoded = QcPipeline.Dicom.Imaging.DicomPixelData.Create(ds).GetModalityFrame(0, QcPipeline.Dicom.IO.TransferSyntax.ExplicitVRLittleEndian);
            Assert.Equal(s.Images[0].Noisy, decoded);
            Assert.InRange(decoded.Min(), -1100, -900); // air, not clamped
        }
    }

    [Fact]
    public void Ring_artefacts_appear_in_the_noiseless_image()
    {
        var clean = CtWaterPhantom.Generate(Small with { Views = 180 });
        var rings = CtWaterPhantom.Generate(Small with { Views = 180, RingChannels = 4, RingGainError = 0.02 });
        double maxDiff = clean.Images[0].Noiseless.Zip(rings.Images[0].Noiseless, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff > 5, $"max difference {maxDiff}");
    }

    [Fact]
    public void Mtf_model_orders_the_kernels()
    {
        double Mtf(CtKernel k) => CtWaterPhantom.Mtf10Model(new CtWaterOptions { Kernel = k });
        Assert.True(Mtf(CtKernel.Soft) < Mtf(CtKernel.Standard));
        Assert.True(Mtf(CtKernel.Standard) < Mtf(CtKernel.Sharp));
        Assert.InRange(Mtf(CtKernel.Standard), 3, 10);
    }

    [Fact]
    public void Same_seed_gives_the_same_bytes_and_another_seed_other_noise()
    {
        var o = Small with { Views = 120, SliceCount = 2 };
        byte[][] Bytes(CtWaterOptions opt) => CtWaterPhantom.Generate(opt).Datasets.Select(d => new DicomFile(d).ToBytes()).ToArray();
        var a = Bytes(o);
        var b = Bytes(o);
        Assert.Equal(a, b);
        var c = Bytes(o with { Seed = 99 });
        Assert.NotEqual(a[0], c[0]);
    }
}
