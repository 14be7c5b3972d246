using System.Buffers.Binary;
using System.Collections;
using System.Runtime.InteropServices;
using System.Text;
using QcPipeline.Dicom.CharacterSets;

namespace QcPipeline.Dicom;

/// <summary>An ordered set of data elements (PS3.5 §7). Items are kept sorted by tag; lookups are binary searches,
/// appends in tag order (the normal reading case) are O(1).</summary>
public sealed class DicomDataset : IEnumerable<DicomItem>
{
    private readonly List<DicomItem> _items;
    private DicomCharacterSet? _charset;
    private bool _unsorted;
    private string? _charsetProblem;

    public DicomDataset() { _items = []; }
    internal DicomDataset(int capacity) { _items = new List<DicomItem>(capacity); }

    /// <summary>The dataset that holds the sequence this item belongs to; items inherit its character set (PS3.5 §6.1.2.5.4? no: PS3.3 C.12.1.1.2).</summary>
    public DicomDataset? Parent { get; internal set; }

    /// <summary>Encoding used when neither this dataset nor its parents declare (0008,0005), or when the
    /// declared set does not match the bytes (a per-device setting for mislabelled data).</summary>
    public Encoding? FallbackEncoding { get; set; }

    public int Count => _items.Count;

    public DicomItem? this[DicomTag tag] => TryGet(tag, out var item) ? item : null;

    public bool Contains(DicomTag tag) => IndexOf(tag) >= 0;

    public bool TryGet(DicomTag tag, out DicomItem item)
    {
        int i = IndexOf(tag);
        item = i >= 0 ? _items[i] : null!;
        return i >= 0;
    }

    public DicomElement? GetElement(DicomTag tag) => this[tag] as DicomElement;
    public DicomSequence? GetSequence(DicomTag tag) => this[tag] as DicomSequence;

    /// <summary>Adds or replaces an item.</summary>
    public void AddOrUpdate(DicomItem item)
    {
        if (item is DicomSequence sq) foreach (var ds in sq.Items) ds.Parent = this;
        if (item.Tag == SpecificCharacterSetTag) { _charset = null; _charsetProblem = null; }
        int n = _items.Count;
        if (n == 0 || _items[n - 1].Tag < item.Tag) { _items.Add(item); return; }
        int i = IndexOf(item.Tag);
        if (i >= 0) _items[i] = item;
        else _items.Insert(~i, item);
    }

    /// <summary>Appends during parsing. Out-of-order input is only noted here and sorted once by
    /// <see cref="FinishParse"/>: inserting each element in place would be quadratic on hostile input.</summary>
    internal void AddParsed(DicomItem item)
    {
        int n = _items.Count;
        if (n > 0 && !(_items[n - 1].Tag < item.Tag)) _unsorted = true;
        _items.Add(item);
    }

    /// <summary>Restores ascending tag order after parsing; of duplicate tags the last one read wins.</summary>
    internal void FinishParse()
    {
        if (!_unsorted) return;
        _unsorted = false;
        var ordered = _items.Select((item, index) => (item, index)).OrderBy(p => p.item.Tag.Value).ThenBy(p => p.index).ToList();
        _items.Clear();
        foreach (var (item, _) in ordered)
        {
            int n = _items.Count;
            if (n > 0 && _items[n - 1].Tag == item.Tag) _items[n - 1] = item;
            else _items.Add(item);
        }
        _charset = null;
    }

    public bool Remove(DicomTag tag)
    {
        int i = IndexOf(tag);
        if (i < 0) return false;
        _items.RemoveAt(i);
        if (tag == SpecificCharacterSetTag) { _charset = null; _charsetProblem = null; }
        return true;
    }

    public void RemoveAll(Predicate<DicomItem> match) { _items.RemoveAll(match); _charset = null; }

    private int IndexOf(DicomTag tag)
    {
        int lo = 0, hi = _items.Count - 1;
        var items = CollectionsMarshal.AsSpan(_items);
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            uint v = items[mid].Tag.Value;
            if (v == tag.Value) return mid;
            if (v < tag.Value) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    public IEnumerator<DicomItem> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // ---------------------------------------------------------------- character set

    private static readonly DicomTag SpecificCharacterSetTag = new(0x00080005);

    /// <summary>The character set in force here: this dataset's (0008,0005), else the parent's (PS3.3 C.12.1.1.2).</summary>
    public DicomCharacterSet CharacterSet
    {
        get
        {
            if (_charset is not null) return _charset;
            if (GetElement(SpecificCharacterSetTag) is { } e)
            {
                var terms = Encoding.ASCII.GetString(e.Data.Span).Split('\\');
                for (int i = 0; i < terms.Length; i++) terms[i] = terms[i].Trim(' ', '\0');
                if (DicomCharacterSet.TryParse(terms, out var parsed, out var error, InheritedFallback()))
                {
                    _charset = parsed!;
                }
                else
                {
                    // A broken (0008,0005) must not make every text accessor throw: decode leniently with the device
                    // fallback (or the default repertoire) and let strict decoding report the problem.
                    _charset = DicomCharacterSet.Parse([], InheritedFallback());
                    _charsetProblem = error;
                }
            }
            else if (Parent is not null) return Parent.CharacterSet; // not cached: the parent's set may change
            else _charset = FallbackEncoding is null ? DicomCharacterSet.Default : DicomCharacterSet.Parse([], FallbackEncoding);
            return _charset;
        }
    }

    /// <summary>Why (0008,0005) here or in an enclosing dataset could not be used, or null when it is fine.</summary>
    public string? CharacterSetProblem
    {
        get
        {
            _ = CharacterSet;
            return _charsetProblem ?? (GetElement(SpecificCharacterSetTag) is null ? Parent?.CharacterSetProblem : null);
        }
    }

    private Encoding? InheritedFallback()
    {
        for (var d = this; d is not null; d = d.Parent) if (d.FallbackEncoding is not null) return d.FallbackEncoding;
        return null;
    }

    // ---------------------------------------------------------------- strings

    /// <summary>The whole value as text (all values joined by '\'), padding removed; null when the element is absent.</summary>
    public string? GetString(DicomTag tag)
    {
        if (GetElement(tag) is not { } e) return null;
        return DicomValues.TrimValue(DecodeText(e), e.VR);
    }

    /// <summary>The value as text, or "" when absent.</summary>
    public string GetStringOrEmpty(DicomTag tag) => GetString(tag) ?? "";

    /// <summary>The values of a multi-valued string element, each with its padding removed; empty when absent.</summary>
    public string[] GetStrings(DicomTag tag)
    {
        if (GetElement(tag) is not { } e || e.Length == 0) return [];
        if (!e.VR.IsString() && e.VR != DicomVR.UN) return [];
        string[] values = e.VR.IsSingleValued() ? [DecodeText(e)] : (e.VR.IsAffectedBySpecificCharacterSet() ? CharacterSet.DecodeValues(e.Data.Span, e.VR) : Encoding.Latin1.GetString(e.Data.Span).Split('\\'));
        for (int i = 0; i < values.Length; i++) values[i] = DicomValues.TrimValue(values[i], e.VR);
        return values;
    }

    /// <summary>Strict decoding: false, with the reason, when the bytes are not valid in the declared character set.</summary>
    public bool TryGetString(DicomTag tag, out string? value, out string? problem)
    {
        value = null; problem = null;
        if (GetElement(tag) is not { } e) { problem = "absent"; return false; }
        if (!e.VR.IsAffectedBySpecificCharacterSet()) { value = DicomValues.TrimValue(Encoding.Latin1.GetString(e.Data.Span), e.VR); return true; }
        if (CharacterSetProblem is { } csProblem) { problem = csProblem; value = DicomValues.TrimValue(CharacterSet.Decode(e.Data.Span, e.VR), e.VR); return false; }
        if (!CharacterSet.TryDecode(e.Data.Span, e.VR, out var text, out problem)) return false;
        value = DicomValues.TrimValue(text, e.VR);
        return true;
    }

    private string DecodeText(DicomElement e) =>
        e.VR.IsAffectedBySpecificCharacterSet() ? CharacterSet.Decode(e.Data.Span, e.VR) : Encoding.Latin1.GetString(e.Data.Span);

    public DicomPersonName? GetPersonName(DicomTag tag) => GetString(tag) is { } s ? DicomPersonName.Parse(s) : null;

    // ---------------------------------------------------------------- numbers

    /// <summary>The <paramref name="index"/>th value as an integer, from IS or any binary integer VR.</summary>
    public bool TryGetInt64(DicomTag tag, out long value, int index = 0)
    {
        value = 0;
        if (GetElement(tag) is not { } e) return false;
        var span = e.Data.Span;
        switch (e.VR)
        {
            case DicomVR.US: case DicomVR.OW: if (span.Length < (index + 1) * 2) return false; value = BinaryPrimitives.ReadUInt16LittleEndian(span[(index * 2)..]); return true;
            case DicomVR.SS: if (span.Length < (index + 1) * 2) return false; value = BinaryPrimitives.ReadInt16LittleEndian(span[(index * 2)..]); return true;
            case DicomVR.UL: case DicomVR.OL: if (span.Length < (index + 1) * 4) return false; value = BinaryPrimitives.ReadUInt32LittleEndian(span[(index * 4)..]); return true;
            case DicomVR.SL: if (span.Length < (index + 1) * 4) return false; value = BinaryPrimitives.ReadInt32LittleEndian(span[(index * 4)..]); return true;
            case DicomVR.SV: if (span.Length < (index + 1) * 8) return false; value = BinaryPrimitives.ReadInt64LittleEndian(span[(index * 8)..]); return true;
            case DicomVR.UV: case DicomVR.OV: if (span.Length < (index + 1) * 8) return false; value = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[(index * 8)..]); return true;
            case DicomVR.IS: case DicomVR.DS:
                var parts = GetStrings(tag);
                if (index >= parts.Length) return false;
                if (DicomValues.TryParseIS(parts[index], out value)) return true;
                if (e.VR == DicomVR.DS && DicomValues.TryParseDS(parts[index], out var d) && d == Math.Floor(d) && Math.Abs(d) < 9.2e18) { value = (long)d; return true; }
                return false;
            default: return false;
        }
    }

    public bool TryGetInt32(DicomTag tag, out int value, int index = 0)
    {
        value = 0;
        if (!TryGetInt64(tag, out var v, index) || v < int.MinValue || v > int.MaxValue) return false;
        value = (int)v;
        return true;
    }

    public int GetInt32OrDefault(DicomTag tag, int fallback = 0, int index = 0) => TryGetInt32(tag, out var v, index) ? v : fallback;

    /// <summary>The <paramref name="index"/>th value as a double, from DS, IS, FL, FD or an integer VR.</summary>
    public bool TryGetDouble(DicomTag tag, out double value, int index = 0)
    {
        value = 0;
        if (GetElement(tag) is not { } e) return false;
        var span = e.Data.Span;
        switch (e.VR)
        {
            case DicomVR.FL: case DicomVR.OF: if (span.Length < (index + 1) * 4) return false; value = BinaryPrimitives.ReadSingleLittleEndian(span[(index * 4)..]); return true;
            case DicomVR.FD: case DicomVR.OD: if (span.Length < (index + 1) * 8) return false; value = BinaryPrimitives.ReadDoubleLittleEndian(span[(index * 8)..]); return true;
            case DicomVR.DS: case DicomVR.IS:
                var parts = GetStrings(tag);
                return index < parts.Length && DicomValues.TryParseDS(parts[index], out value);
            default:
                if (TryGetInt64(tag, out var l, index)) { value = l; return true; }
                return false;
        }
    }

    public double GetDoubleOrDefault(DicomTag tag, double fallback = double.NaN, int index = 0) => TryGetDouble(tag, out var v, index) ? v : fallback;

    /// <summary>All values as doubles (DS/IS/FL/FD/integers); empty when absent or unparsable.</summary>
    public double[] GetDoubles(DicomTag tag)
    {
        if (GetElement(tag) is not { } e) return [];
        if (e.VR is DicomVR.DS or DicomVR.IS)
        {
            // Split once: each value parsed from the same decoded strings (not re-split per index).
            var parts = GetStrings(tag);
            var values = new double[parts.Length];
            for (int i = 0; i < parts.Length; i++) if (!DicomValues.TryParseDS(parts[i], out values[i])) return [];
            return values;
        }
        int n = e.VR.BinaryUnitSize() is var u and > 0 ? e.Length / u : 0;
        var result = new double[n];
        for (int i = 0; i < n; i++) if (!TryGetDouble(tag, out result[i], i)) return [];
        return result;
    }

    /// <summary>Binary values as a read-only span over the element's bytes (no copy).</summary>
    public ReadOnlySpan<T> GetSpan<T>(DicomTag tag) where T : struct => GetElement(tag) is { } e ? e.AsSpan<T>() : [];

    /// <summary>AT values.</summary>
    public DicomTag[] GetTags(DicomTag tag)
    {
        var s = GetSpan<ushort>(tag);
        var result = new DicomTag[s.Length / 2];
        for (int i = 0; i < result.Length; i++) result[i] = new DicomTag(s[2 * i], s[2 * i + 1]);
        return result;
    }

    // ---------------------------------------------------------------- dates

    public DateOnly? GetDate(DicomTag tag) => GetString(tag) is { } s && DicomValues.TryParseDA(s, out var d) ? d : null;
    public TimeOnly? GetTime(DicomTag tag) => GetString(tag) is { } s && DicomValues.TryParseTM(s, out var t) ? t : null;
    public DateTimeOffset? GetDateTime(DicomTag tag) => GetString(tag) is { } s && DicomValues.TryParseDT(s, out var t, out _) ? t : null;

    /// <summary>Combines a DA and a TM element (e.g. StudyDate + StudyTime) into one local time.</summary>
    public DateTime? GetDateTime(DicomTag dateTag, DicomTag timeTag)
    {
        if (GetDate(dateTag) is not { } d) return null;
        return d.ToDateTime(GetTime(timeTag) ?? TimeOnly.MinValue);
    }

    // ---------------------------------------------------------------- editing

    /// <summary>Sets a string element; text VRs are encoded in this dataset's character set.</summary>
    public void AddOrUpdate(DicomTag tag, DicomVR vr, params string[] values)
    {
        if (!vr.IsString()) throw new ArgumentException($"{vr.Code()} is not a string VR", nameof(vr));
        var joined = string.Join('\\', values);
        byte[] bytes = vr.IsAffectedBySpecificCharacterSet() ? CharacterSet.Encode(joined, vr) : Encoding.ASCII.GetBytes(joined);
        if ((bytes.Length & 1) == 1)
        {
            Array.Resize(ref bytes, bytes.Length + 1);
            bytes[^1] = vr.PaddingByte();
        }
        AddOrUpdate(new DicomElement(tag, vr, bytes));
    }

    /// <summary>Sets a binary element (US, SS, UL, SL, FL, FD, OB, OW, …) from values in host (little-endian) order.</summary>
    public void AddOrUpdate<T>(DicomTag tag, DicomVR vr, params T[] values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        if ((bytes.Length & 1) == 1) Array.Resize(ref bytes, bytes.Length + 1);
        AddOrUpdate(new DicomElement(tag, vr, bytes));
    }

    public void AddOrUpdate(DicomTag tag, DicomVR vr, int value) { if (vr is DicomVR.IS) AddOrUpdate(tag, vr, value.ToString(System.Globalization.CultureInfo.InvariantCulture)); else AddOrUpdateNumber(tag, vr, value); }
    public void AddOrUpdate(DicomTag tag, DicomVR vr, double value) { if (vr is DicomVR.DS) AddOrUpdate(tag, vr, DicomValues.FormatDS(value)); else AddOrUpdateNumber(tag, vr, value); }

    private void AddOrUpdateNumber(DicomTag tag, DicomVR vr, double value)
    {
        switch (vr)
        {
            // Explicit type arguments: a plain AddOrUpdate(tag, vr, x) binds to the int/double overloads and recursed forever.
            case DicomVR.US: AddOrUpdate<ushort>(tag, vr, checked((ushort)value)); break;
            case DicomVR.SS: AddOrUpdate<short>(tag, vr, checked((short)value)); break;
            case DicomVR.UL: AddOrUpdate<uint>(tag, vr, checked((uint)value)); break;
            case DicomVR.SL: AddOrUpdate<int>(tag, vr, checked((int)value)); break;
            case DicomVR.FL: AddOrUpdate<float>(tag, vr, (float)value); break;
            case DicomVR.FD: AddOrUpdate<double>(tag, vr, value); break;
            case DicomVR.IS: AddOrUpdate(tag, vr, checked((long)value).ToString(System.Globalization.CultureInfo.InvariantCulture)); break;
            case DicomVR.DS: AddOrUpdate(tag, vr, DicomValues.FormatDS(value)); break;
            default: throw new ArgumentException($"{vr.Code()} cannot hold a number", nameof(vr));
        }
    }

    /// <summary>Re-encodes every text value affected by the character set (here and in sequence items) into
    /// <paramref name="term"/>, which must be "ISO_IR 192" (UTF-8) or "GB18030": the sets we write (both can hold
    /// any Unicode text). Sets (0008,0005) accordingly and drops it from items, which then inherit it.</summary>
    public void ConvertCharacterSet(string term)
    {
        if (term is not ("ISO_IR 192" or "GB18030")) throw new ArgumentException("we write text in ISO_IR 192 or GB18030", nameof(term));
        var target = DicomCharacterSet.Parse([term]);
        Reencode(this, target);
        AddOrUpdate(SpecificCharacterSetTag, DicomVR.CS, term);

        static void Reencode(DicomDataset ds, DicomCharacterSet target)
        {
            var source = ds.CharacterSet;
            for (int i = 0; i < ds._items.Count; i++)
            {
                switch (ds._items[i])
                {
                    case DicomElement e when e.VR.IsAffectedBySpecificCharacterSet():
                        var text = source.Decode(e.Data.Span, e.VR);
                        var bytes = target.Encode(text, e.VR);
                        if ((bytes.Length & 1) == 1) { Array.Resize(ref bytes, bytes.Length + 1); bytes[^1] = e.VR.PaddingByte(); }
                        ds._items[i] = new DicomElement(e.Tag, e.VR, bytes);
                        break;
                    case DicomSequence sq:
                        foreach (var item in sq.Items) Reencode(item, target);
                        break;
                }
            }
            if (ds.Parent is not null) ds.Remove(SpecificCharacterSetTag);
            ds._charset = null;
        }
    }

    /// <summary>A deep copy (values share the underlying immutable bytes).</summary>
    public DicomDataset Clone()
    {
        var copy = new DicomDataset(_items.Count) { FallbackEncoding = FallbackEncoding };
        foreach (var item in _items)
        {
            copy._items.Add(item switch
            {
                DicomSequence sq => new DicomSequence(sq.Tag, sq.Items.Select(i => i.Clone())),
                DicomElement e => new DicomElement(e.Tag, e.VR, e.Data) { BulkDataUri = e.BulkDataUri },
                DicomFragmentSequence f => new DicomFragmentSequence(f.Tag, f.VR, f.OffsetTable, f.Fragments),
                _ => item,
            });
        }
        foreach (var sq in copy._items.OfType<DicomSequence>()) foreach (var ds in sq.Items) ds.Parent = copy;
        return copy;
    }
}
