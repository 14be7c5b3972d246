using System.Text.Json;
using QcPipeline.Phantoms.Ct;
using QcPipeline.Phantoms.Dr;
using QcPipeline.Phantoms.Mr;

namespace QcPipeline.Phantoms.Tests;

/// <summary>The committed samples under phantoms/ regenerate byte for byte. Set QC_REGENERATE_PHANTOMS=1 to rewrite them.</summary>
public class SampleTests
{
    private static string PhantomsDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "QcPipeline.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("repository root"), "phantoms");
    }

    [Fact]
    public void Committed_samples_regenerate_identically()
    {
        var root = PhantomsDir();
        if (Environment.GetEnvironmentVariable("QC_REGENERATE_PHANTOMS") == "1") PhantomSamples.WriteAll(root);
        var fresh = TestSupport.TempDir("samples");
        PhantomSamples.WriteAll(fresh);
        foreach (var name in PhantomSamples.All.Keys)
        {
            var committed = Path.Combine(root, name);
            Assert.True(Directory.Exists(committed), $"{committed} is missing: run with QC_REGENERATE_PHANTOMS=1");
            var expected = Directory.GetFiles(committed).Select(Path.GetFileName).Order().ToArray();
            var actual = Directory.GetFiles(Path.Combine(fresh, name)).Select(Path.GetFileName).Order().ToArray();
            Assert.Equal(expected, actual);
            foreach (var f in actual)
                Assert.True(File.ReadAllBytes(Path.Combine(committed, f!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(fresh, name, f!))), $"{name}/{f} differs");
        }
    }

    [Fact]
    public void Manifest_options_round_trip_to_the_same_set()
    {
        var json = PhantomSamples.All["mr-uniform"]().Manifest.ToJson();
        var manifest = PhantomManifest.FromJson(json);
        var options = manifest.Options.Deserialize<MrOptions>(PhantomManifest.JsonOptions)!;
        Assert.Equal(json, MrPhantom.Generate(options).Manifest.ToJson());
        var dr = PhantomSamples.All["dr-flat"]().Manifest;
        Assert.Equal(dr.ToJson(), DrPhantom.Generate(dr.Options.Deserialize<DrOptions>(PhantomManifest.JsonOptions)!).Manifest.ToJson());
        Assert.Equal(PhantomSamples.CtWater200, PhantomManifest.FromJson(PhantomSamples.All["ct-water-200mm"]().Manifest.ToJson()).Options.Deserialize<CtWaterOptions>(PhantomManifest.JsonOptions)! with { Header = PhantomSamples.CtWater200.Header });
    }
}
