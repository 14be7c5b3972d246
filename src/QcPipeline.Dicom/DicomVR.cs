namespace QcPipeline.Dicom;

/// <summary>Value representations of PS3.5 §6.2. The numeric value is the two ASCII letters, big-endian,
/// so (ushort)vr is what explicit VR syntaxes carry on the wire.</summary>
public enum DicomVR : ushort
{
    None = 0,
    AE = ('A' << 8) | 'E', AS = ('A' << 8) | 'S', AT = ('A' << 8) | 'T',
    CS = ('C' << 8) | 'S',
    DA = ('D' << 8) | 'A', DS = ('D' << 8) | 'S', DT = ('D' << 8) | 'T',
    FD = ('F' << 8) | 'D', FL = ('F' << 8) | 'L',
    IS = ('I' << 8) | 'S',
    LO = ('L' << 8) | 'O', LT = ('L' << 8) | 'T',
    OB = ('O' << 8) | 'B', OD = ('O' << 8) | 'D', OF = ('O' << 8) | 'F', OL = ('O' << 8) | 'L', OV = ('O' << 8) | 'V', OW = ('O' << 8) | 'W',
    PN = ('P' << 8) | 'N',
    SH = ('S' << 8) | 'H', SL = ('S' << 8) | 'L', SQ = ('S' << 8) | 'Q', SS = ('S' << 8) | 'S', ST = ('S' << 8) | 'T', SV = ('S' << 8) | 'V',
    TM = ('T' << 8) | 'M',
    UC = ('U' << 8) | 'C', UI = ('U' << 8) | 'I', UL = ('U' << 8) | 'L', UN = ('U' << 8) | 'N', UR = ('U' << 8) | 'R', US = ('U' << 8) | 'S', UT = ('U' << 8) | 'T', UV = ('U' << 8) | 'V',
}

/// <summary>Per-VR rules from PS3.5 §6.2 and §7.1.2.</summary>
public static class DicomVRInfo
{
    public static bool TryParse(ReadOnlySpan<byte> two, out DicomVR vr)
    {
        vr = DicomVR.None;
        if (two.Length < 2) return false;
        var v = (DicomVR)((two[0] << 8) | two[1]);
        if (!IsKnown(v)) return false;
        vr = v;
        return true;
    }

    public static DicomVR Parse(string code) =>
        code.Length == 2 && TryParse([(byte)code[0], (byte)code[1]], out var vr) ? vr : throw new FormatException($"'{code}' is not a VR");

    public static bool IsKnown(DicomVR vr) => vr switch
    {
        DicomVR.AE or DicomVR.AS or DicomVR.AT or DicomVR.CS or DicomVR.DA or DicomVR.DS or DicomVR.DT or DicomVR.FD or DicomVR.FL
        or DicomVR.IS or DicomVR.LO or DicomVR.LT or DicomVR.OB or DicomVR.OD or DicomVR.OF or DicomVR.OL or DicomVR.OV or DicomVR.OW
        or DicomVR.PN or DicomVR.SH or DicomVR.SL or DicomVR.SQ or DicomVR.SS or DicomVR.ST or DicomVR.SV or DicomVR.TM
        or DicomVR.UC or DicomVR.UI or DicomVR.UL or DicomVR.UN or DicomVR.UR or DicomVR.US or DicomVR.UT or DicomVR.UV => true,
        _ => false,
    };

    public static string Code(this DicomVR vr) => vr == DicomVR.None ? "??" : string.Create(2, vr, static (s, v) => { s[0] = (char)((ushort)v >> 8); s[1] = (char)((ushort)v & 0xFF); });

    /// <summary>Explicit VR: these VRs have a 2-byte reserved field and a 32-bit length (PS3.5 §7.1.2, Table 7.1-1).</summary>
    public static bool HasLongLength(this DicomVR vr) => vr switch
    {
        DicomVR.OB or DicomVR.OD or DicomVR.OF or DicomVR.OL or DicomVR.OV or DicomVR.OW or DicomVR.SQ or DicomVR.SV
        or DicomVR.UC or DicomVR.UN or DicomVR.UR or DicomVR.UT or DicomVR.UV => true,
        _ => false,
    };

    /// <summary>Character-string VRs whose bytes go through the Specific Character Set (PS3.5 §6.1.2.3).</summary>
    public static bool IsAffectedBySpecificCharacterSet(this DicomVR vr) => vr is DicomVR.LO or DicomVR.LT or DicomVR.PN or DicomVR.SH or DicomVR.ST or DicomVR.UC or DicomVR.UT;

    /// <summary>VRs whose value is text (padded with space, or NUL for UI).</summary>
    public static bool IsString(this DicomVR vr) => vr is DicomVR.AE or DicomVR.AS or DicomVR.CS or DicomVR.DA or DicomVR.DS or DicomVR.DT
        or DicomVR.IS or DicomVR.LO or DicomVR.LT or DicomVR.PN or DicomVR.SH or DicomVR.ST or DicomVR.TM or DicomVR.UC or DicomVR.UI or DicomVR.UR or DicomVR.UT;

    /// <summary>String VRs that hold a single value: backslash is not a delimiter there (PS3.5 §6.4).</summary>
    public static bool IsSingleValued(this DicomVR vr) => vr is DicomVR.LT or DicomVR.ST or DicomVR.UT or DicomVR.UR;

    /// <summary>Padding for odd lengths: NUL for UI and binary, space for other strings (PS3.5 §6.2).</summary>
    public static byte PaddingByte(this DicomVR vr) => vr.IsString() && vr != DicomVR.UI ? (byte)' ' : (byte)0;

    /// <summary>Size of one binary value, used for byte swapping in big-endian syntaxes; 0 for byte or text data.</summary>
    public static int BinaryUnitSize(this DicomVR vr) => vr switch
    {
        DicomVR.US or DicomVR.SS or DicomVR.OW or DicomVR.AT => 2, // AT is a pair of 16-bit values (PS3.5 §6.2)
        DicomVR.UL or DicomVR.SL or DicomVR.FL or DicomVR.OF or DicomVR.OL => 4,
        DicomVR.FD or DicomVR.OD or DicomVR.SV or DicomVR.UV or DicomVR.OV => 8,
        _ => 0,
    };
}
