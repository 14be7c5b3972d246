using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Phantoms;

namespace QcPipeline.Cli.Tests;

public class PhantomCommandTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "QcPipeline.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("QcPipeline.sln not found");
    }

    [Fact]
    public void Dr_flat_kind_writes_one_image_and_the_manifest()
    {
        using var dir = new CliRunner.TempDir();
        var r = CliRunner.Run("phantom", "dr", "-o", dir.Path, "--kind", "flat", "--size", "64", "--seed", "3", "--monochrome1");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("dr.uniformity_cv_percent = ", r.Out, StringComparison.Ordinal);
        var manifest = PhantomManifest.FromJson(File.ReadAllText(dir.File("manifest.json")));
        var file = Assert.Single(manifest.Files);
        Assert.Equal("flat", file.Role);
        using var dicom = DicomFile.Open(dir.File(file.Name), DicomReadOptions.HeaderOnly);
        Assert.Equal("MONOCHROME1", dicom.Dataset.GetString(DicomTags.PhotometricInterpretation));
        Assert.Equal(3, manifest.Seed);
    }

    [Fact]
    public void Dr_session_analyses_as_the_router_splits_it()
    {
        using var dir = new CliRunner.TempDir();
        Assert.Equal(0, CliRunner.Run("phantom", "dr", "-o", dir.Path, "--size", "128", "--kind", "lag", "--lag", "0.08").ExitCode);
        var r = CliRunner.Run("analyze", dir.Path);
        Assert.Equal(1, r.ExitCode); // 8 % residual signal: the lag test fails (limit ≤ 5 %)
        Assert.Contains("# dr-uniformity  PASS", r.Out, StringComparison.Ordinal);
        Assert.Contains("# dr-lag  FAIL", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Mr_single_image_with_a_target_snr()
    {
        using var dir = new CliRunner.TempDir();
        var r = CliRunner.Run("phantom", "mr", "-o", dir.Path, "--images", "1", "--snr", "100", "--ts", "rle");
        Assert.Equal(0, r.ExitCode);
        var manifest = PhantomManifest.FromJson(File.ReadAllText(dir.File("manifest.json")));
        Assert.Single(manifest.Files);
        using var dicom = DicomFile.Open(dir.File(manifest.Files[0].Name), DicomReadOptions.HeaderOnly);
        Assert.Equal(TransferSyntax.RleLossless, dicom.TransferSyntax);
    }

    [Fact]
    public void Options_the_generator_rejects_are_a_usage_error()
    {
        using var dir = new CliRunner.TempDir();
        var r = CliRunner.Run("phantom", "ct-water", "-o", dir.Path, "--diameter", "600");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("scan field", r.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("manifest.json")));
    }

    [Fact]
    public void Samples_regenerate_the_committed_phantoms_byte_for_byte()
    {
        using var dir = new CliRunner.TempDir();
        var r = CliRunner.Run("phantom", "samples", "-o", dir.Path);
        Assert.Equal(0, r.ExitCode);
        var committed = Path.Combine(RepoRoot(), "phantoms");
        foreach (var name in PhantomSamples.All.Keys)
        {
            var written = Directory.GetFiles(dir.File(name)).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.NotEmpty(written);
            foreach (var f in written)
                Assert.Equal(File.ReadAllBytes(Path.Combine(committed, name, f!)), File.ReadAllBytes(dir.File(Path.Combine(name, f!))));
        }
    }
}
