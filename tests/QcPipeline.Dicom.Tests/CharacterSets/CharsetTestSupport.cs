using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace QcPipeline.Dicom.Tests.CharacterSets;

/// <summary>Byte helpers for writing the PS3.5 examples readably: "ESC" marks 0x1B, \xHH a byte.</summary>
internal static class B
{
    public static readonly byte[] Esc = [0x1B];

    public static byte[] A(string ascii) => Encoding.ASCII.GetBytes(ascii);

    public static byte[] Cat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>ESC followed by the intermediate and final characters, e.g. Es("$B").</summary>
    public static byte[] Es(string rest) => Cat(Esc, A(rest));

    public static byte[] H(params int[] bytes) => [.. bytes.Select(b => (byte)b)];
}

/// <summary>DCMTK as a reference peer: dump2dcm builds files from byte-exact dump text, dcmdump +U8 decodes them.</summary>
internal static class Dcmtk
{
    /// <summary>Runs a DCMTK tool (with the corpus runner's timeout); throws when it fails.</summary>
    public static string Run(string tool, params string[] args)
    {
        var r = Corpus.Dcmtk.Run(tool, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({r.ExitCode}): {r.StdErr}");
        return r.StdOut;
    }

    /// <summary>Writes a dump file whose bracketed values are the given raw bytes and converts it with dump2dcm
    /// (explicit VR little endian file).</summary>
    public static string MakeFile(string dir, string name, byte[] specificCharacterSet, byte[] patientName)
    {
        var dump = Path.Combine(dir, name + ".dump");
        var dcm = Path.Combine(dir, name + ".dcm");
        File.WriteAllBytes(dump, B.Cat(B.A("(0008,0005) CS ["), specificCharacterSet, B.A("]\n(0010,0010) PN ["), patientName, B.A("]\n")));
        Run("dump2dcm", "-q", "+te", dump, dcm);
        return dcm;
    }

    /// <summary>What DCMTK decodes the element to, converted to UTF-8 (dcmdump +U8); null if DCMTK cannot convert.</summary>
    public static string? Utf8Value(string file, string tag)
    {
        string output;
        try { output = Run("dcmdump", "-q", "+U8", "+P", tag, file); }
        catch (InvalidOperationException) { return null; }
        var m = Regex.Match(output, @"^\(" + Regex.Escape(tag) + @"\) \w\w \[(.*)\]\s+#", RegexOptions.Multiline);
        return m.Success ? m.Groups[1].Value : null;
    }
}

/// <summary>Minimal top-level walker for explicit VR little endian Part 10 files: enough to pull raw value bytes
/// out of test files while the real reader is written elsewhere.</summary>
internal static class RawElements
{
    public static byte[]? Find(byte[] file, ushort group, ushort element)
    {
        if (file.Length < 132 || Encoding.ASCII.GetString(file, 128, 4) != "DICM") throw new InvalidDataException("not a Part 10 file");
        int pos = 132;
        while (pos + 8 <= file.Length)
        {
            ushort g = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(pos));
            ushort e = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(pos + 2));
            if (!DicomVRInfo.TryParse(file.AsSpan(pos + 4, 2), out var vr)) throw new InvalidDataException($"bad VR at {pos}");
            uint len;
            int header;
            if (vr.HasLongLength()) { len = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 8)); header = 12; }
            else { len = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(pos + 6)); header = 8; }
            if (g == group && e == element) return file.AsSpan(pos + header, (int)len).ToArray();
            pos = len == uint.MaxValue ? SkipUndefined(file, pos + header) : pos + header + (int)len;
        }
        return null;
    }

    public static string[] Terms(byte[] file) =>
        Find(file, 0x0008, 0x0005) is { } raw ? Encoding.ASCII.GetString(raw).Split('\\') : [];

    /// <summary>Skips the items of an undefined-length explicit VR sequence, returning the position after its delimiter.</summary>
    private static int SkipUndefined(byte[] f, int pos)
    {
        while (true)
        {
            uint tag = (uint)(BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(pos)) << 16) | BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(pos + 2));
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(pos + 4));
            pos += 8;
            if (tag == 0xFFFEE0DD) return pos;
            if (len != uint.MaxValue) { pos += (int)len; continue; }
            // undefined-length item: walk its elements up to the item delimiter
            while (true)
            {
                uint t = (uint)(BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(pos)) << 16) | BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(pos + 2));
                if (t == 0xFFFEE00D) { pos += 8; break; }
                if (!DicomVRInfo.TryParse(f.AsSpan(pos + 4, 2), out var vr)) throw new InvalidDataException($"bad VR at {pos}");
                uint l;
                int h;
                if (vr.HasLongLength()) { l = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(pos + 8)); h = 12; }
                else { l = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(pos + 6)); h = 8; }
                pos = l == uint.MaxValue ? SkipUndefined(f, pos + h) : pos + h + (int)l;
            }
        }
    }
}

/// <summary>A temporary folder removed after the test class.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("qc-charset-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
