using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace QcPipeline.Dicom.Tests.Fuzz;

/// <summary>The seed corpus: pydicom's bundled test files (real files written by others, Debian python3-pydicom).</summary>
internal static class FuzzCorpus
{
    private static readonly Lazy<(string Name, byte[] Bytes)[]> Files = new(() =>
    {
        var list = new List<(string, byte[])>();
        var bugs = Path.Combine(AppContext.BaseDirectory, "Bugs", "files"); // regression inputs seed the fuzzer too
        foreach (var dir in new[] { TestFiles.PydicomTestFiles, TestFiles.PydicomCharsetFiles, bugs })
        {
            if (!Directory.Exists(dir)) continue;
            foreach (var f in Directory.GetFiles(dir, "*.dcm").Order(StringComparer.Ordinal))
                list.Add((Path.GetFileName(f), File.ReadAllBytes(f)));
        }
        return [.. list];
    });

    public static (string Name, byte[] Bytes)[] All => Files.Value;
}

/// <summary>Mutations of a valid file. Each takes the Random of its case so that the case id reproduces it.</summary>
internal static class Mutate
{
    private static readonly uint[] HugeLengths = [0xFFFFFFFE, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0x7FFFFFF8, 0x00FFFFFF];

    public static byte[] Truncate(byte[] src, Random r, out string what)
    {
        int n = r.Next(src.Length + 1);
        what = $"truncate@{n}";
        return src[..n];
    }

    public static byte[] FlipBytes(byte[] src, Random r, out string what)
    {
        var b = (byte[])src.Clone();
        int count = 1 + r.Next(8);
        var sb = new StringBuilder("flip");
        for (int i = 0; i < count && b.Length > 0; i++)
        {
            // Most of the interesting structure is in the header: bias positions towards the start.
            int pos = r.Next(2) == 0 ? r.Next(Math.Min(b.Length, 2048)) : r.Next(b.Length);
            byte v = r.Next(3) switch { 0 => (byte)(b[pos] ^ (1 << r.Next(8))), 1 => 0xFF, _ => (byte)r.Next(256) };
            b[pos] = v;
            sb.Append($"@{pos}={v:X2}");
        }
        what = sb.ToString();
        return b;
    }

    /// <summary>Offsets of plausible element length fields: after a tag whose next two bytes are a VR (explicit),
    /// or a 4-byte field after a tag of a common group (implicit).</summary>
    public static List<(int Pos, int Size)> LengthFields(byte[] b)
    {
        var result = new List<(int, int)>();
        for (int p = 0; p + 12 <= b.Length; p++)
        {
            ushort group = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(p));
            bool plausibleGroup = group is 0x0002 or 0x0008 or 0x0010 or 0x0018 or 0x0020 or 0x0028 or 0x0040 or 0x0054 or 0x3006 or 0x300A or 0x7FE0 or 0xFFFE
                || (group & 1) == 1 && group is > 0x0008 and < 0x7000;
            if (!plausibleGroup) continue;
            if (DicomVRInfo.TryParse(b.AsSpan(p + 4, 2), out var vr))
                result.Add(vr.HasLongLength() ? (p + 8, 4) : (p + 6, 2));
            else if (group is 0x0008 or 0x0010 or 0x0018 or 0x0020 or 0x0028 or 0x7FE0 or 0xFFFE)
                result.Add((p + 4, 4));
        }
        return result;
    }

    public static byte[] HugeLength(byte[] src, List<(int Pos, int Size)> fields, Random r, out string what)
    {
        var b = (byte[])src.Clone();
        if (fields.Count == 0) { what = "none"; return b; }
        var (pos, size) = fields[r.Next(fields.Count)];
        if (size == 4)
        {
            uint len = r.Next(3) == 0 ? (uint)r.NextInt64(0, 1L << 32) : HugeLengths[r.Next(HugeLengths.Length)];
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(pos), len);
            what = $"len32@{pos}={len:X8}";
        }
        else
        {
            ushort len = r.Next(2) == 0 ? (ushort)0xFFFF : (ushort)r.Next(65536);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(pos), len);
            what = $"len16@{pos}={len:X4}";
        }
        return b;
    }

    /// <summary>Undefined length (FFFFFFFF) on an element that may not have it; for a short-VR explicit element the
    /// VR is first changed to a long-length one (OB, UT, UN, OW, SQ) in place of its 2-byte length and reserved field.</summary>
    public static byte[] UndefinedLength(byte[] src, List<(int Pos, int Size)> fields, Random r, out string what)
    {
        var b = (byte[])src.Clone();
        if (fields.Count == 0) { what = "none"; return b; }
        var (pos, size) = fields[r.Next(fields.Count)];
        if (size == 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(pos), 0xFFFFFFFF);
            what = $"undef@{pos}";
        }
        else
        {
            // pos is the 2-byte length at header+6; the VR is at header+4. Rewrite as a long-VR header of 12 bytes.
            string[] longVrs = ["OB", "UT", "UN", "OW", "SQ", "OF", "UC"];
            var vr = longVrs[r.Next(longVrs.Length)];
            var list = new List<byte>(b);
            list.InsertRange(pos, new byte[4]); // the header grows from 8 to 12 bytes
            b = [.. list];
            b[pos - 2] = (byte)vr[0]; b[pos - 1] = (byte)vr[1];
            b[pos] = 0; b[pos + 1] = 0;
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(pos + 2), 0xFFFFFFFF);
            what = $"undef-as-{vr}@{pos}";
        }
        return b;
    }

    private static readonly uint[] Delimiters = [0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD];

    /// <summary>An item or delimiter tag inserted before (or written over) an element header.</summary>
    public static byte[] Delimiter(byte[] src, List<(int Pos, int Size)> fields, Random r, out string what)
    {
        if (fields.Count == 0) { what = "none"; return (byte[])src.Clone(); }
        var (lenPos, size) = fields[r.Next(fields.Count)];
        int header = size == 4 ? (src.Length > lenPos - 8 && lenPos >= 8 && DicomVRInfo.TryParse(src.AsSpan(lenPos - 4, 2), out _) ? lenPos - 8 : lenPos - 4) : lenPos - 6;
        uint tag = Delimiters[r.Next(Delimiters.Length)];
        uint len = r.Next(3) switch { 0 => 0, 1 => 0xFFFFFFFF, _ => (uint)r.Next(64) };
        var ins = new byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(ins, (ushort)(tag >> 16));
        BinaryPrimitives.WriteUInt16LittleEndian(ins.AsSpan(2), (ushort)tag);
        BinaryPrimitives.WriteUInt32LittleEndian(ins.AsSpan(4), len);
        if (r.Next(2) == 0)
        {
            var list = new List<byte>(src);
            list.InsertRange(header, ins);
            what = $"insert-{tag:X8}/{len:X}@{header}";
            return [.. list];
        }
        var b = (byte[])src.Clone();
        ins.AsSpan(0, Math.Min(8, b.Length - header)).CopyTo(b.AsSpan(header));
        what = $"overwrite-{tag:X8}/{len:X}@{header}";
        return b;
    }

    /// <summary>A random slice of another corpus file spliced in (structure from elsewhere in odd places).</summary>
    public static byte[] Splice(byte[] src, byte[] other, Random r, out string what)
    {
        int at = r.Next(src.Length + 1);
        int from = r.Next(other.Length + 1);
        int n = r.Next(Math.Min(512, other.Length - from) + 1);
        var b = new byte[src.Length + n];
        src.AsSpan(0, at).CopyTo(b);
        other.AsSpan(from, n).CopyTo(b.AsSpan(at));
        src.AsSpan(at).CopyTo(b.AsSpan(at + n));
        what = $"splice@{at}+{from}:{n}";
        return b;
    }
}

/// <summary>Writes small DICOM streams byte by byte (explicit or implicit VR LE), for inputs no writer would produce.</summary>
internal sealed class RawDicom
{
    private readonly System.Buffers.ArrayBufferWriter<byte> _out = new();

    public static RawDicom Part10(string transferSyntaxUid)
    {
        var r = new RawDicom();
        r.Bytes(new byte[128]).Bytes("DICM"u8);
        var uid = Encoding.ASCII.GetBytes(transferSyntaxUid);
        if ((uid.Length & 1) == 1) uid = [.. uid, 0];
        r.Explicit(0x00020010, "UI", uid);
        return r;
    }

    public RawDicom Bytes(ReadOnlySpan<byte> b) { System.Buffers.BuffersExtensions.Write(_out, b); return this; }
    public RawDicom U16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); return Bytes(b); }
    public RawDicom U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return Bytes(b); }
    public RawDicom Tag(uint tag) => U16((ushort)(tag >> 16)).U16((ushort)tag);

    public RawDicom Explicit(uint tag, string vr, ReadOnlySpan<byte> value, uint? length = null)
    {
        Tag(tag).Bytes([(byte)vr[0], (byte)vr[1]]);
        var v = DicomVRInfo.Parse(vr);
        if (v.HasLongLength()) U16(0).U32(length ?? (uint)value.Length);
        else U16((ushort)(length ?? (uint)value.Length));
        return Bytes(value);
    }

    public RawDicom Explicit(uint tag, string vr, string value)
    {
        var b = Encoding.ASCII.GetBytes(value);
        if ((b.Length & 1) == 1) b = [.. b, (byte)' '];
        return Explicit(tag, vr, b);
    }

    public RawDicom Implicit(uint tag, uint length, ReadOnlySpan<byte> value = default) => Tag(tag).U32(length).Bytes(value);

    /// <summary>Explicit VR SQ of undefined length and an item of undefined length.</summary>
    public RawDicom OpenSequence(uint tag) => Tag(tag).Bytes("SQ"u8).U16(0).U32(0xFFFFFFFF).Tag(0xFFFEE000).U32(0xFFFFFFFF);
    public RawDicom CloseSequence() => Tag(0xFFFEE00D).U32(0).Tag(0xFFFEE0DD).U32(0);

    public byte[] ToArray() => _out.WrittenSpan.ToArray();

    /// <summary>Raw deflate (RFC 1951) of <paramref name="data"/>, as the deflated transfer syntax stores it.</summary>
    public static byte[] Deflate(ReadOnlySpan<byte> data)
    {
        using var ms = new MemoryStream();
        using (var d = new DeflateStream(ms, CompressionLevel.SmallestSize, leaveOpen: true)) d.Write(data);
        return ms.ToArray();
    }
}
