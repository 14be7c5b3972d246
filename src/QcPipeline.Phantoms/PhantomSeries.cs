using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Phantoms;

/// <summary>One generated image: the dataset and, for tests and truth checks, its modality values (after
/// quantisation to stored values, MONOCHROME1 already in MONOCHROME2 sense) with and without noise. The noiseless CT
/// image is clamped to the stored range but not rounded (the expectation of the rounded noisy values).</summary>
public sealed record SimulatedImage(string FileName, string Role, DicomDataset Dataset, int Width, int Height, float[] Noisy, float[] Noiseless);

/// <summary>An in-memory generated set: the images and the manifest (whose file list names the files
/// <see cref="WriteTo"/> writes).</summary>
public sealed record PhantomSeries(IReadOnlyList<SimulatedImage> Images, PhantomManifest Manifest)
{
    public IReadOnlyList<DicomDataset> Datasets => Images.Select(i => i.Dataset).ToList();

    /// <summary>Writes every image as a Part 10 file (<paramref name="transferSyntax"/>: a native syntax or RLE
    /// Lossless) and manifest.json into <paramref name="outputDir"/>.</summary>
    public void WriteTo(string outputDir, TransferSyntax? transferSyntax = null)
    {
        transferSyntax ??= TransferSyntax.ExplicitVRLittleEndian;
        Directory.CreateDirectory(outputDir);
        foreach (var image in Images)
        {
            var file = new DicomFile(image.Dataset);
            if (transferSyntax.IsEncapsulated) file = DicomTranscoder.Transcode(file, transferSyntax);
            file.Save(Path.Combine(outputDir, image.FileName), transferSyntax);
        }
        File.WriteAllText(Path.Combine(outputDir, "manifest.json"), Manifest.ToJson() + "\n");
    }
}
