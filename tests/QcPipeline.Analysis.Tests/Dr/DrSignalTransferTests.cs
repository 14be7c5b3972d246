using QcPipeline.Analysis.Phantoms.Dr;

namespace QcPipeline.Analysis.Tests.Dr;

public class DrSignalTransferTests
{
    private static readonly double[] Kerma = [1, 2, 4, 8, 16];

    /// <summary>Pixel values a + b·x + c·ê with ê a unit residual orthogonal to 1 and x, so that the least-squares line is
    /// exactly a + b·x and R² = b²Sxx / (b²Sxx + c²): c is solved for the wanted R².</summary>
    private static double[] ValuesWithR2(double[] x, double a, double b, double r2)
    {
        int n = x.Length;
        double xm = x.Average();
        var e = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 1.0 : -1.0).ToArray();
        var one = Enumerable.Repeat(1.0 / Math.Sqrt(n), n).ToArray();
        var xc = x.Select(v => v - xm).ToArray();
        double xn = Math.Sqrt(xc.Sum(v => v * v));
        var xu = xc.Select(v => v / xn).ToArray();
        foreach (var basis in new[] { one, xu })
        {
            double dot = e.Zip(basis, (p, q) => p * q).Sum();
            for (int i = 0; i < n; i++) e[i] -= dot * basis[i];
        }
        double en = Math.Sqrt(e.Sum(v => v * v));
        double sxx = xn * xn;
        double c = r2 >= 1 ? 0 : b * Math.Sqrt(sxx * (1 - r2) / r2);
        return x.Select((v, i) => a + b * v + c * e[i] / en).ToArray();
    }

    private static List<AnalysisImage> Flats(double[] pv, double[]? mas = null) =>
        pv.Select((v, i) => DrImages.Flat(64, v) with { SopInstanceUid = $"1.2.3.{i}", ExposureMas = mas?[i] }).ToList();

    private static Dictionary<string, double> KermaByUid() => Kerma.Select((k, i) => (k, i)).ToDictionary(t => $"1.2.3.{t.i}", t => t.k);

    [Theory]
    [InlineData(DetectorResponse.Linear, 0.99)]
    [InlineData(DetectorResponse.Linear, 0.97)]
    [InlineData(DetectorResponse.Logarithmic, 0.99)]
    [InlineData(DetectorResponse.Logarithmic, 0.96)]
    public void R2_slope_and_intercept_match_truth(DetectorResponse response, double r2)
    {
        var x = response == DetectorResponse.Linear ? Kerma : Kerma.Select(k => Math.Log(k)).ToArray();
        var pv = ValuesWithR2(x, 200, response == DetectorResponse.Linear ? 150 : 900, r2);
        var r = DrSignalTransfer.Analyze(Flats(pv), new DrSignalTransferOptions { Response = response, AirKermaMicroGray = KermaByUid() });
        Assert.Equal(r2, r.Metrics.Single(m => m.Name == DrSignalTransfer.R2Metric).Value!.Value, 0.002);
        Assert.Equal(response == DetectorResponse.Linear ? 150 : 900, r.Metrics.Single(m => m.Name == DrSignalTransfer.SlopeMetric).Value!.Value, 0.01);
        Assert.Equal(200, r.Metrics.Single(m => m.Name == DrSignalTransfer.InterceptMetric).Value!.Value, 0.01);
        Assert.Equal(5, r.Images.Count);
        Assert.Equal(5, r.Rois.Count);
        Assert.DoesNotContain(r.Warnings, w => w.Contains("mAs"));
    }

    [Theory]
    [InlineData(DetectorResponse.Linear, 0.951, Verdict.Pass)]
    [InlineData(DetectorResponse.Linear, 0.949, Verdict.Fail)]
    [InlineData(DetectorResponse.Logarithmic, 0.951, Verdict.Pass)]
    [InlineData(DetectorResponse.Logarithmic, 0.949, Verdict.Fail)]
    public void Verdict_flips_where_r2_crosses_0_95(DetectorResponse response, double r2, Verdict expected)
    {
        var x = response == DetectorResponse.Linear ? Kerma : Kerma.Select(k => Math.Log(k)).ToArray();
        var pv = ValuesWithR2(x, 100, 300, r2);
        var r = DrSignalTransfer.Analyze(Flats(pv), new DrSignalTransferOptions { Response = response, AirKermaMicroGray = KermaByUid() });
        var m = r.Metrics.Single(m => m.Name == DrSignalTransfer.R2Metric);
        Assert.Equal(r2, m.Value!.Value, 1e-5);
        Assert.Equal(expected, m.Verdict);
        Assert.Equal(expected, r.Verdict);
    }

    [Fact]
    public void A_log_detector_fitted_as_linear_fails()
    {
        var pv = Kerma.Select(k => 500 + 400 * Math.Log(k)).ToArray();
        var linear = DrSignalTransfer.Analyze(Flats(pv), new DrSignalTransferOptions { AirKermaMicroGray = KermaByUid() });
        var log = DrSignalTransfer.Analyze(Flats(pv), new DrSignalTransferOptions { Response = DetectorResponse.Logarithmic, AirKermaMicroGray = KermaByUid() });
        Assert.Equal(Verdict.Fail, linear.Verdict);
        Assert.Equal(1.0, log.Metrics[0].Value!.Value, 1e-6);
        Assert.Equal(Verdict.Pass, log.Verdict);
    }

    [Fact]
    public void Without_dosimeter_readings_kerma_is_proportional_to_mAs_with_a_warning()
    {
        double[] mas = [0.5, 1, 2, 4, 8];
        var pv = mas.Select(m => 100 + 300 * m).ToArray();
        var r = DrSignalTransfer.Analyze(Flats(pv, mas));
        Assert.Contains(r.Warnings, w => w.Contains("air kerma taken as proportional to mAs"));
        Assert.Equal(1.0, r.Metrics[0].Value!.Value, 1e-9);
        Assert.Equal(300, r.Metrics[1].Value!.Value, 1e-3);
        Assert.Equal("PV/mAs", r.Metrics[1].Unit);
    }

    [Fact]
    public void Kerma_can_be_keyed_by_index()
    {
        var pv = Kerma.Select(k => 100 + 10 * k).ToArray();
        var byIndex = Kerma.Select((k, i) => (k, i)).ToDictionary(t => t.i.ToString(System.Globalization.CultureInfo.InvariantCulture), t => t.k);
        var r = DrSignalTransfer.Analyze(Flats(pv).Select(i => i with { SopInstanceUid = null }).ToList(), new DrSignalTransferOptions { AirKermaMicroGray = byIndex });
        Assert.Equal(Verdict.Pass, r.Verdict);
        Assert.Equal(10, r.Metrics[1].Value!.Value, 1e-4);
    }

    [Fact]
    public void Fewer_than_4_images_is_inconclusive()
    {
        var r = DrSignalTransfer.Analyze(Flats([100, 200, 300]), new DrSignalTransferOptions { AirKermaMicroGray = KermaByUid() });
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("at least 4", r.InconclusiveReason);
    }

    [Fact]
    public void One_distinct_kerma_is_inconclusive()
    {
        var r = DrSignalTransfer.Analyze(Flats([100, 101, 99, 100], [2, 2, 2, 2]));
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("distinct", r.InconclusiveReason);
    }

    [Fact]
    public void Unusable_images_are_left_out_with_warnings_never_an_exception()
    {
        var images = Flats([100, 200, 300, 400, 500], [1, 2, 3, 4, 5]);
        images[1] = images[1] with { Modality = "CT" };
        images[2] = images[2] with { ExposureMas = null };
        images[3] = new AnalysisImage { Width = 0, Height = 0, Pixels = [], Modality = "DX" };
        var r = DrSignalTransfer.Analyze(images);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains(r.Warnings, w => w.Contains("wrong modality"));
        Assert.Contains(r.Warnings, w => w.Contains("no mAs"));
        Assert.Equal(Verdict.Inconclusive, DrSignalTransfer.Analyze([]).Verdict);
    }

    [Fact]
    public void A_detector_that_does_not_respond_is_inconclusive_with_a_reason()
    {
        var r = DrSignalTransfer.Analyze(Flats([100, 100, 100, 100, 100]), new DrSignalTransferOptions { AirKermaMicroGray = KermaByUid() });
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("does not change", r.InconclusiveReason);
    }

    [Fact]
    public void Log_detector_leaves_out_zero_kerma()
    {
        var kerma = new Dictionary<string, double> { ["0"] = 0, ["1"] = 1, ["2"] = 2, ["3"] = 4, ["4"] = 8 };
        var pv = new double[] { 0, 100, 200, 300, 400 };
        var r = DrSignalTransfer.Analyze(Flats(pv).Select(i => i with { SopInstanceUid = null }).ToList(),
            new DrSignalTransferOptions { Response = DetectorResponse.Logarithmic, AirKermaMicroGray = kerma });
        Assert.Contains(r.Warnings, w => w.Contains("K > 0"));
        Assert.Equal(1.0, r.Metrics[0].Value!.Value, 1e-6);
    }
}
