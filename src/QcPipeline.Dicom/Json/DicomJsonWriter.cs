using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;

namespace QcPipeline.Dicom.Json;

/// <summary>Writes datasets as DICOM JSON model objects (PS3.18 F.2). One instance per call; not thread-safe.</summary>
internal sealed class DicomJsonWriter
{
    /// <summary>Largest integer a JSON number carries exactly in an IEEE double (2^53 − 1): SV/UV beyond it are written as strings (F.2.3 note).</summary>
    private const long MaxSafeInteger = (1L << 53) - 1;

    /// <summary>Utf8JsonWriter refuses base64 values from larger inputs (its token size limit).</summary>
    private const int MaxInlineBinaryBytes = 125_000_000;

    private readonly Utf8JsonWriter _w;
    private readonly DicomJsonOptions _options;
    private readonly List<DicomTag> _tags = [];
    private readonly List<int> _indexes = [];

    public DicomJsonWriter(Utf8JsonWriter writer, DicomJsonOptions options)
    {
        _w = writer;
        _options = options;
    }

    public void WriteDataset(DicomDataset ds)
    {
        _w.WriteStartObject();
        foreach (var item in ds)
        {
            if (item.Tag.IsGroupLength) continue; // F.2.2: group lengths are not included
            _tags.Add(item.Tag);
            WriteAttribute(ds, item);
            _tags.RemoveAt(_tags.Count - 1);
        }
        _w.WriteEndObject();
    }

    private void WriteAttribute(DicomDataset ds, DicomItem item)
    {
        var vr = item.VR == DicomVR.None ? DicomVR.UN : item.VR;
        Span<byte> name = stackalloc byte[8];
        item.Tag.Value.TryFormat(name, out _, "X8", CultureInfo.InvariantCulture);
        _w.WritePropertyName(name);
        _w.WriteStartObject();
        _w.WriteString("vr"u8, vr.Code());
        if (_options.WriteKeywords && _options.KeywordLookup?.Invoke(item.Tag) is { Length: > 0 } keyword)
            _w.WriteString("keyword"u8, keyword);

        switch (item)
        {
            case DicomSequence sq:
                if (sq.Items.Count > 0)
                {
                    _w.WriteStartArray("Value"u8);
                    for (int i = 0; i < sq.Items.Count; i++)
                    {
                        _indexes.Add(i);
                        WriteDataset(sq.Items[i]);
                        _indexes.RemoveAt(_indexes.Count - 1);
                    }
                    _w.WriteEndArray();
                }
                break;
            case DicomFragmentSequence f:
                if (BulkDataUri(f) is { } fragUri) _w.WriteString("BulkDataURI"u8, fragUri);
                else WriteInlineBinary(Encapsulation.Encode(f));
                break;
            case DicomElement e:
                WriteElement(ds, e, vr);
                break;
            default:
                throw Error(item.Tag, $"cannot write a {item.GetType().Name}");
        }
        _w.WriteEndObject();
    }

    private void WriteElement(DicomDataset ds, DicomElement e, DicomVR vr)
    {
        if (e.Length == 0)
        {
            // F.2.5: present but empty → only "vr". An element read from a BulkDataURI that was not resolved keeps its URI.
            if (DicomJson.TryGetBulkDataUri(e, out var kept)) _w.WriteString("BulkDataURI"u8, kept);
            return;
        }
        var span = e.Data.Span;
        switch (vr)
        {
            case DicomVR.OB or DicomVR.OD or DicomVR.OF or DicomVR.OL or DicomVR.OV or DicomVR.OW or DicomVR.UN:
                if (e.Length > _options.BulkDataThreshold && BulkDataUri(e) is { } uri) _w.WriteString("BulkDataURI"u8, uri);
                else WriteInlineBinary(span);
                return;
            case DicomVR.US or DicomVR.SS or DicomVR.UL or DicomVR.SL or DicomVR.FL or DicomVR.FD or DicomVR.SV or DicomVR.UV:
                if (e.Length > _options.BulkDataThreshold && BulkDataUri(e) is { } numUri) { _w.WriteString("BulkDataURI"u8, numUri); return; }
                WriteBinaryNumbers(span, vr);
                return;
            case DicomVR.AT:
                _w.WriteStartArray("Value"u8);
                Span<byte> hex = stackalloc byte[8];
                for (int i = 0; i + 4 <= span.Length; i += 4)
                {
                    uint tag = ((uint)BinaryPrimitives.ReadUInt16LittleEndian(span[i..]) << 16) | BinaryPrimitives.ReadUInt16LittleEndian(span[(i + 2)..]);
                    tag.TryFormat(hex, out _, "X8", CultureInfo.InvariantCulture);
                    _w.WriteStringValue(hex);
                }
                _w.WriteEndArray();
                return;
        }

        if (!vr.IsString()) throw Error(e.Tag, $"VR {vr.Code()} has no DICOM JSON encoding");
        var values = ds.GetStrings(e.Tag);
        if (values.Length == 0 || (values.Length == 1 && values[0].Length == 0)) return; // only padding: empty
        _w.WriteStartArray("Value"u8);
        foreach (var v in values)
        {
            if (v.Length == 0) { _w.WriteNullValue(); continue; } // F.2.5: empty value among several
            switch (vr)
            {
                case DicomVR.PN: WritePersonName(v); break;
                case DicomVR.IS:
                    if (DicomValues.TryParseIS(v, out long l)) _w.WriteNumberValue(l);
                    else _w.WriteStringValue(v); // not an integer: keep the text (F.2.3 note allows a string)
                    break;
                case DicomVR.DS:
                    if (DecimalStrings.TryToJsonNumber(v, out var number)) _w.WriteRawValue(number, skipInputValidation: true);
                    else _w.WriteStringValue(v);
                    break;
                default: _w.WriteStringValue(v); break;
            }
        }
        _w.WriteEndArray();
    }

    private void WritePersonName(string value)
    {
        var groups = value.Split('=');
        // A group of only '^' separators ("^^^^") has no components: it is empty, as DCMTK's dcm2json also treats it.
        for (int i = 0; i < groups.Length; i++) if (groups[i].AsSpan().TrimEnd('^').Length == 0) groups[i] = "";
        bool any = false;
        foreach (var g in groups) any |= g.Length > 0;
        if (!any) { _w.WriteNullValue(); return; }
        _w.WriteStartObject();
        if (groups[0].Length > 0) _w.WriteString("Alphabetic"u8, groups[0]);
        if (groups.Length > 1 && groups[1].Length > 0) _w.WriteString("Ideographic"u8, groups[1]);
        if (groups.Length > 2 && groups[2].Length > 0) _w.WriteString("Phonetic"u8, groups[2]);
        _w.WriteEndObject();
    }

    private void WriteBinaryNumbers(ReadOnlySpan<byte> span, DicomVR vr)
    {
        int size = vr.BinaryUnitSize();
        _w.WriteStartArray("Value"u8);
        for (int i = 0; i + size <= span.Length; i += size)
        {
            var s = span[i..];
            switch (vr)
            {
                case DicomVR.US: _w.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(s)); break;
                case DicomVR.SS: _w.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(s)); break;
                case DicomVR.UL: _w.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(s)); break;
                case DicomVR.SL: _w.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(s)); break;
                case DicomVR.FL:
                    float f = BinaryPrimitives.ReadSingleLittleEndian(s);
                    if (float.IsFinite(f)) _w.WriteNumberValue(f); else _w.WriteStringValue(NonFinite(f));
                    break;
                case DicomVR.FD:
                    double d = BinaryPrimitives.ReadDoubleLittleEndian(s);
                    if (double.IsFinite(d)) _w.WriteNumberValue(d); else _w.WriteStringValue(NonFinite(d));
                    break;
                case DicomVR.SV:
                    long sv = BinaryPrimitives.ReadInt64LittleEndian(s);
                    if (sv is >= -MaxSafeInteger and <= MaxSafeInteger) _w.WriteNumberValue(sv);
                    else _w.WriteStringValue(sv.ToString(CultureInfo.InvariantCulture));
                    break;
                case DicomVR.UV:
                    ulong uv = BinaryPrimitives.ReadUInt64LittleEndian(s);
                    if (uv <= MaxSafeInteger) _w.WriteNumberValue(uv);
                    else _w.WriteStringValue(uv.ToString(CultureInfo.InvariantCulture));
                    break;
            }
        }
        _w.WriteEndArray();
    }

    /// <summary>JSON has no NaN or infinity; they are written as the strings .NET and JavaScript use (non-standard, read back by this toolkit).</summary>
    private static string NonFinite(double d) => double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";

    private void WriteInlineBinary(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxInlineBinaryBytes)
            throw Error(_tags[^1], $"value of {bytes.Length} bytes is too large for InlineBinary; set DicomJsonOptions.BulkDataUriFactory to write a BulkDataURI");
        _w.WriteBase64String("InlineBinary"u8, bytes);
    }

    private string? BulkDataUri(DicomItem item) =>
        _options.BulkDataUriFactory?.Invoke(new DicomJsonBulkDataContext(item, [.. _tags], [.. _indexes]));

    private DicomJsonException Error(DicomTag tag, string problem) => new(PathText(_tags, _indexes), tag, problem);

    internal static string PathText(IReadOnlyList<DicomTag> tags, IReadOnlyList<int> indexes)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < tags.Count; i++)
        {
            if (i > 0) sb.Append('[').Append(indexes[i - 1].ToString(CultureInfo.InvariantCulture)).Append("] ");
            sb.Append(tags[i].ToString());
        }
        if (tags.Count > 0 && indexes.Count >= tags.Count) sb.Append('[').Append(indexes[tags.Count - 1].ToString(CultureInfo.InvariantCulture)).Append(']');
        return sb.ToString();
    }
}

/// <summary>DS text ↔ JSON number text. DS follows ANSI X3.9 (FORTRAN) and allows "+1", ".5", "1." and leading
/// zeros, which RFC 8259 numbers do not; these are rewritten digit for digit, so no precision is lost.</summary>
internal static class DecimalStrings
{
    public static bool TryToJsonNumber(string ds, out string json)
    {
        json = "";
        var s = ds.AsSpan().Trim(' ');
        int i = 0;
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-')) { negative = s[i] == '-'; i++; }
        int intStart = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        var intDigits = s[intStart..i];
        ReadOnlySpan<char> fracDigits = [];
        if (i < s.Length && s[i] == '.')
        {
            int f = ++i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            fracDigits = s[f..i];
        }
        if (intDigits.IsEmpty && fracDigits.IsEmpty) return false;
        ReadOnlySpan<char> exp = [];
        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            int e = i++;
            if (i < s.Length && (s[i] == '+' || s[i] == '-')) i++;
            int d = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == d) return false;
            exp = s[e..i];
        }
        if (i != s.Length) return false;

        intDigits = intDigits.TrimStart('0');
        var sb = new System.Text.StringBuilder(s.Length + 2);
        if (negative) sb.Append('-');
        if (intDigits.IsEmpty) sb.Append('0'); else sb.Append(intDigits);
        if (!fracDigits.IsEmpty) sb.Append('.').Append(fracDigits);
        if (!exp.IsEmpty) sb.Append('e').Append(exp[1..]);
        json = sb.ToString();
        return true;
    }
}

/// <summary>The encapsulated Value Field of PS3.5 §A.4 (items with explicit lengths, then a Sequence Delimitation Item),
/// which is what InlineBinary carries for encapsulated pixel data (F.2.7: "the enclosing attribute's Value Field").</summary>
internal static class Encapsulation
{
    public static byte[] Encode(DicomFragmentSequence f)
    {
        long length = 8 + f.OffsetTable.Length + 8;
        foreach (var frag in f.Fragments) length += 8 + frag.Length;
        if (length > Array.MaxLength) throw new DicomJsonException($"encapsulated {f.Tag} of {length} bytes is too large to inline");
        var result = new byte[length];
        int pos = 0;
        Item(result, ref pos, DicomTag.Item, f.OffsetTable.Span);
        foreach (var frag in f.Fragments) Item(result, ref pos, DicomTag.Item, frag.Span);
        Item(result, ref pos, DicomTag.SequenceDelimitationItem, []);
        return result;
    }

    private static void Item(byte[] buffer, ref int pos, DicomTag tag, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(pos), tag.Group);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(pos + 2), tag.Element);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(pos + 4), (uint)value.Length);
        value.CopyTo(buffer.AsSpan(pos + 8));
        pos += 8 + value.Length;
    }

    /// <summary>Recognises bytes that are exactly an encapsulated Value Field: a Basic Offset Table item, fragment items
    /// and the Sequence Delimitation Item ending at the last byte. Anything else is not encapsulated.</summary>
    public static bool TryDecode(DicomTag tag, DicomVR vr, ReadOnlyMemory<byte> bytes, out DicomFragmentSequence? result)
    {
        result = null;
        var s = bytes.Span;
        int pos = 0;
        ReadOnlyMemory<byte>? offsetTable = null;
        var fragments = new List<ReadOnlyMemory<byte>>();
        while (pos + 8 <= s.Length)
        {
            ushort g = BinaryPrimitives.ReadUInt16LittleEndian(s[pos..]);
            ushort el = BinaryPrimitives.ReadUInt16LittleEndian(s[(pos + 2)..]);
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(s[(pos + 4)..]);
            var t = new DicomTag(g, el);
            if (t == DicomTag.SequenceDelimitationItem)
            {
                if (len != 0 || pos + 8 != s.Length || offsetTable is null) return false;
                result = new DicomFragmentSequence(tag, vr, offsetTable.Value, fragments);
                return true;
            }
            if (t != DicomTag.Item || len > (uint)(s.Length - pos - 8)) return false;
            var value = bytes.Slice(pos + 8, (int)len);
            if (offsetTable is null) offsetTable = value; else fragments.Add(value);
            pos += 8 + (int)len;
        }
        return false;
    }
}
