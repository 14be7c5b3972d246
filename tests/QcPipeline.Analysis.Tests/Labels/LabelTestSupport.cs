using System.Diagnostics;
using System.Text;
using QcPipeline.Analysis.Labels;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Analysis.Tests.Labels;

/// <summary>Byte helpers: ASCII text, raw bytes, and the Chinese encodings the label tests need.</summary>
internal static class B
{
    static B() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    public static byte[] A(string ascii) => Encoding.ASCII.GetBytes(ascii);
    public static byte[] Cat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
    public static byte[] Gb18030(string s) => Encoding.GetEncoding(54936).GetBytes(s);
    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
    public static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>ISO 2022 IR 58: ESC $ ) A designates GB 2312 to G1; the GB 2312 bytes (high bit set) follow
    /// (PS3.5 Annex K.1), again after each delimiter that resets the designations. ASCII stays in G0.</summary>
    public static byte[] Iso2022Ir58(string s)
    {
        var outBytes = new List<byte>();
        bool designated = false;
        foreach (char c in s)
        {
            if (c < 0x80)
            {
                outBytes.Add((byte)c);
                if (c is '^' or '=' or '\\' or '\r' or '\n' or '\t' or '\f') designated = false; // PS3.5 §6.1.2.5.3: back to the initial sets
                continue;
            }
            if (!designated) { outBytes.AddRange([0x1B, (byte)'$', (byte)')', (byte)'A']); designated = true; }
            outBytes.AddRange(Gb18030(c.ToString()));
        }
        return [.. outBytes];
    }
}

/// <summary>DCMTK as the file writer: dump2dcm builds files from byte-exact dump text.</summary>
internal static class Dcmtk
{
    public static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }
}

/// <summary>A temporary folder removed after the test class.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("qc-labels-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>A CT image header with every required label set, as dump lines whose values are raw bytes. Tests override
/// or remove single elements, write the file with dump2dcm and read it back header-only.</summary>
internal sealed class CtDump
{
    private readonly SortedDictionary<string, (string Vr, byte[] Value)> _elements = new(StringComparer.Ordinal);

    public CtDump(int instance = 1)
    {
        Set("0008,0005", "CS", "ISO_IR 192");
        Set("0008,0016", "UI", "1.2.840.10008.5.1.4.1.1.2");
        Set("0008,0018", "UI", $"1.2.826.0.1.3680043.2.1125.77.1.{instance}");
        Set("0008,0020", "DA", "20240102");
        Set("0008,0030", "TM", "101010");
        Set("0008,0060", "CS", "CT");
        Set("0008,0070", "LO", "ACME");
        Set("0008,0080", "LO", B.Utf8("首都医科大学附属北京友谊医院 JJJHR"));
        Set("0008,1010", "SH", "CT01");
        Set("0008,1090", "LO", "Model X");
        Set("0010,0010", "PN", B.Utf8("Zhang^San=张^三"));
        Set("0010,0020", "LO", "P0001");
        Set("0010,0030", "DA", "19800101");
        Set("0010,0040", "CS", "M");
        Set("0010,1010", "AS", "044Y");
        Set("0018,0015", "CS", "CHEST");
        Set("0018,0050", "DS", "5");
        Set("0018,0060", "DS", "120");
        Set("0018,1151", "IS", "200");
        Set("0018,1210", "SH", "STANDARD");
        Set("0018,5100", "CS", "HFS");
        Set("0020,000d", "UI", "1.2.826.0.1.3680043.2.1125.77.2");
        Set("0020,000e", "UI", "1.2.826.0.1.3680043.2.1125.77.3");
        Set("0020,0011", "IS", "2");
        Set("0020,0013", "IS", instance.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Set("0020,0032", "DS", $"0\\0\\{instance * 5}");
        Set("0020,0037", "DS", "1\\0\\0\\0\\1\\0");
        Set("0028,0010", "US", "512");
        Set("0028,0011", "US", "512");
    }

    public CtDump Set(string tag, string vr, string ascii) => Set(tag, vr, B.A(ascii));

    public CtDump Set(string tag, string vr, byte[] value)
    {
        _elements[tag.ToLowerInvariant()] = (vr, value);
        return this;
    }

    public CtDump Remove(string tag)
    {
        _elements.Remove(tag.ToLowerInvariant());
        return this;
    }

    /// <summary>Writes NAME.dump and converts it to NAME.dcm (explicit VR little endian).</summary>
    public string Write(string dir, string name)
    {
        var dump = Path.Combine(dir, name + ".dump");
        var dcm = Path.Combine(dir, name + ".dcm");
        using (var f = File.Create(dump))
        {
            foreach (var (tag, (vr, value)) in _elements)
            {
                // Binary VRs take the number unbracketed; text VRs the raw bytes in brackets.
                f.Write(vr is "US" or "SS" or "UL" ? B.Cat(B.A($"({tag}) {vr} "), value, B.A("\n")) : B.Cat(B.A($"({tag}) {vr} ["), value, B.A("]\n")));
            }
        }
        Dcmtk.Run("dump2dcm", "-q", "+te", dump, dcm);
        return dcm;
    }

    public InstanceHeader Header(string dir, string name) => LabelTestFiles.Read(Write(dir, name));
}

internal static class LabelTestFiles
{
    public const string Pydicom = "/usr/lib/python3/dist-packages/pydicom/data";

    public static InstanceHeader Read(string path)
    {
        using var f = DicomFile.Open(path, DicomReadOptions.HeaderOnly);
        return new InstanceHeader(f.Dataset, f.TransferSyntax, System.IO.Path.GetFileName(path));
    }

    public static SeriesCheckResult Check(HrRegistry? registry, params InstanceHeader[] instances) =>
        SeriesQc.Check(new SeriesHeaders(instances), new SeriesQcOptions(registry));

    public static IEnumerable<string> Rules(this SeriesCheckResult r) => r.Findings.Select(f => f.RuleId);

    public static HrRegistry SampleRegistry => HrRegistry.Load(Path.Combine(RepoRoot, "deploy", "hr-registry.sample.yaml"));

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "QcPipeline.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }
}
