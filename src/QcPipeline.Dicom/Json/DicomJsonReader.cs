using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace QcPipeline.Dicom.Json;

/// <summary>Builds datasets from DICOM JSON model objects (PS3.18 F.2). Text is stored as UTF-8: when any value of a
/// VR affected by the Specific Character Set is not plain ASCII, every (0008,0005) in the result is set to ISO_IR 192.</summary>
internal sealed class DicomJsonReader
{
    private static readonly DicomTag SpecificCharacterSet = new(0x00080005);
    private static readonly DicomTag PixelData = new(0x7FE00010);

    private readonly Func<string, ReadOnlyMemory<byte>>? _resolver;
    private readonly List<DicomTag> _tags = [];
    private readonly List<int> _indexes = [];
    private bool _nonAscii;

    public DicomJsonReader(Func<string, ReadOnlyMemory<byte>>? resolver) { _resolver = resolver; }

    public DicomDataset ReadRoot(JsonElement obj)
    {
        _nonAscii = false;
        _tags.Clear();
        _indexes.Clear();
        DicomDataset ds;
        try { ds = ReadDataset(obj); }
        catch (InvalidOperationException ex) // JsonDocument checks UTF-8 in names and strings only when they are read
        {
            throw Error(null, $"not valid JSON text: {ex.Message}", ex);
        }
        if (_nonAscii) MarkUtf8(ds, isRoot: true);
        return ds;
    }

    private static void MarkUtf8(DicomDataset ds, bool isRoot)
    {
        if (isRoot || ds.Contains(SpecificCharacterSet)) ds.AddOrUpdate(SpecificCharacterSet, DicomVR.CS, "ISO_IR 192");
        foreach (var sq in ds.OfType<DicomSequence>())
            foreach (var item in sq.Items) MarkUtf8(item, isRoot: false);
    }

    private DicomDataset ReadDataset(JsonElement obj)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw Error(null, $"expected a JSON object for a dataset, found {Kind(obj)}");
        var ds = new DicomDataset();
        foreach (var prop in obj.EnumerateObject())
        {
            if (!TryParseTag(prop.Name, out var tag)) throw Error(null, $"'{prop.Name}' is not a tag (eight hexadecimal digits)");
            if (ds.Contains(tag)) throw Error(null, $"attribute {prop.Name} appears twice");
            if (tag.IsGroupLength) continue; // F.2.2: not part of the model; a stale one would be wrong anyway
            _tags.Add(tag);
            ds.AddOrUpdate(ReadAttribute(tag, prop.Value));
            _tags.RemoveAt(_tags.Count - 1);
        }
        return ds;
    }

    private static bool TryParseTag(string name, out DicomTag tag)
    {
        tag = default;
        if (name.Length != 8) return false;
        foreach (var c in name) if (!char.IsAsciiHexDigit(c)) return false;
        tag = new DicomTag(uint.Parse(name, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
        return true;
    }

    private DicomItem ReadAttribute(DicomTag tag, JsonElement a)
    {
        if (a.ValueKind != JsonValueKind.Object) throw Error(tag, $"expected an attribute object, found {Kind(a)}");
        if (!a.TryGetProperty("vr"u8, out var vrJson)) throw Error(tag, "attribute has no \"vr\"");
        if (vrJson.ValueKind != JsonValueKind.String || vrJson.GetString() is not { Length: 2 } code
            || !DicomVRInfo.TryParse([(byte)code[0], (byte)code[1]], out var vr))
            throw Error(tag, $"\"vr\" {vrJson.GetRawText()} is not a DICOM VR");

        bool hasValue = a.TryGetProperty("Value"u8, out var value);
        bool hasInline = a.TryGetProperty("InlineBinary"u8, out var inline);
        bool hasUri = a.TryGetProperty("BulkDataURI"u8, out var uri);
        if ((hasValue ? 1 : 0) + (hasInline ? 1 : 0) + (hasUri ? 1 : 0) > 1)
            throw Error(tag, "attribute has more than one of \"Value\", \"InlineBinary\" and \"BulkDataURI\"");

        if (vr == DicomVR.SQ)
        {
            if (hasInline || hasUri) throw Error(tag, "a sequence (SQ) cannot have InlineBinary or BulkDataURI");
            var items = new List<DicomDataset>();
            if (hasValue)
            {
                if (value.ValueKind != JsonValueKind.Array) throw Error(tag, $"\"Value\" must be an array, found {Kind(value)}");
                int i = 0;
                foreach (var itemJson in value.EnumerateArray())
                {
                    _indexes.Add(i++);
                    items.Add(ReadDataset(itemJson));
                    _indexes.RemoveAt(_indexes.Count - 1);
                }
            }
            return new DicomSequence(tag, items);
        }

        if (hasInline)
        {
            if (!AcceptsBytes(vr)) throw Error(tag, $"InlineBinary is not allowed for VR {vr.Code()}");
            if (inline.ValueKind != JsonValueKind.String || !inline.TryGetBytesFromBase64(out var bytes))
                throw Error(tag, "InlineBinary is not a base64 string");
            return FromBytes(tag, vr, bytes);
        }
        if (hasUri)
        {
            if (uri.ValueKind != JsonValueKind.String || uri.GetString() is not { } text) throw Error(tag, "BulkDataURI is not a string");
            if (_resolver is null)
            {
                var marker = new DicomElement(tag, vr, ReadOnlyMemory<byte>.Empty);
                DicomJson.RememberBulkDataUri(marker, text);
                return marker;
            }
            ReadOnlyMemory<byte> resolved;
            try { resolved = _resolver(text); }
            catch (Exception ex) when (ex is not DicomJsonException) { throw Error(tag, $"resolving BulkDataURI '{text}' failed: {ex.Message}", ex); }
            if (vr.IsAffectedBySpecificCharacterSet() && resolved.Span.ContainsAnyInRange((byte)0x80, (byte)0xFF)) _nonAscii = true;
            return FromBytes(tag, vr, resolved.ToArray());
        }
        if (!hasValue) return new DicomElement(tag, vr, ReadOnlyMemory<byte>.Empty);
        if (value.ValueKind != JsonValueKind.Array) throw Error(tag, $"\"Value\" must be an array, found {Kind(value)}");
        return new DicomElement(tag, vr, ReadValues(tag, vr, value));
    }

    private static bool AcceptsBytes(DicomVR vr) => vr is DicomVR.OB or DicomVR.OD or DicomVR.OF or DicomVR.OL or DicomVR.OV or DicomVR.OW or DicomVR.UN
        // not in F.2.2's InlineBinary list, but their Value Field is binary too: accepted on read
        or DicomVR.US or DicomVR.SS or DicomVR.UL or DicomVR.SL or DicomVR.FL or DicomVR.FD or DicomVR.SV or DicomVR.UV;

    private static DicomItem FromBytes(DicomTag tag, DicomVR vr, byte[] bytes)
    {
        if (tag == PixelData && vr is DicomVR.OB or DicomVR.OW && Encapsulation.TryDecode(tag, vr, bytes, out var frags)) return frags!;
        return new DicomElement(tag, vr, PadEven(bytes, 0));
    }

    private byte[] ReadValues(DicomTag tag, DicomVR vr, JsonElement array)
    {
        int n = array.GetArrayLength();
        switch (vr)
        {
            case DicomVR.OB or DicomVR.OD or DicomVR.OF or DicomVR.OL or DicomVR.OV or DicomVR.OW or DicomVR.UN:
                throw Error(tag, $"VR {vr.Code()} takes InlineBinary or BulkDataURI, not \"Value\"");
            case DicomVR.US or DicomVR.SS or DicomVR.UL or DicomVR.SL or DicomVR.FL or DicomVR.FD or DicomVR.SV or DicomVR.UV or DicomVR.AT:
            {
                // A binary value cannot be empty. Trailing nulls (pydicom writes them, e.g. AcquisitionMatrix [128,0,0,32,null])
                // are dropped, which keeps the position of every other value; a null before a value is an error.
                while (n > 0 && array[n - 1].ValueKind == JsonValueKind.Null) n--;
                int size = vr == DicomVR.AT ? 4 : vr.BinaryUnitSize();
                var bytes = new byte[n * size];
                for (int i = 0; i < n; i++) WriteBinary(tag, vr, array[i], bytes.AsSpan(i * size));
                return PadEven(bytes, 0);
            }
        }
        if (!vr.IsString()) throw Error(tag, $"VR {vr.Code()} cannot have values");
        if (vr.IsSingleValued() && n > 1) throw Error(tag, $"VR {vr.Code()} holds one value, found {n}");

        var sb = new StringBuilder();
        int index = 0;
        foreach (var v in array.EnumerateArray())
        {
            if (index++ > 0) sb.Append('\\');
            string text = vr switch
            {
                DicomVR.PN => PersonName(tag, v),
                DicomVR.IS => IntegerString(tag, v),
                DicomVR.DS => DecimalString(tag, v),
                _ => v.ValueKind switch
                {
                    JsonValueKind.Null => "",
                    JsonValueKind.String => v.GetString()!,
                    _ => throw Error(tag, $"value {index} must be a string or null for VR {vr.Code()}, found {Kind(v)}"),
                },
            };
            if (!vr.IsSingleValued() && text.Contains('\\'))
                throw Error(tag, $"value {index} contains a backslash, which PS3.5 uses to separate values (F.2.4)");
            sb.Append(text);
        }
        var joined = sb.ToString();
        if (vr.IsAffectedBySpecificCharacterSet() && !Ascii.IsValid(joined)) _nonAscii = true;
        return PadEven(Encoding.UTF8.GetBytes(joined), vr.PaddingByte());
    }

    private string PersonName(DicomTag tag, JsonElement v)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Null: return "";
            case JsonValueKind.String: return v.GetString()!; // not the model, but some servers send "Family^Given"
            case JsonValueKind.Object:
                string[] groups = ["", "", ""];
                foreach (var p in v.EnumerateObject())
                {
                    int g = p.Name switch { "Alphabetic" => 0, "Ideographic" => 1, "Phonetic" => 2, _ => -1 };
                    if (g < 0) continue; // unknown names are ignored
                    if (p.Value.ValueKind == JsonValueKind.Null) continue;
                    if (p.Value.ValueKind != JsonValueKind.String) throw Error(tag, $"PN component group \"{p.Name}\" must be a string, found {Kind(p.Value)}");
                    groups[g] = p.Value.GetString()!;
                    if (groups[g].Contains('=')) throw Error(tag, $"PN component group \"{p.Name}\" contains '=', the group separator");
                }
                return groups[2].Length > 0 ? $"{groups[0]}={groups[1]}={groups[2]}" : groups[1].Length > 0 ? $"{groups[0]}={groups[1]}" : groups[0];
            default: throw Error(tag, $"PN value must be an object with Alphabetic/Ideographic/Phonetic, found {Kind(v)}");
        }
    }

    private string IntegerString(DicomTag tag, JsonElement v)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Null: return "";
            case JsonValueKind.String: return v.GetString()!; // F.2.3 note: the original text, kept as is
            case JsonValueKind.Number:
                if (v.TryGetInt64(out long l)) return l.ToString(CultureInfo.InvariantCulture);
                if (v.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < 1e12) return ((long)d).ToString(CultureInfo.InvariantCulture);
                throw Error(tag, $"IS value {v.GetRawText()} is not an integer of at most 12 characters");
            default: throw Error(tag, $"IS value must be a number, string or null, found {Kind(v)}");
        }
    }

    private string DecimalString(DicomTag tag, JsonElement v)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Null: return "";
            case JsonValueKind.String: return v.GetString()!;
            case JsonValueKind.Number:
                var raw = v.GetRawText();
                if (raw.Length <= 16) return raw; // a JSON number is a valid DS; keep its digits
                if (!v.TryGetDouble(out double d) || !double.IsFinite(d)) throw Error(tag, $"DS value {raw} is out of range");
                return DicomValues.FormatDS(d);
            default: throw Error(tag, $"DS value must be a number, string or null, found {Kind(v)}");
        }
    }

    private void WriteBinary(DicomTag tag, DicomVR vr, JsonElement v, Span<byte> dest)
    {
        if (vr == DicomVR.AT)
        {
            if (v.ValueKind != JsonValueKind.String || !TryParseTag(v.GetString()!, out var at))
                throw Error(tag, $"AT value {v.GetRawText()} is not eight hexadecimal digits");
            BinaryPrimitives.WriteUInt16LittleEndian(dest, at.Group);
            BinaryPrimitives.WriteUInt16LittleEndian(dest[2..], at.Element);
            return;
        }
        if (v.ValueKind == JsonValueKind.Null) throw Error(tag, $"VR {vr.Code()} cannot hold an empty value (null) before other values");
        if (v.ValueKind is not (JsonValueKind.Number or JsonValueKind.String)) throw Error(tag, $"VR {vr.Code()} value must be a number, found {Kind(v)}");
        string text = v.ValueKind == JsonValueKind.String ? v.GetString()!.Trim() : v.GetRawText();
        bool ok;
        switch (vr)
        {
            case DicomVR.FL:
            case DicomVR.FD:
                ok = TryParseReal(text, out double d);
                if (!ok) break;
                if (vr == DicomVR.FL) BinaryPrimitives.WriteSingleLittleEndian(dest, (float)d);
                else BinaryPrimitives.WriteDoubleLittleEndian(dest, d);
                return;
            case DicomVR.UV:
                ok = TryParseUnsigned(text, out ulong u);
                if (ok) { BinaryPrimitives.WriteUInt64LittleEndian(dest, u); return; }
                break;
            default:
                ok = TryParseSigned(text, out long l);
                if (!ok) break;
                (long min, long max) = vr switch
                {
                    DicomVR.US => (0L, ushort.MaxValue), DicomVR.SS => (short.MinValue, short.MaxValue),
                    DicomVR.UL => (0L, uint.MaxValue), DicomVR.SL => (int.MinValue, int.MaxValue), _ => (long.MinValue, long.MaxValue),
                };
                if (l < min || l > max) throw Error(tag, $"value {text} is out of range for VR {vr.Code()}");
                switch (vr)
                {
                    case DicomVR.US: BinaryPrimitives.WriteUInt16LittleEndian(dest, (ushort)l); break;
                    case DicomVR.SS: BinaryPrimitives.WriteInt16LittleEndian(dest, (short)l); break;
                    case DicomVR.UL: BinaryPrimitives.WriteUInt32LittleEndian(dest, (uint)l); break;
                    case DicomVR.SL: BinaryPrimitives.WriteInt32LittleEndian(dest, (int)l); break;
                    default: BinaryPrimitives.WriteInt64LittleEndian(dest, l); break;
                }
                return;
        }
        throw Error(tag, $"value {v.GetRawText()} is not a valid {vr.Code()} number");
    }

    private static bool TryParseReal(string text, out double d)
    {
        switch (text)
        {
            case "NaN": d = double.NaN; return true;
            case "Infinity" or "+Infinity": d = double.PositiveInfinity; return true;
            case "-Infinity": d = double.NegativeInfinity; return true;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d) && double.IsFinite(d);
    }

    private static bool TryParseSigned(string text, out long l)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return true;
        // 1.0 or 1e3 from writers that print integers as reals
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d == Math.Floor(d) && Math.Abs(d) <= 9.007199254740991e15) { l = (long)d; return true; }
        return false;
    }

    private static bool TryParseUnsigned(string text, out ulong u)
    {
        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out u)) return true;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d >= 0 && d == Math.Floor(d) && d <= 9.007199254740991e15) { u = (ulong)d; return true; }
        return false;
    }

    private static byte[] PadEven(byte[] bytes, byte pad)
    {
        if ((bytes.Length & 1) == 0) return bytes;
        Array.Resize(ref bytes, bytes.Length + 1);
        bytes[^1] = pad;
        return bytes;
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object", JsonValueKind.Array => "an array", JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number", JsonValueKind.True or JsonValueKind.False => "a boolean", JsonValueKind.Null => "null", _ => "nothing",
    };

    internal DicomJsonException Error(DicomTag? tag, string problem, Exception? inner = null)
    {
        var tags = new List<DicomTag>(_tags);
        if (tag is { } t && (tags.Count == 0 || tags[^1] != t)) tags.Add(t);
        return new DicomJsonException(DicomJsonWriter.PathText(tags, _indexes), tag, problem, inner);
    }
}
