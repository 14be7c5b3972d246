using System.Text;
using QcPipeline.Analysis.Phantoms.Ct;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;
using QcPipeline.Phantoms;
using QcPipeline.Phantoms.Ct;
using static QcPipeline.Analysis.Tests.Truth.TruthSupport;

namespace QcPipeline.Analysis.Tests.Truth;

/// <summary>Lossless compressed versions of a simulated CT slice, made by independent encoders (DCMTK; OpenJPEG's
/// opj_compress for JPEG 2000, wrapped by our toolkit), give metric values identical to the uncompressed input.</summary>
public sealed class CompressedTruthTests : IDisposable
{
    private static readonly Lazy<PhantomSeries> Slice = new(() => CtWaterPhantom.Generate(CtTruthTests.Base with { SliceCount = 1 }));
    private readonly string _dir = Directory.CreateTempSubdirectory("qc-truth-compressed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<(string, double?, Verdict)> Measure(byte[] bytes, TransferSyntax expected)
    {
        using var file = DicomFile.Read(bytes);
        Assert.Equal(expected.Uid, file.TransferSyntax.Uid);
        var image = AnalysisImage.FromDicom(file);
        var r = CtWaterAnalysis.Analyze([image], CtTruthTests.AnalysisFor(200), LimitSet.Default);
        Assert.Null(r.InconclusiveReason);
        var mtf = CtMtfAnalysis.Analyze([image], new CtMtfOptions(), LimitSet.Default);
        return r.Metrics.Concat(mtf.Metrics).Select(m => (m.Name, m.Value, m.Verdict)).ToList();
    }

    private string WriteNative()
    {
        var path = Path.Combine(_dir, "native.dcm");
        File.WriteAllBytes(path, ToBytes(Slice.Value.Images[0].Dataset, TransferSyntax.ExplicitVRLittleEndian));
        return path;
    }

    [Theory]
    [InlineData("dcmcrle", "", "1.2.840.10008.1.2.5")]
    [InlineData("dcmcjpeg", "+e1", "1.2.840.10008.1.2.4.70")] // JPEG Lossless, first-order prediction (SV1)
    [InlineData("dcmcjpls", "+el", "1.2.840.10008.1.2.4.80")] // JPEG-LS lossless
    public void Dcmtk_lossless_encodings_give_identical_results(string tool, string option, string syntaxUid)
    {
        Assert.True(Tool.Exists(tool), $"{tool} (DCMTK) is not installed (scripts/test.sh installs it)");
        var native = WriteNative();
        var output = Path.Combine(_dir, tool + ".dcm");
        var run = Tool.Run(tool, option.Length > 0 ? [option, native, output] : [native, output]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var syntax = TransferSyntax.Lookup(syntaxUid);
        var expected = Measure(File.ReadAllBytes(native), TransferSyntax.ExplicitVRLittleEndian);
        var actual = Measure(File.ReadAllBytes(output), syntax);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Jpeg2000_lossless_from_opj_compress_gives_identical_results()
    {
        Assert.True(Tool.Exists("opj_compress"), "opj_compress is not installed: apt-get install libopenjp2-tools");
        var ds = Slice.Value.Images[0].Dataset;
        var px = DicomPixelData.Create(ds);
        int w = px.Columns, h = px.Rows;
        Assert.True(ds.TryGetInt32(DicomTags.PixelRepresentation, out var pr) && pr == 0); // unsigned 12-bit: representable as a 16-bit PGM
        var native = px.GetNativeFrame(0).ToArray();

        // 16-bit binary PGM (big-endian samples), maxval 4095 = 12 bits stored.
        var pgm = Path.Combine(_dir, "slice.pgm");
        using (var fs = File.Create(pgm))
        {
            fs.Write(Encoding.ASCII.GetBytes($"P5\n{w} {h}\n4095\n"));
            var be = new byte[native.Length];
            for (int i = 0; i < native.Length; i += 2) { be[i] = native[i + 1]; be[i + 1] = native[i]; }
            fs.Write(be);
        }
        var j2k = Path.Combine(_dir, "slice.j2k"); // raw codestream, reversible 5/3 wavelet (opj_compress default: lossless)
        var run = Tool.Run("opj_compress", ["-i", pgm, "-o", j2k]);
        Assert.True(run.ExitCode == 0, run.ToString());

        var encapsulated = ds.Clone();
        encapsulated.AddOrUpdate(new DicomFragmentSequence(DicomTags.PixelData, DicomVR.OB, ReadOnlyMemory<byte>.Empty, [File.ReadAllBytes(j2k)]));
        var bytes = new DicomFile(encapsulated, null, TransferSyntax.Jpeg2000Lossless).ToBytes(TransferSyntax.Jpeg2000Lossless);

        var expected = Measure(ToBytes(ds), TransferSyntax.ExplicitVRLittleEndian);
        Assert.Equal(expected, Measure(bytes, TransferSyntax.Jpeg2000Lossless));
    }
}
