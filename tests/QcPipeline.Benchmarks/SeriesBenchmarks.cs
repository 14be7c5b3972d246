using System.Globalization;
using BenchmarkDotNet.Attributes;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Phantoms.Ct;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Benchmarks;

/// <summary>ct-water on a 100-slice series of simulator slices with decoding included: Part 10 bytes in memory →
/// <see cref="DicomFile.Read(byte[], DicomReadOptions?)"/> → <see cref="AnalysisImage.FromDicom"/> →
/// <see cref="CtWaterAnalysis"/>; target ≤ 150 ms on one core. The slices are the committed simulator sample
/// (phantoms/ct-water-200mm, QcPipeline.Phantoms output, RLE Lossless, 512 × 512) cloned to 100 datasets with new
/// SOP Instance UIDs, instance numbers and positions (this project does not reference the simulator).
/// The 3000 × 3000 DR flat field (≤ 50 ms) is <see cref="DrAnalysisBenchmarks"/>.
/// Run: dotnet run -c Release --project tests/QcPipeline.Benchmarks -- --filter '*SeriesBenchmarks*' --job short,
/// or -- --ct-series for a CPU-time figure without BenchmarkDotNet.</summary>
[MemoryDiagnoser]
public class SeriesBenchmarks
{
    public const int Slices = 100;
    private byte[][] _rle = [];
    private byte[][] _native = [];
    private readonly CtWaterOptions _options = new();

    [GlobalSetup]
    public void Setup()
    {
        _rle = Series(TransferSyntax.RleLossless);
        _native = Series(TransferSyntax.ExplicitVRLittleEndian);
    }

    private static string SampleDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "QcPipeline.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("repository root (QcPipeline.sln)"), "phantoms", "ct-water-200mm");
    }

    /// <summary>100 Part 10 files in memory in <paramref name="syntax"/>, alternating the sample's two slices.</summary>
    public static byte[][] Series(TransferSyntax syntax)
    {
        var sources = Directory.GetFiles(SampleDir(), "CT*.dcm").Order(StringComparer.Ordinal).Select(f => DicomFile.Read(File.ReadAllBytes(f))).ToArray();
        var result = new byte[Slices][];
        for (int k = 0; k < Slices; k++)
        {
            var src = sources[k % sources.Length];
            var ds = src.Dataset.Clone();
            string sop = ds.GetStringOrEmpty(DicomTags.SOPInstanceUID);
            ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, $"{sop[..Math.Min(sop.Length, 54)]}.{k + 1}");
            ds.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, k + 1);
            double z = 5.0 * k;
            var ipp = ds.GetDoubles(DicomTags.ImagePositionPatient);
            ds.AddOrUpdate(DicomTags.ImagePositionPatient, DicomVR.DS, string.Join('\\', DicomValues.FormatDS(ipp[0]), DicomValues.FormatDS(ipp[1]), DicomValues.FormatDS(z)));
            ds.AddOrUpdate(DicomTags.SliceLocation, DicomVR.DS, z);
            var file = new DicomFile(ds, null, src.TransferSyntax);
            if (file.TransferSyntax.Uid != syntax.Uid) file = DicomTranscoder.Transcode(file, syntax);
            result[k] = file.ToBytes(syntax);
        }
        foreach (var s in sources) s.Dispose();
        return result;
    }

    public static AnalysisResult Analyze(byte[][] files, CtWaterOptions options)
    {
        var images = new AnalysisImage[files.Length];
        for (int k = 0; k < files.Length; k++)
        {
            using var file = DicomFile.Read(files[k]);
            images[k] = AnalysisImage.FromDicom(file);
        }
        return CtWaterAnalysis.Analyze(images, options, LimitSet.Default);
    }

    [Benchmark]
    public AnalysisResult CtWater100RleDecoded() => Analyze(_rle, _options);

    [Benchmark]
    public AnalysisResult CtWater100NativeDecoded() => Analyze(_native, _options);

    /// <summary>Process CPU time and wall time per call, best of 5 rounds of 3 calls (the process runs the calls on one
    /// thread: the analysis and the decoders are single-threaded).</summary>
    public static void PrintTimings()
    {
        var b = new SeriesBenchmarks();
        b.Setup();
        var check = b.CtWater100RleDecoded();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ct-water over {Slices} simulator slices: verdict {check.Verdict}, water {check.Metrics[0].Value:F3} HU"));
        foreach (var (name, files) in new[] { ("RLE, decoded", b._rle), ("native, decoded", b._native) })
        {
            for (int i = 0; i < 3; i++) Analyze(files, b._options);
            double bestCpu = double.MaxValue, bestWall = double.MaxValue;
            for (int round = 0; round < 5; round++)
            {
                var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
                var sw = System.Diagnostics.Stopwatch.StartNew();
                for (int i = 0; i < 3; i++) Analyze(files, b._options);
                bestWall = Math.Min(bestWall, sw.Elapsed.TotalMilliseconds / 3);
                bestCpu = Math.Min(bestCpu, (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / 3);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ct-water 100 slices, {name}: cpu {bestCpu:F1} ms, wall {bestWall:F1} ms per series"));
        }
    }
}
