using System.Globalization;
using System.Text.Json;
using QcPipeline.Cli.Analyze;
using QcPipeline.Phantoms;
using SkiaSharp;

namespace QcPipeline.Cli.Tests;

/// <summary>One generated CT water phantom (1 slice, default options) shared by the tests that only read it.</summary>
public sealed class CtPhantomFixture : IDisposable
{
    public CtPhantomFixture()
    {
        var r = CliRunner.Run("phantom", "ct-water", "-o", Dir.Path, "--seed", "5");
        if (r.ExitCode != 0) throw new InvalidOperationException(r.Error);
        Manifest = PhantomManifest.FromJson(File.ReadAllText(Dir.File("manifest.json")));
    }

    public CliRunner.TempDir Dir { get; } = new();
    public PhantomManifest Manifest { get; }
    public void Dispose() => Dir.Dispose();
}

public class AnalyzeCommandTests(CtPhantomFixture ct) : IClassFixture<CtPhantomFixture>
{
    /// <summary>The repository's phantoms/ folder: found by walking up to QcPipeline.sln.</summary>
    private static string PhantomsDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "QcPipeline.sln"))) return Path.Combine(dir.FullName, "phantoms");
        throw new DirectoryNotFoundException("QcPipeline.sln not found above " + AppContext.BaseDirectory);
    }

    private static JsonElement[] Sets(CliResult r) => JsonDocument.Parse(r.Out).RootElement.EnumerateArray().ToArray();

    private static JsonElement Metric(JsonElement set, string name) =>
        set.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("name").GetString() == name);

    private static double Value(JsonElement set, string name) => Metric(set, name).GetProperty("value").GetDouble();

    [Fact]
    public void Generated_ct_water_phantom_passes_with_values_at_the_truth()
    {
        var r = CliRunner.Run("analyze", "--json", ct.Dir.Path);
        Assert.Equal(0, r.ExitCode);
        var sets = Sets(r);
        Assert.Equal(["ct-water", "ct-mtf"], sets.Select(s => s.GetProperty("profile").GetString()));
        Assert.All(sets, s => Assert.Equal("pass", s.GetProperty("verdict").GetString()));
        Assert.All(sets, s => Assert.Equal(ct.Manifest.SeriesInstanceUid, s.GetProperty("seriesInstanceUid").GetString()));
        var water = sets[0];
        var truth = ct.Manifest.Truth;
        // The ROI mean of the stored noisy image is what the analysis reproduces; ±0.3 HU around it.
        Assert.InRange(Value(water, "ct.water_hu"), truth["ct.water_hu"].PerImage![0] - 0.3, truth["ct.water_hu"].PerImage![0] + 0.3);
        // The issue's tolerances: noise 5 % relative, uniformity ±0.5 HU.
        var noise = truth["ct.noise_percent"];
        Assert.InRange(Value(water, "ct.noise_percent"), noise.Value * 0.95, noise.Value * 1.05);
        var uniformity = truth["ct.uniformity_hu"];
        Assert.InRange(Value(water, "ct.uniformity_hu"), uniformity.Value - 0.5, uniformity.Value + 0.5);
        var mtf = truth["ct.mtf10_lpcm"];
        Assert.InRange(Value(sets[1], "ct.mtf10_lpcm"), mtf.Value - mtf.Tolerance!.Value, mtf.Value + mtf.Tolerance.Value);
    }

    [Fact]
    public void Json_keys_are_exactly_the_documented_ones()
    {
        var r = CliRunner.Run("analyze", "--json", ct.Dir.Path);
        string[] required = ["seriesInstanceUid", "profile", "verdict", "metrics", "warnings"];
        string[] optional = ["algorithmVersion", "limitSet", "inconclusiveReason", "rois"];
        foreach (var set in Sets(r))
        {
            var keys = set.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(required, keys.Take(required.Length));
            Assert.All(keys.Skip(required.Length), k => Assert.Contains(k, optional));
            foreach (var m in set.GetProperty("metrics").EnumerateArray())
            {
                Assert.Equal(["name", "value", "unit", "limit", "verdict"], m.EnumerateObject().Select(p => p.Name));
                if (m.GetProperty("limit").ValueKind == JsonValueKind.Object)
                    Assert.Equal(["min", "max"], m.GetProperty("limit").EnumerateObject().Select(p => p.Name));
            }
        }
        var water = Metric(Sets(r)[0], "ct.water_hu");
        Assert.Equal(-6, water.GetProperty("limit").GetProperty("min").GetDouble());
        Assert.Equal(6, water.GetProperty("limit").GetProperty("max").GetDouble());
        Assert.Equal("HU", water.GetProperty("unit").GetString());
    }

    [Fact]
    public void Table_names_profile_series_metrics_and_no_patient_data()
    {
        var r = CliRunner.Run("analyze", ct.Dir.Path);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"# ct-water  PASS  series {ct.Manifest.SeriesInstanceUid}", r.Out, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^  ct\.water_hu +-?[0-9.]+(E-?\d+)? +HU +\[-6, 6\] +pass", r.Out);
        Assert.Matches(@"(?m)^  ct\.mtf10_lpcm +[0-9.]+ +lp/cm +> 5 +pass", r.Out);
        // The phantom header's patient name and ID.
        Assert.DoesNotContain("QC^WATER", r.Out + r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("QC-PHANTOM", r.Out + r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Ct_number_offset_of_8_HU_fails_water_and_exits_1()
    {
        using var dir = new CliRunner.TempDir();
        Assert.Equal(0, CliRunner.Run("phantom", "ct-water", "-o", dir.Path, "--seed", "6", "--hu-offset", "8").ExitCode);
        var r = CliRunner.Run("analyze", "--json", dir.Path);
        Assert.Equal(1, r.ExitCode);
        var water = Sets(r).Single(s => s.GetProperty("profile").GetString() == "ct-water");
        Assert.Equal("fail", water.GetProperty("verdict").GetString());
        Assert.Equal("fail", Metric(water, "ct.water_hu").GetProperty("verdict").GetString());
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "manifest.json")));
        double truthHu = manifest.RootElement.GetProperty("truth").GetProperty("ct.water_hu").GetProperty("perImage")[0].GetDouble();
        Assert.InRange(truthHu, 7.5, 8.5); // the offset is what the truth shows
        Assert.InRange(Value(water, "ct.water_hu"), truthHu - 0.3, truthHu + 0.3);
    }

    [Fact]
    public void Committed_samples_analyse_without_error_and_pass_given_baselines_for_dark_and_snr()
    {
        var phantoms = PhantomsDir();
        // Without baselines the dark image and the MR SNR have no limit: inconclusive ("no baseline stored"), exit 2.
        var plain = CliRunner.Run("analyze", "--json", phantoms);
        Assert.Equal(2, plain.ExitCode);
        var sets = Sets(plain);
        Assert.Equal(
            ["ct-water", "ct-mtf", "dr-stp", "dr-uniformity", "dr-dark", "dr-lag", "mr-uniform"],
            sets.Select(s => s.GetProperty("profile").GetString()));
        foreach (var s in sets)
        {
            string expected = s.GetProperty("profile").GetString() is "dr-dark" or "mr-uniform" ? "inconclusive" : "pass";
            Assert.Equal(expected, s.GetProperty("verdict").GetString());
        }
        // The only stderr lines: the manifest.json files skipped in the folders.
        Assert.All(plain.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Contains("not readable DICOM", l, StringComparison.Ordinal));

        // With the manifests' truth as baselines (±10 % SNR, ±50 % dark) every set passes.
        var dr = PhantomManifest.FromJson(File.ReadAllText(Path.Combine(phantoms, "dr-flat", "manifest.json")));
        var mr = PhantomManifest.FromJson(File.ReadAllText(Path.Combine(phantoms, "mr-uniform", "manifest.json")));
        using var dir = new CliRunner.TempDir();
        double dark = dr.Truth["dr.dark_mean"].Value, snr = mr.Truth["mr.snr"].Value;
        File.WriteAllText(dir.File("limits.json"), string.Create(CultureInfo.InvariantCulture, $$"""
            {"id": "sample-baselines", "version": 2, "limits": {
              "dr.dark_mean": {"min": {{dark * 0.5}}, "max": {{dark * 1.5}}},
              "dr.dark_sd": {"min": 0, "max": 10},
              "mr.snr": {"min": {{snr * 0.9}}, "max": {{snr * 1.1}} }
            } }
            """));
        var r = CliRunner.Run("analyze", "--json", "--limits", dir.File("limits.json"), phantoms);
        Assert.Equal(0, r.ExitCode);
        Assert.All(Sets(r), s => Assert.Equal("pass", s.GetProperty("verdict").GetString()));
        Assert.All(Sets(r), s => Assert.Equal("sample-baselines", s.GetProperty("limitSet").GetProperty("id").GetString()));

        // Values against the manifests' truth.
        var bySet = Sets(r).ToDictionary(s => s.GetProperty("profile").GetString()!);
        void Near(string profile, string metric, PhantomManifest m) =>
            Assert.InRange(Value(bySet[profile], metric), m.Truth[metric].Value - m.Truth[metric].Tolerance!.Value, m.Truth[metric].Value + m.Truth[metric].Tolerance!.Value);
        Near("dr-uniformity", "dr.uniformity_cv_percent", dr);
        Near("dr-dark", "dr.dark_mean", dr);
        Near("dr-stp", "dr.stp_r2", dr);
        Near("mr-uniform", "mr.snr", mr);
        Near("mr-uniform", "mr.piu_percent", mr);
    }

    [Fact]
    public void Dr_stp_profile_takes_every_file_as_one_set()
    {
        // The flat field and the four signal-transfer images; the explicit profile uses every image it is given.
        string[] files = [.. Enumerable.Range(1, 5).Select(i => Path.Combine(PhantomsDir(), "dr-flat", $"DX000{i}.dcm"))];
        var r = CliRunner.Run(["analyze", "--json", "--profile", "dr-stp", .. files]);
        Assert.Equal(0, r.ExitCode);
        var set = Assert.Single(Sets(r));
        Assert.Equal("dr-stp", set.GetProperty("profile").GetString());
        Assert.True(Value(set, "dr.stp_r2") > 0.95);
    }

    [Fact]
    public void Non_phantom_ct_is_inconclusive_exit_2_with_the_reason()
    {
        var r = CliRunner.Run("analyze", CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("# ct-water  INCONCLUSIVE", r.Out, StringComparison.Ordinal);
        Assert.Matches("(?m)^  inconclusive: .+", r.Out);
        Assert.DoesNotContain("ct-mtf", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Explicit_profile_of_another_modality_is_inconclusive()
    {
        var r = CliRunner.Run("analyze", "--json", "--profile", "mr-uniform", ct.Dir.Path);
        Assert.Equal(2, r.ExitCode);
        var set = Assert.Single(Sets(r));
        Assert.Equal("inconclusive", set.GetProperty("verdict").GetString());
        Assert.Contains("wrong modality CT", set.GetProperty("inconclusiveReason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Unreadable_named_file_is_reported_and_beats_inconclusive()
    {
        using var dir = new CliRunner.TempDir();
        File.WriteAllText(dir.File("junk.dcm"), "not DICOM at all");
        var r = CliRunner.Run("analyze", dir.File("junk.dcm"), CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"qc: {dir.File("junk.dcm")}: ", r.Error, StringComparison.Ordinal);
        Assert.Contains("INCONCLUSIVE", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlay_writes_pngs_with_the_rois_drawn()
    {
        using var dir = new CliRunner.TempDir();
        var r = CliRunner.Run("analyze", "--json", "--overlay", dir.File("png"), ct.Dir.Path);
        Assert.Equal(0, r.ExitCode);
        var sop = ct.Manifest.Files[0].SopInstanceUid;
        var water = dir.File($"png/ct-water_{sop}.png");
        Assert.True(File.Exists(water));
        Assert.True(File.Exists(dir.File($"png/ct-mtf_{sop}.png")));
        var bytes = File.ReadAllBytes(water);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.True(bytes.Length > 10_000);

        using var bitmap = SKBitmap.Decode(water);
        Assert.Equal(512, bitmap.Width); // 512² CT: drawn 1:1, legend band below
        Assert.True(bitmap.Height > 512);
        // The centre ROI's outline, at its rightmost point, has the ROI colour.
        var centre = Sets(r)[0].GetProperty("rois").EnumerateArray().First(roi => roi.GetProperty("label").GetString() == "centre");
        Assert.Equal("circle", centre.GetProperty("shape").GetString());
        double cx = centre.GetProperty("centerX").GetDouble() + 0.5, cy = centre.GetProperty("centerY").GetDouble() + 0.5, radius = centre.GetProperty("radius").GetDouble();
        int px = (int)Math.Round(cx + radius), py = (int)Math.Round(cy);
        bool found = false;
        for (int dy = -2; dy <= 2; dy++)
            for (int dx = -2; dx <= 2; dx++)
                found |= bitmap.GetPixel(px + dx, py + dy) == OverlayRenderer.RoiColor;
        Assert.True(found, "no ROI-coloured pixel on the centre ROI's outline");
        // Inside the ROI, away from the outline, the image is grey (water at level 0 HU).
        var inside = bitmap.GetPixel((int)cx, (int)cy);
        Assert.Equal(inside.Red, inside.Green);
        Assert.InRange(inside.Red, 100, 160);
    }

    [Theory]
    [InlineData("analyze")]
    [InlineData("analyze", "--profile", "ct-bogus", "x.dcm")]
    [InlineData("analyze", "--bogus", "x.dcm")]
    [InlineData("phantom")]
    [InlineData("phantom", "ct-water")]
    [InlineData("phantom", "dr", "-o", "x", "--kind", "bogus")]
    [InlineData("phantom", "mr", "-o", "x", "--noise", "3", "--snr", "40")]
    [InlineData("phantom", "ct-water", "-o", "x", "--ts", "jpeg")]
    public void Bad_command_line_is_exit_3(params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(3, r.ExitCode);
        Assert.NotEqual("", r.Error.Trim());
        Assert.Equal("", r.Out);
    }

    [Theory]
    [InlineData("missing.json", null)]
    [InlineData("bad.json", "{ not json")]
    [InlineData("noid.json", """{"version": 1, "limits": {}}""")]
    [InlineData("badlimit.json", """{"id": "x", "limits": {"ct.water_hu": {"min": "low"}}}""")]
    public void Unusable_limits_file_is_exit_3_with_the_reason(string name, string? content)
    {
        using var dir = new CliRunner.TempDir();
        if (content is not null) File.WriteAllText(dir.File(name), content);
        var r = CliRunner.Run("analyze", "--limits", dir.File(name), ct.Dir.Path);
        Assert.Equal(3, r.ExitCode);
        Assert.StartsWith($"qc: {dir.File(name)}: ", r.Error, StringComparison.Ordinal);
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void Limits_file_changes_the_verdict()
    {
        using var dir = new CliRunner.TempDir();
        File.WriteAllText(dir.File("tight.json"), """{"id": "tight", "version": 3, "limits": {"ct.noise_percent": {"max": 0.1}}}""");
        var r = CliRunner.Run("analyze", "--json", "--limits", dir.File("tight.json"), ct.Dir.Path);
        Assert.Equal(1, r.ExitCode);
        var water = Sets(r)[0];
        Assert.Equal("fail", Metric(water, "ct.noise_percent").GetProperty("verdict").GetString());
        Assert.Equal(3, water.GetProperty("limitSet").GetProperty("version").GetInt32());
    }
}
