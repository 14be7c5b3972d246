using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using QcPipeline.Dicom.Imaging.Codecs;

namespace QcPipeline.Dicom.Tests.Imaging.Codecs;

/// <summary>
/// Test-only: walks the top level of a Part 10 file (Explicit or Implicit VR Little Endian data set) to find
/// the image attributes and (7FE0,0010), returning native pixel bytes or the fragments (without the Basic
/// Offset Table item). Sequences of undefined length are skipped. Not a general reader.
/// </summary>
internal sealed class TestDicomScanner
{
    public string TransferSyntax { get; private set; } = "";
    public Dictionary<uint, byte[]> Elements { get; } = [];
    public byte[]? Native { get; private set; }
    public List<byte[]>? Fragments { get; private set; }

    private readonly byte[] _data;
    private int _pos;

    private TestDicomScanner(byte[] data) => _data = data;

    public static TestDicomScanner Scan(string path) => Scan(File.ReadAllBytes(path));

    public static TestDicomScanner Scan(byte[] file)
    {
        var s = new TestDicomScanner(file);
        s.Run();
        return s;
    }

    public int UShort(uint tag) => BinaryPrimitives.ReadUInt16LittleEndian(Elements[tag]);

    public int Frames => Elements.TryGetValue(0x00280008, out var v) ? int.Parse(Encoding.ASCII.GetString(v).Trim('\0', ' ')) : 1;

    public FrameInfo FrameInfo(int? planar = null) => new(
        UShort(0x00280010), UShort(0x00280011), UShort(0x00280002), UShort(0x00280100), UShort(0x00280101),
        UShort(0x00280103) == 1, planar ?? (Elements.ContainsKey(0x00280006) ? UShort(0x00280006) : 0));

    /// <summary>Native bytes of frame <paramref name="index"/>.</summary>
    public byte[] NativeFrame(int index)
    {
        int length = (int)FrameInfo().FrameLength;
        return Native!.AsSpan(index * length, length).ToArray();
    }

    private void Run()
    {
        if (_data.Length < 132 || Encoding.ASCII.GetString(_data, 128, 4) != "DICM") throw new InvalidDataException("not a Part 10 file");
        _pos = 132;
        while (_pos + 4 <= _data.Length && BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(_pos)) == 0x0002)
        {
            var (tag, length) = ReadHeader(explicitVr: true);
            Elements[tag] = _data.AsSpan(_pos, (int)length).ToArray();
            _pos += (int)length;
        }
        TransferSyntax = Encoding.ASCII.GetString(Elements[0x00020010]).TrimEnd('\0', ' ');
        bool explicitVr = TransferSyntax != "1.2.840.10008.1.2";
        while (_pos + 8 <= _data.Length)
        {
            var (tag, length) = ReadHeader(explicitVr);
            if (tag == 0x7FE00010)
            {
                if (length == uint.MaxValue) ReadFragments();
                else Native = _data.AsSpan(_pos, (int)length).ToArray();
                return;
            }
            if (length == uint.MaxValue) SkipSequence(explicitVr);
            else
            {
                Elements[tag] = _data.AsSpan(_pos, (int)length).ToArray();
                _pos += (int)length;
            }
        }
    }

    private (uint Tag, uint Length) ReadHeader(bool explicitVr)
    {
        uint tag = ((uint)BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(_pos)) << 16) | BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(_pos + 2));
        _pos += 4;
        if ((tag >> 16) == 0xFFFE || !explicitVr)
        {
            uint l = BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(_pos));
            _pos += 4;
            return (tag, l);
        }
        string vr = Encoding.ASCII.GetString(_data, _pos, 2);
        _pos += 2;
        if (vr is "OB" or "OD" or "OF" or "OL" or "OV" or "OW" or "SQ" or "SV" or "UC" or "UN" or "UR" or "UT" or "UV")
        {
            uint l = BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(_pos + 2));
            _pos += 6;
            return (tag, l);
        }
        uint s = BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(_pos));
        _pos += 2;
        return (tag, s);
    }

    private void SkipSequence(bool explicitVr)
    {
        while (true)
        {
            var (tag, length) = ReadHeader(explicitVr);
            if (tag == 0xFFFEE0DD) return;
            if (tag != 0xFFFEE000) throw new InvalidDataException($"unexpected tag {tag:X8} in sequence");
            if (length != uint.MaxValue)
            {
                _pos += (int)length;
                continue;
            }
            while (true)
            {
                var (inner, innerLength) = ReadHeader(explicitVr);
                if (inner == 0xFFFEE00D) break;
                if (innerLength == uint.MaxValue) SkipSequence(explicitVr);
                else _pos += (int)innerLength;
            }
        }
    }

    private void ReadFragments()
    {
        Fragments = [];
        bool first = true;
        while (true)
        {
            var (tag, length) = ReadHeader(explicitVr: false);
            if (tag == 0xFFFEE0DD) return;
            if (tag != 0xFFFEE000) throw new InvalidDataException($"unexpected tag {tag:X8} in pixel data");
            if (!first) Fragments.Add(_data.AsSpan(_pos, (int)length).ToArray());
            first = false;
            _pos += (int)length;
        }
    }
}

/// <summary>Locations of the pydicom test corpus and DCMTK, and a runner for DCMTK command line tools.</summary>
internal static class TestData
{
    public const string PydicomDir = "/usr/lib/python3/dist-packages/pydicom/data/test_files";

    /// <summary>scripts/test.sh installs DCMTK and the corpus: a missing one fails the test, it never passes vacuously.</summary>
    private static T Missing<T>(string what) where T : class =>
        throw new InvalidOperationException($"{what} not available: run scripts/test.sh, which installs dcmtk and python3-pydicom");

    /// <summary>Path of a pydicom corpus file; throws when the corpus is not installed.</summary>
    public static string Pydicom(string name)
    {
        string path = Path.Combine(PydicomDir, name);
        return File.Exists(path) ? path : Missing<string>(path);
    }

    public static bool HasTool(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    /// <summary>Runs a DCMTK tool "tool [options] input output" and returns the output file path; throws when the tool is missing.</summary>
    public static string Dcmtk(string tool, string input, params string[] options)
    {
        if (!HasTool(tool) || !File.Exists(input)) return Missing<string>(tool);
        string output = Path.Combine(Path.GetTempPath(), $"qc-codec-{Guid.NewGuid():N}.dcm");
        var r = Corpus.Dcmtk.Run(tool, [.. options, input, output]);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', options)} {input} failed: {r.StdErr}");
        return output;
    }

    /// <summary>Converts native frame bytes from one planar configuration to the other.</summary>
    public static byte[] TogglePlanar(byte[] frame, FrameInfo info)
    {
        int pixels = (int)info.PixelCount, samples = info.SamplesPerPixel, bps = info.BytesPerSample;
        var result = new byte[frame.Length];
        for (int p = 0; p < pixels; p++)
            for (int c = 0; c < samples; c++)
            {
                int interleaved = ((p * samples) + c) * bps;
                int planar = ((c * pixels) + p) * bps;
                int from = info.PlanarConfiguration == 0 ? interleaved : planar;
                int to = info.PlanarConfiguration == 0 ? planar : interleaved;
                Array.Copy(frame, from, result, to, bps);
            }
        return result;
    }
}
