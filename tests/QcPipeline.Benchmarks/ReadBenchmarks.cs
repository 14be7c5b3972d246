using BenchmarkDotNet.Attributes;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Benchmarks;

/// <summary>Reading a 512x512 CT file (targets: header-only ≤ 20 µs and ≤ 10 KB; whole with pixels touched ≤ 100 µs).</summary>
[MemoryDiagnoser]
public class ReadBenchmarks
{
    private static readonly DicomTag PixelData = new(0x7FE00010);
    private static readonly DicomReadOptions Pooled = new() { UsePooledBuffer = true };
    private string _dir = "";
    private string _path = "";
    private byte[] _bytes = [];
    private DicomFile _file = null!;

    [Params("explicit", "implicit")]
    public string Syntax { get; set; } = "explicit";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "qc-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(_dir);
        _file = CtFileGenerator.Create();
        var ts = Syntax == "implicit" ? TransferSyntax.ImplicitVRLittleEndian : TransferSyntax.ExplicitVRLittleEndian;
        _path = Path.Combine(_dir, $"ct-{Syntax}.dcm");
        _file.Save(_path, ts);
        _bytes = File.ReadAllBytes(_path);
        _file = DicomFile.Read(_bytes);
    }

    [GlobalCleanup]
    public void Cleanup() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private static long Sum(DicomFile f)
    {
        // Touches every pixel (vectorised, so the figure is about reading, not about a scalar loop).
        var span = f.Dataset.GetSpan<short>(PixelData);
        var acc = System.Numerics.Vector<int>.Zero;
        int i = 0, w = System.Numerics.Vector<short>.Count;
        for (; i + w <= span.Length; i += w)
        {
            System.Numerics.Vector.Widen(new System.Numerics.Vector<short>(span[i..]), out var lo, out var hi);
            acc += lo + hi;
        }
        long sum = System.Numerics.Vector.Sum(acc);
        for (; i < span.Length; i++) sum += span[i];
        return sum;
    }

    [Benchmark]
    public int HeaderOnly()
    {
        using var f = DicomFile.Open(_path, DicomReadOptions.HeaderOnly);
        return f.Dataset.Count;
    }

    [Benchmark]
    public long Whole()
    {
        using var f = DicomFile.Open(_path);
        return Sum(f);
    }

    [Benchmark]
    public long WholePooled()
    {
        using var f = DicomFile.Open(_path, Pooled);
        return Sum(f);
    }

    [Benchmark]
    public long FromMemory()
    {
        using var f = DicomFile.Read(_bytes);
        return Sum(f);
    }

    [Benchmark]
    public int Write() => _file.ToBytes().Length;
}
