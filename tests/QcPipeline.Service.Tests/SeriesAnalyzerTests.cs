using System.Text.Json;
using QcPipeline.Analysis;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Service.Workers;

namespace QcPipeline.Service.Tests;

/// <summary>The worker's analysis of a stored series, on the committed phantom samples (phantoms/, with their truth in
/// manifest.json) and on a clinical-looking series.</summary>
public sealed class SeriesAnalyzerTests
{
    private static SeriesInput Sample(string name, string? ae = "MODALITY1")
    {
        var dir = Path.Combine(Support.RepoRoot, "phantoms", name);
        var files = Directory.GetFiles(dir, "*.dcm").Order(StringComparer.Ordinal).ToArray();
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")));
        return new SeriesInput(manifest.RootElement.GetProperty("studyInstanceUid").GetString()!,
            manifest.RootElement.GetProperty("seriesInstanceUid").GetString()!, files, ae);
    }

    [Fact]
    public void A_CT_water_phantom_series_is_routed_by_its_name_and_analysed_against_the_limits()
    {
        var analyzer = new SeriesAnalyzer(SeriesRouting.Default);
        var input = Sample("ct-water-200mm");
        var scan = analyzer.Scan(input);
        Assert.Equal(["auto"], scan.Route.Profiles);
        Assert.Equal("serial:SIM-0001", scan.Device.Key);
        Assert.Equal(("CT01", "CT", "MODALITY1"), (scan.Device.StationName, scan.Device.Modality, scan.Device.CallingAe));
        Assert.Empty(scan.Unreadable);

        var analysis = analyzer.Analyze(input, scan, LimitSet.Default);
        var water = Assert.Single(analysis.Results, r => r.Profile == "ct-water");
        Assert.Equal(Verdict.Pass, water.Verdict);
        var hu = Assert.Single(water.Metrics, m => m.Name == "ct.water_hu");
        Assert.InRange(hu.Value!.Value, Support.PhantomTruth("ct-water-200mm", "ct.water_hu") - 1.5, Support.PhantomTruth("ct-water-200mm", "ct.water_hu") + 1.5);
        Assert.Equal(2, analysis.Labels.InstanceCount);
    }

    [Fact]
    public void Pixel_arrays_reused_from_earlier_series_give_the_same_results_as_fresh_ones()
    {
        // One pool for every series, as in a worker: each series decodes into arrays the previous one (another modality,
        // other sizes and values) left behind. Its results must be the ones a pool-less analyzer computes.
        var pool = new FrameBufferPool(512L * 1024 * 1024);
        var pooled = new SeriesAnalyzer(SeriesRouting.Default, pool);
        var fresh = new SeriesAnalyzer(SeriesRouting.Default, new FrameBufferPool(0));
        string[] order = ["dr-flat", "ct-water-200mm", "mr-uniform", "ct-water-200mm", "dr-flat", "mr-uniform", "ct-water-200mm"];
        foreach (var name in order)
        {
            var input = Sample(name);
            var expected = fresh.Analyze(input, fresh.Scan(input), LimitSet.Default);
            var actual = pooled.Analyze(input, pooled.Scan(input), LimitSet.Default);
            Assert.Equal(Describe(expected), Describe(actual));
            // The series' arrays are back in the pool for the next one.
            Assert.True(pool.RetainedBytes > 0, name);
        }

        static string Describe(SeriesAnalysis a) => string.Join("\n", a.Results.Select(r =>
            $"{r.Profile} {r.Verdict} " + string.Join(" ", r.Metrics.Select(m => $"{m.Name}={m.Value?.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}"))));
    }

    [Fact]
    public void DR_and_MR_samples_get_their_analyses_and_every_series_gets_label_checks()
    {
        var analyzer = new SeriesAnalyzer(SeriesRouting.Default);
        foreach (var (name, expected) in new[] { ("dr-flat", "dr-"), ("mr-uniform", "mr-uniform") })
        {
            var input = Sample(name);
            var analysis = analyzer.Analyze(input, analyzer.Scan(input), LimitSet.Default);
            Assert.NotEmpty(analysis.Results);
            Assert.All(analysis.Results, r => Assert.StartsWith(expected, r.Profile, StringComparison.Ordinal));
            Assert.True(analysis.Labels.ChecksMade > 0);
        }
    }

    [Fact]
    public void A_clinical_series_gets_label_checks_but_no_phantom_analysis_and_unreadable_files_are_listed()
    {
        var dir = Support.NewTempDir("qcclin");
        try
        {
            var files = Support.MakeCtFiles(dir, 3);
            foreach (var f in files) // the phantom images renamed as a patient's
            {
                var ds = DicomFile.Open(f.Path).Dataset;
                ds.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, "DOE^JOHN");
                ds.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, "12345");
                ds.AddOrUpdate(DicomTags.StudyDescription, DicomVR.LO, "CHEST");
                ds.AddOrUpdate(DicomTags.SeriesDescription, DicomVR.LO, "AXIAL 5mm");
                new DicomFile(ds, null, TransferSyntax.ExplicitVRLittleEndian).Save(f.Path, TransferSyntax.ExplicitVRLittleEndian);
            }
            var broken = Path.Combine(dir, "broken.dcm");
            File.WriteAllText(broken, "this is a text file, not a DICOM file; it was put in the series folder by mistake");
            var input = new SeriesInput(files[0].StudyUid, files[0].SeriesUid, [.. files.Select(f => f.Path), broken], null);
            var analyzer = new SeriesAnalyzer(SeriesRouting.Default);
            var scan = analyzer.Scan(input);
            Assert.False(scan.Route.IsQc);
            Assert.Equal(["broken.dcm"], scan.Unreadable);
            var analysis = analyzer.Analyze(input, scan, LimitSet.Default);
            Assert.Empty(analysis.Results);
            Assert.Equal(3, analysis.Labels.InstanceCount);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }
}
