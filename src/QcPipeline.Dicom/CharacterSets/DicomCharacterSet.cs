using System.Buffers;
using System.Text;

namespace QcPipeline.Dicom.CharacterSets;

/// <summary>
/// The character repertoire(s) declared by Specific Character Set (0008,0005), PS3.3 C.12.1.1.2 and PS3.5 §6.1.
/// Immutable and thread-safe; all members are pure functions over the bytes given.
/// </summary>
/// <remarks>
/// Decoding always runs over the whole element value first and splits on '\' afterwards, because in GBK/GB18030
/// 0x5C can be a trail byte. For ISO 2022 sets (code extensions) this class runs its own escape-sequence state
/// machine: G0/G1 designations, GL/GR invocation, and the reset to value 1's sets at the start of a value, after
/// '\' (multi-valued VRs), after '^' and '=' (PN) and after CR, LF, FF and TAB (PS3.5 §6.1.2.5.3).
/// </remarks>
public sealed class DicomCharacterSet
{
    private const int StackChars = 256;

    private readonly TermKind _kind;
    private readonly GraphicSet _initialG0;
    private readonly GraphicSet? _initialG1;
    private readonly GraphicSet[] _declared;      // ISO 2022: sets usable by designation, in term order (G1 before G0)

    private DicomCharacterSet(string[] terms, TermKind kind, GraphicSet g0, GraphicSet? g1, GraphicSet[] declared, Encoding? fallback)
    {
        Terms = terms;
        _kind = kind;
        _initialG0 = g0;
        _initialG1 = g1;
        _declared = declared;
        Fallback = fallback;
    }

    /// <summary>The default repertoire (ISO_IR 6; also what an absent or empty (0008,0005) means).</summary>
    public static DicomCharacterSet Default { get; } = new([], TermKind.Default, GraphicSet.Ascii, null, [GraphicSet.Ascii], null);

    /// <summary>The defined terms as parsed (trimmed, upper case); empty for <see cref="Default"/>.</summary>
    public IReadOnlyList<string> Terms { get; }

    /// <summary>True when the set uses ISO 2022 code extensions (terms "ISO 2022 IR n").</summary>
    public bool IsIso2022 => _kind == TermKind.Iso2022;

    /// <summary>Per-device encoding for mislabelled data, used only when the set is the default repertoire and a
    /// value holds non-ASCII bytes.</summary>
    public Encoding? Fallback { get; }

    /// <summary>Builds the set from the values of (0008,0005).</summary>
    /// <param name="definedTerms">The values; padding and case are ignored. Empty list or a single empty value = default.</param>
    /// <param name="fallback">Encoding for non-ASCII bytes when the set is the default repertoire (mislabelled data).</param>
    /// <exception cref="DicomCharacterSetException">Unknown term, or a term that cannot be combined with others.</exception>
    public static DicomCharacterSet Parse(IReadOnlyList<string> definedTerms, Encoding? fallback = null) =>
        TryCreate(definedTerms, fallback, out var set, out var error, out var term) ? set! : throw new DicomCharacterSetException(error!, term);

    /// <summary>Like <see cref="Parse"/> without throwing; <paramref name="error"/> names the offending term.</summary>
    public static bool TryParse(IReadOnlyList<string> terms, out DicomCharacterSet? set, out string? error, Encoding? fallback = null) =>
        TryCreate(terms, fallback, out set, out error, out _);

    private static bool TryCreate(IReadOnlyList<string> terms, Encoding? fallback, out DicomCharacterSet? set, out string? error, out string? badTerm)
    {
        set = null;
        error = null;
        badTerm = null;
        var norm = new string[terms.Count];
        for (int i = 0; i < norm.Length; i++) norm[i] = DicomCharacterSets.Normalize(terms[i] ?? "");

        if (norm.Length == 0 || (norm.Length == 1 && norm[0].Length == 0))
        {
            set = fallback is null ? Default : new([], TermKind.Default, GraphicSet.Ascii, null, [GraphicSet.Ascii], fallback);
            return true;
        }

        var defs = new List<TermDefinition>(norm.Length);
        for (int i = 0; i < norm.Length; i++)
        {
            string n = norm[i];
            if (n.Length == 0)
            {
                // Value 1 empty means ISO 2022 IR 6 (PS3.3 C.12.1.1.2); empty later values carry nothing.
                if (i == 0) defs.Add(DicomCharacterSets.Find("ISO 2022 IR 6")!);
                continue;
            }
            var def = DicomCharacterSets.Find(n);
            if (def is null)
            {
                badTerm = terms[i];
                error = $"Unknown Specific Character Set (0008,0005) term '{terms[i]}'";
                return false;
            }
            defs.Add(def);
        }

        if (norm.Length == 1)
        {
            var d = defs[0];
            if (d.Kind == TermKind.Default)
            {
                set = new([d.Term], TermKind.Default, GraphicSet.Ascii, null, [GraphicSet.Ascii], fallback);
                return true;
            }
            set = d.Kind == TermKind.Iso2022
                ? new([d.Term], TermKind.Iso2022, InitialG0(d), d.G1, Declared(defs), null)
                : new([d.Term], d.Kind, d.G0 ?? GraphicSet.Ascii, d.G1, [], null);
            return true;
        }

        // Several values: code extensions. The non-extension spellings of single-byte sets are accepted as their
        // ISO 2022 equivalents (common in the field); UTF-8/GB18030/GBK cannot take part in ISO 2022.
        for (int i = 0; i < defs.Count; i++)
        {
            var d = defs[i];
            if (d.IsWholeEncoding)
            {
                badTerm = d.Term;
                error = $"Specific Character Set (0008,0005) term '{d.Term}' does not allow code extensions and cannot be combined with other terms";
                return false;
            }
            if (d.Kind != TermKind.Iso2022)
                defs[i] = DicomCharacterSets.Find(d.Kind == TermKind.Default ? "ISO 2022 IR 6" : d.Term.Replace("ISO_IR ", "ISO 2022 IR ", StringComparison.Ordinal))!;
        }
        set = new([.. norm], TermKind.Iso2022, InitialG0(defs[0]), defs[0].G1, Declared(defs), null);
        return true;
    }

    /// <summary>Value 1 gives the initial G0; a double-byte set there (not meaningful for DICOM) leaves ASCII.</summary>
    private static GraphicSet InitialG0(TermDefinition first) => first.G0 is { IsDoubleByte: false } g0 ? g0 : GraphicSet.Ascii;

    private static GraphicSet[] Declared(List<TermDefinition> defs)
    {
        var list = new List<GraphicSet> { GraphicSet.Ascii };
        foreach (var d in defs)
        {
            if (d.G1 is not null && !list.Contains(d.G1)) list.Add(d.G1);
            if (d.G0 is not null && !list.Contains(d.G0)) list.Add(d.G0);
        }
        return [.. list];
    }

    public override string ToString() => Terms.Count == 0 ? "ISO_IR 6 (default)" : string.Join('\\', Terms);

    // ------------------------------------------------------------------ decoding

    /// <summary>Decodes one element value (trailing space/NUL padding is removed first). Lenient: bytes that do not
    /// decode become U+FFFD. Pure ASCII values cost a single string allocation.</summary>
    public string Decode(ReadOnlySpan<byte> value, DicomVR vr)
    {
        var v = TrimPadding(value);
        if (v.IsEmpty) return string.Empty;
        if (IsAsciiFast(v)) return Encoding.ASCII.GetString(v);
        string? problem = null;
        return DecodeCore(v, vr, strict: false, ref problem);
    }

    /// <summary>Strict decoding: false when the bytes are not valid in this set (invalid or incomplete sequence,
    /// undefined position, unknown or undeclared escape sequence, C1 control byte, non-ASCII in the default
    /// repertoire). <paramref name="text"/> always receives the lenient decoding; <paramref name="problem"/> describes
    /// the first problem with its byte offset in the value.</summary>
    public bool TryDecode(ReadOnlySpan<byte> value, DicomVR vr, out string text, out string? problem)
    {
        problem = null;
        var v = TrimPadding(value);
        if (v.IsEmpty)
        {
            text = string.Empty;
            return true;
        }
        if (Ascii.IsValid(v) && v.IndexOf((byte)0x1B) < 0)
        {
            text = Encoding.ASCII.GetString(v);
            return true;
        }
        text = DecodeCore(v, vr, strict: true, ref problem);
        return problem is null;
    }

    /// <summary>Decodes and splits into values on '\' (not for LT, ST, UT, UR, which are single-valued), with each
    /// value's trailing spaces/NULs removed. An empty element gives no values.</summary>
    public string[] DecodeValues(ReadOnlySpan<byte> value, DicomVR vr)
    {
        var v = TrimPadding(value);
        if (v.IsEmpty) return [];
        if (vr.IsSingleValued()) return [Decode(v, vr)];
        if (IsAsciiFast(v))
        {
            var result = new string[v.Count((byte)'\\') + 1];
            int k = 0;
            foreach (var r in v.Split((byte)'\\'))
                result[k++] = Encoding.ASCII.GetString(TrimPadding(v[r]));
            return result;
        }
        string? problem = null;
        var s = DecodeCore(v, vr, strict: false, ref problem);
        var parts = s.Split('\\');
        for (int i = 0; i < parts.Length; i++) parts[i] = parts[i].TrimEnd(' ', '\0');
        return parts;
    }

    private bool IsAsciiFast(ReadOnlySpan<byte> v) =>
        Ascii.IsValid(v) && (_kind != TermKind.Iso2022 || v.IndexOf((byte)0x1B) < 0);

    private static ReadOnlySpan<byte> TrimPadding(ReadOnlySpan<byte> v)
    {
        int n = v.Length;
        while (n > 0 && (v[n - 1] == (byte)' ' || v[n - 1] == 0)) n--;
        return v[..n];
    }

    private string DecodeCore(ReadOnlySpan<byte> v, DicomVR vr, bool strict, ref string? problem)
    {
        switch (_kind)
        {
            case TermKind.Utf8:
                return DecodeWhole(v, DicomCharacterSets.Utf8, "UTF-8", strict, ref problem);
            case TermKind.Gb18030:
                return DecodeWhole(v, DicomCharacterSets.Gb18030, "GB18030", strict, ref problem);
            case TermKind.Gbk:
                return DecodeWhole(v, DicomCharacterSets.Gbk, "GBK", strict, ref problem);
            case TermKind.Default when Fallback is not null:
                if (strict)
                {
                    int at = v.IndexOfAnyInRange((byte)0x80, (byte)0xFF);
                    if (at >= 0)
                        problem = $"non-ASCII byte 0x{v[at]:X2} at offset {at} in the default repertoire (ISO_IR 6); decoded with fallback encoding {Fallback.WebName}";
                    else
                        CheckNoEscape(v, ref problem);
                }
                return Fallback.GetString(v);
        }

        char[]? rented = v.Length > StackChars ? ArrayPool<char>.Shared.Rent(v.Length) : null;
        Span<char> buf = rented ?? stackalloc char[StackChars];
        try
        {
            int n = _kind == TermKind.Iso2022 ? DecodeIso2022(v, vr, buf, strict, ref problem) : DecodeSingleByte(v, buf, strict, ref problem);
            return new string(buf[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    private string SetName => Terms.Count == 0 ? "ISO_IR 6" : string.Join('\\', Terms);

    private void CheckNoEscape(ReadOnlySpan<byte> v, ref string? problem)
    {
        int esc = v.IndexOf((byte)0x1B);
        if (esc >= 0 && problem is null)
            problem = $"escape sequence at offset {esc}, but {SetName} does not use ISO 2022 code extensions";
    }

    /// <summary>Default repertoire and single-byte sets without code extensions: ASCII (or JIS X 0201 Romaji) in GL,
    /// the set's table in GR.</summary>
    private int DecodeSingleByte(ReadOnlySpan<byte> v, Span<char> buf, bool strict, ref string? problem)
    {
        var g1 = _initialG1;
        for (int i = 0; i < v.Length; i++)
        {
            byte b = v[i];
            if (b < 0x80)
            {
                buf[i] = (char)b;
                continue;
            }
            char c = g1 is null ? GraphicSet.Undefined : g1.MapHigh(b);
            if (c == GraphicSet.Undefined)
            {
                buf[i] = '\uFFFD';
                if (strict && problem is null)
                    problem = g1 is null
                        ? $"byte 0x{b:X2} at offset {i} is outside the default repertoire (ISO_IR 6)"
                        : $"byte 0x{b:X2} at offset {i} is not defined in {SetName} ({g1.Name})";
                continue;
            }
            buf[i] = c;
            if (strict && problem is null && b < 0xA0)
                problem = $"C1 control byte 0x{b:X2} at offset {i} is not allowed in {SetName}";
        }
        if (strict) CheckNoEscape(v, ref problem);
        return v.Length;
    }

    private string DecodeWhole(ReadOnlySpan<byte> v, Encoding e, string name, bool strict, ref string? problem)
    {
        var s = e.GetString(v);
        if (strict)
        {
            if (s.Contains('\uFFFD', StringComparison.Ordinal))
            {
                int at = _kind == TermKind.Utf8 ? FindInvalidUtf8(v) : FindInvalidGb(v, e, _kind == TermKind.Gb18030);
                if (at >= 0) problem = $"invalid {name} byte sequence at offset {at}";
            }
            CheckNoEscape(v, ref problem);
        }
        return s;
    }

    private static int FindInvalidUtf8(ReadOnlySpan<byte> v)
    {
        for (int i = 0; i < v.Length;)
        {
            if (System.Text.Rune.DecodeFromUtf8(v[i..], out _, out int used) != OperationStatus.Done) return i;
            i += used;
        }
        return -1;
    }

    /// <summary>Walks GB18030/GBK code units (1, 2 or 4 bytes) and returns the offset of the first one that does not decode.</summary>
    private static int FindInvalidGb(ReadOnlySpan<byte> v, Encoding e, bool fourByte)
    {
        Span<char> c = stackalloc char[4];
        ReadOnlySpan<byte> encodedReplacement = [0x84, 0x31, 0xA4, 0x37]; // U+FFFD itself in GB18030
        for (int i = 0; i < v.Length;)
        {
            byte b = v[i];
            if (b < 0x80) { i++; continue; }
            int len = 1;
            if (i + 1 < v.Length)
            {
                byte t = v[i + 1];
                if (fourByte && t >= 0x30 && t <= 0x39)
                {
                    if (i + 3 >= v.Length || v[i + 2] < 0x81 || v[i + 2] > 0xFE || v[i + 3] < 0x30 || v[i + 3] > 0x39) return i;
                    len = 4;
                }
                else if (b is >= 0x81 and <= 0xFE && t >= 0x40 && t <= 0xFE && t != 0x7F)
                {
                    len = 2;
                }
            }
            var unit = v.Slice(i, len);
            int n = e.GetChars(unit, c);
            if (c[..n].Contains('\uFFFD') && !unit.SequenceEqual(encodedReplacement)) return i;
            i += len;
        }
        return -1;
    }

    private bool IsDeclared(GraphicSet g) => Array.IndexOf(_declared, g) >= 0 || (g == GraphicSet.JisRomaji && Array.IndexOf(_declared, GraphicSet.JisKatakana) >= 0);

    private static GraphicSet? MatchEscape(ReadOnlySpan<byte> v, out int length)
    {
        foreach (var g in GraphicSet.All)
        {
            if (v.StartsWith(g.Escape))
            {
                length = g.Escape.Length;
                return g;
            }
        }
        length = 0;
        return null;
    }

    /// <summary>The ISO 2022 state machine (PS3.5 §6.1.2.5).</summary>
    private int DecodeIso2022(ReadOnlySpan<byte> v, DicomVR vr, Span<char> buf, bool strict, ref string? problem)
    {
        bool pn = vr == DicomVR.PN;
        bool multiValued = !vr.IsSingleValued();
        var g0 = _initialG0;
        var g1 = _initialG1;
        int o = 0;
        int i = 0;
        while (i < v.Length)
        {
            byte b = v[i];
            if (b == 0x1B)
            {
                var g = MatchEscape(v[i..], out int len);
                if (g is null)
                {
                    // Skip ESC, intermediates (02/00-02/15) and the final byte (03/00-07/14).
                    int j = i + 1;
                    while (j < v.Length && v[j] >= 0x20 && v[j] <= 0x2F) j++;
                    if (j < v.Length && v[j] >= 0x30 && v[j] <= 0x7E) j++;
                    if (strict && problem is null)
                        problem = $"unknown escape sequence {Convert.ToHexString(v[i..j])} at offset {i}";
                    buf[o++] = '\uFFFD';
                    i = j;
                    continue;
                }
                if (strict && problem is null && g != GraphicSet.Ascii && !IsDeclared(g))
                    problem = $"escape sequence for {g.IsoIr} ({g.Name}) at offset {i}, but {SetName} does not declare it";
                if (g.IsG0) g0 = g;
                else g1 = g;
                i += len;
                continue;
            }
            if (b < 0x20 || b == 0x7F)
            {
                buf[o++] = (char)b;
                if (b is 0x09 or 0x0A or 0x0C or 0x0D)
                {
                    g0 = _initialG0;
                    g1 = _initialG1;
                }
                i++;
                continue;
            }
            if (b < 0x80)
            {
                if (g0.IsDoubleByte && b != 0x20)
                {
                    if (i + 1 < v.Length && v[i + 1] >= 0x21 && v[i + 1] <= 0x7E)
                    {
                        buf[o++] = Pair(g0, b, v[i + 1], i, strict, ref problem);
                        i += 2;
                    }
                    else
                    {
                        if (strict && problem is null) problem = $"incomplete {g0.IsoIr} ({g0.Name}) character at offset {i}";
                        buf[o++] = '\uFFFD';
                        i++;
                    }
                    continue;
                }
                buf[o++] = (char)b;
                if ((b == (byte)'\\' && multiValued) || (pn && b is (byte)'^' or (byte)'='))
                {
                    g0 = _initialG0;
                    g1 = _initialG1;
                }
                i++;
                continue;
            }
            if (b < 0xA0)
            {
                if (strict && problem is null) problem = $"C1 control byte 0x{b:X2} at offset {i} is not allowed in {SetName}";
                buf[o++] = (char)b;
                i++;
                continue;
            }
            if (g1 is null)
            {
                if (strict && problem is null) problem = $"byte 0x{b:X2} at offset {i}, but no G1 character set is designated";
                buf[o++] = '\uFFFD';
                i++;
                continue;
            }
            if (!g1.IsDoubleByte)
            {
                char c = g1.MapHigh(b);
                if (c == GraphicSet.Undefined)
                {
                    if (strict && problem is null) problem = $"byte 0x{b:X2} at offset {i} is not defined in {g1.IsoIr} ({g1.Name})";
                    c = '\uFFFD';
                }
                buf[o++] = c;
                i++;
                continue;
            }
            if (i + 1 < v.Length && v[i + 1] >= 0xA1 && v[i + 1] <= 0xFE && b <= 0xFE)
            {
                buf[o++] = Pair(g1, b, v[i + 1], i, strict, ref problem);
                i += 2;
            }
            else
            {
                if (strict && problem is null) problem = $"incomplete {g1.IsoIr} ({g1.Name}) character at offset {i}";
                buf[o++] = '\uFFFD';
                i++;
            }
        }
        return o;
    }

    private static char Pair(GraphicSet g, byte b1, byte b2, int offset, bool strict, ref string? problem)
    {
        char c = g.MapPair(b1, b2);
        if (c != GraphicSet.Undefined) return c;
        if (strict && problem is null)
            problem = g.IsSupported
                ? $"bytes 0x{b1:X2} 0x{b2:X2} at offset {offset} are not a character of {g.IsoIr} ({g.Name})"
                : $"{g.IsoIr} ({g.Name}) at offset {offset} is not supported by this decoder";
        return '\uFFFD';
    }

    // ------------------------------------------------------------------ encoding

    /// <summary>Encodes text in this set, without padding (the writer pads to even length per VR).
    /// ISO 2022 sets: characters are taken from the G1 set in use, else the declared sets in term order, with the
    /// designating escape sequence; G0 is switched back to value 1's set before delimiters, control characters and at
    /// the end of the value. JIS X 0212 cannot be encoded.</summary>
    /// <exception cref="DicomCharacterSetException">A character this set cannot represent.</exception>
    public byte[] Encode(string text, DicomVR vr) =>
        TryEncode(text, vr, out var bytes, out var problem) ? bytes! : throw new DicomCharacterSetException(problem!);

    /// <summary>Like <see cref="Encode"/>; false with a description when a character cannot be represented.</summary>
    public bool TryEncode(string text, DicomVR vr, out byte[]? bytes, out string? problem)
    {
        bytes = null;
        problem = null;
        if (Ascii.IsValid(text))
        {
            bytes = Encoding.ASCII.GetBytes(text);
            return true;
        }
        switch (_kind)
        {
            case TermKind.Utf8: return EncodeWhole(text, DicomCharacterSets.Utf8Strict, "ISO_IR 192", out bytes, out problem);
            case TermKind.Gb18030: return EncodeWhole(text, DicomCharacterSets.Gb18030Strict, "GB18030", out bytes, out problem);
            case TermKind.Gbk: return EncodeWhole(text, DicomCharacterSets.GbkStrict, "GBK", out bytes, out problem);
            case TermKind.Iso2022: return EncodeIso2022(text, vr, out bytes, out problem);
        }
        var result = new byte[text.Length];
        Span<byte> one = stackalloc byte[1];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 0x80) result[i] = (byte)c;
            else if (_initialG1 is not null && _initialG1.TryEncode(c, one) == 1) result[i] = one[0];
            else
            {
                problem = Unrepresentable(text, i);
                return false;
            }
        }
        bytes = result;
        return true;
    }

    private string Unrepresentable(string text, int i) => $"U+{(int)text[i]:X4} '{text[i]}' at index {i} cannot be represented in {SetName}";

    private static bool EncodeWhole(string text, Encoding e, string name, out byte[]? bytes, out string? problem)
    {
        try
        {
            bytes = e.GetBytes(text);
            problem = null;
            return true;
        }
        catch (EncoderFallbackException ex)
        {
            bytes = null;
            problem = $"U+{(int)ex.CharUnknown:X4} at index {ex.Index} cannot be represented in {name}";
            return false;
        }
    }

    private bool EncodeIso2022(string text, DicomVR vr, out byte[]? bytes, out string? problem)
    {
        bool pn = vr == DicomVR.PN;
        bool multiValued = !vr.IsSingleValued();
        var g0 = _initialG0;
        var g1 = _initialG1;
        var w = new ArrayBufferWriter<byte>(text.Length * 2 + 8);
        Span<byte> tmp = stackalloc byte[4];
        bytes = null;
        problem = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 0x80)
            {
                bool control = c < 0x20 || c == 0x7F;
                bool delimiter = (c == '\\' && multiValued) || (pn && c is '^' or '=');
                if (g0 != _initialG0 && (control || delimiter || !g0.IsDoubleByte || _initialG0.TryEncode(c, tmp) == 1))
                {
                    w.Write(_initialG0.Escape);
                    g0 = _initialG0;
                }
                else if (g0.IsDoubleByte)
                {
                    w.Write(GraphicSet.Ascii.Escape);
                    g0 = GraphicSet.Ascii;
                }
                w.Write([(byte)c]);
                if (delimiter || c is '\t' or '\n' or '\f' or '\r') g1 = _initialG1;
                continue;
            }
            int n = 0;
            if (g1 is not null && (n = g1.TryEncode(c, tmp)) > 0) { w.Write(tmp[..n]); continue; }
            if (g0.IsDoubleByte && (n = g0.TryEncode(c, tmp)) > 0) { w.Write(tmp[..n]); continue; }
            GraphicSet? found = null;
            foreach (var g in _declared)
            {
                if (g.Kind == GraphicSetKind.SingleByteG0) continue;
                n = g.TryEncode(c, tmp);
                if (n > 0) { found = g; break; }
            }
            if (found is null)
            {
                problem = Unrepresentable(text, i);
                return false;
            }
            w.Write(found.Escape);
            if (found.IsG0) g0 = found;
            else g1 = found;
            w.Write(tmp[..n]);
        }
        if (g0 != _initialG0) w.Write(_initialG0.Escape);
        bytes = w.WrittenSpan.ToArray();
        return true;
    }
}
