using System.Collections.Frozen;

namespace QcPipeline.Dicom.IO;

/// <summary>A transfer syntax and the encoding rules it implies (PS3.5 §10 and Annex A).</summary>
public sealed class TransferSyntax : IEquatable<TransferSyntax>
{
    private TransferSyntax(string uid, string name, bool explicitVR, bool littleEndian, bool deflated, bool encapsulated, bool lossy, bool known = true)
    {
        Uid = uid; Name = name; IsExplicitVR = explicitVR; IsLittleEndian = littleEndian; IsDeflated = deflated;
        IsEncapsulated = encapsulated; IsLossy = lossy; IsKnown = known;
    }

    public string Uid { get; }
    public string Name { get; }
    public bool IsExplicitVR { get; }
    public bool IsLittleEndian { get; }
    public bool IsDeflated { get; }
    /// <summary>Pixel data is encapsulated in fragments (PS3.5 §A.4).</summary>
    public bool IsEncapsulated { get; }
    public bool IsLossy { get; }
    /// <summary>False for a UID we have no table entry for; it is read as explicit VR LE, encapsulated (PS3.5 §A.4).</summary>
    public bool IsKnown { get; }

    public static readonly TransferSyntax ImplicitVRLittleEndian = new("1.2.840.10008.1.2", "Implicit VR Little Endian", false, true, false, false, false);
    public static readonly TransferSyntax ExplicitVRLittleEndian = new("1.2.840.10008.1.2.1", "Explicit VR Little Endian", true, true, false, false, false);
    public static readonly TransferSyntax EncapsulatedUncompressedExplicitVRLittleEndian = new("1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", true, true, false, true, false);
    public static readonly TransferSyntax DeflatedExplicitVRLittleEndian = new("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", true, true, true, false, false);
    public static readonly TransferSyntax ExplicitVRBigEndian = new("1.2.840.10008.1.2.2", "Explicit VR Big Endian (retired)", true, false, false, false, false);
    public static readonly TransferSyntax JpegBaseline = new("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", true, true, false, true, true);
    public static readonly TransferSyntax JpegExtended = new("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", true, true, false, true, true);
    public static readonly TransferSyntax JpegLossless = new("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", true, true, false, true, false);
    public static readonly TransferSyntax JpegLosslessSV1 = new("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])", true, true, false, true, false);
    public static readonly TransferSyntax JpegLSLossless = new("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", true, true, false, true, false);
    public static readonly TransferSyntax JpegLSNearLossless = new("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)", true, true, false, true, true);
    public static readonly TransferSyntax Jpeg2000Lossless = new("1.2.840.10008.1.2.4.90", "JPEG 2000 (Lossless Only)", true, true, false, true, false);
    public static readonly TransferSyntax Jpeg2000 = new("1.2.840.10008.1.2.4.91", "JPEG 2000", true, true, false, true, true);
    public static readonly TransferSyntax HTJ2KLossless = new("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 (Lossless Only)", true, true, false, true, false);
    public static readonly TransferSyntax HTJ2KLosslessRpcl = new("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)", true, true, false, true, false);
    public static readonly TransferSyntax HTJ2K = new("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000", true, true, false, true, true);
    public static readonly TransferSyntax RleLossless = new("1.2.840.10008.1.2.5", "RLE Lossless", true, true, false, true, false);

    private static readonly FrozenDictionary<string, TransferSyntax> Known = new[]
    {
        ImplicitVRLittleEndian, ExplicitVRLittleEndian, EncapsulatedUncompressedExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian,
        ExplicitVRBigEndian, JpegBaseline, JpegExtended, JpegLossless, JpegLosslessSV1, JpegLSLossless, JpegLSNearLossless,
        Jpeg2000Lossless, Jpeg2000, HTJ2KLossless, HTJ2KLosslessRpcl, HTJ2K, RleLossless,
        new("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level", true, true, false, true, true),
        new("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level", true, true, false, true, true),
        new("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", true, true, false, true, true),
        new("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", true, true, false, true, true),
        new("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", true, true, false, true, true),
        new("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", true, true, false, true, true),
        new("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", true, true, false, true, true),
        new("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1", true, true, false, true, true),
        new("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1", true, true, false, true, true),
    }.ToFrozenDictionary(t => t.Uid, StringComparer.Ordinal);

    public static IEnumerable<TransferSyntax> All => Known.Values;

    /// <summary>Known syntax for the UID, or an explicit-VR-LE encapsulated placeholder for an unknown one
    /// (PS3.5 §10: every syntax after the first three is explicit VR little endian).</summary>
    public static TransferSyntax Lookup(string uid)
    {
        uid = uid.TrimEnd('\0', ' ');
        return Known.TryGetValue(uid, out var ts) ? ts : new TransferSyntax(uid, $"Unknown ({uid})", true, true, false, true, false, known: false);
    }

    public static bool TryLookupKnown(string uid, out TransferSyntax? ts) => Known.TryGetValue(uid.TrimEnd('\0', ' '), out ts);

    public bool Equals(TransferSyntax? other) => other is not null && Uid == other.Uid;
    public override bool Equals(object? obj) => Equals(obj as TransferSyntax);
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Uid);
    public static bool operator ==(TransferSyntax? a, TransferSyntax? b) => a is null ? b is null : a.Equals(b);
    public static bool operator !=(TransferSyntax? a, TransferSyntax? b) => !(a == b);
    public override string ToString() => Name;
}
