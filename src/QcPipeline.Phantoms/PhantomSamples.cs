using QcPipeline.Dicom.IO;
using QcPipeline.Phantoms.Ct;
using QcPipeline.Phantoms.Dr;
using QcPipeline.Phantoms.Mr;

namespace QcPipeline.Phantoms;

/// <summary>The small sample sets committed under <c>phantoms/</c>: their options, and a writer that regenerates them
/// byte for byte (RLE Lossless, so they stay small).</summary>
public static class PhantomSamples
{
    public static CtWaterOptions CtWater200 { get; } = new()
    {
        Seed = 200, SliceCount = 2, OffsetXMm = 12, OffsetYMm = -8,
        Header = new PhantomHeader { SeriesDescription = "Water 200 mm, 5 mm, STANDARD" },
    };

    public static DrOptions DrFlat { get; } = new()
    {
        Seed = 7, Width = 256, Height = 256, PixelSpacingMm = 1.6, SignalTransferKermasUgy = [1, 2.5, 5, 10], DeadPixels = 3, LagFraction = 0.05,
    };

    public static MrOptions MrUniform { get; } = new() { Seed = 15, GhostAmplitude = 0.02, NoiseSigma = 5 };

    /// <summary>Folder name → generator.</summary>
    public static IReadOnlyDictionary<string, Func<PhantomSeries>> All { get; } = new Dictionary<string, Func<PhantomSeries>>
    {
        ["ct-water-200mm"] = () => CtWaterPhantom.Generate(CtWater200),
        ["dr-flat"] = () => DrPhantom.Generate(DrFlat),
        ["mr-uniform"] = () => MrPhantom.Generate(MrUniform),
    };

    /// <summary>Writes every sample set into <paramref name="phantomsDir"/>/&lt;name&gt;/, replacing its files.</summary>
    public static void WriteAll(string phantomsDir)
    {
        foreach (var (name, generate) in All)
        {
            var dir = Path.Combine(phantomsDir, name);
            if (Directory.Exists(dir))
                foreach (var f in Directory.GetFiles(dir, "*.dcm").Append(Path.Combine(dir, "manifest.json")).Where(File.Exists)) File.Delete(f);
            generate().WriteTo(dir, TransferSyntax.RleLossless);
        }
    }
}
