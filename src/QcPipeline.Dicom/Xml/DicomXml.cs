using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Xml;

namespace QcPipeline.Dicom.Xml;

/// <summary>Options of <see cref="DicomXml"/>.</summary>
public sealed record DicomXmlOptions
{
    public static DicomXmlOptions Default { get; } = new();

    /// <summary>Binary values (OB, OW, OF, ...) longer than this become a BulkData reference when
    /// <see cref="BulkDataUriFactory"/> gives one; otherwise they are written as InlineBinary.</summary>
    public int BulkDataThreshold { get; init; } = 1024;

    /// <summary>URI of a large binary value (BulkData uri=), or null to write it inline.</summary>
    public Func<DicomItem, string?>? BulkDataUriFactory { get; init; }

    /// <summary>Write the keyword attribute of standard attributes (PS3.6 keyword).</summary>
    public bool WriteKeywords { get; init; } = true;

    /// <summary>Indent the output (for people reading it; a recipient ignores the whitespace between elements).</summary>
    public bool Indented { get; init; }
}

/// <summary>The Native DICOM Model of PS3.19 §A.1 (the XML of application/dicom+xml in PS3.18): a
/// <c>NativeDicomModel</c> root holding one <c>DicomAttribute</c> per attribute (tag, vr, keyword, privateCreator), with
/// <c>Value number=</c>, <c>PersonName number=</c> (Alphabetic/Ideographic/Phonetic with FamilyName, GivenName, MiddleName,
/// NamePrefix, NameSuffix), <c>Item number=</c> for sequence items, and <c>InlineBinary</c> (Base64) or <c>BulkData uri=</c>.</summary>
/// <remarks>Group lengths are left out (PS3.19 §A.1.1). Text is decoded through the data set's character set and
/// written as UTF-8. Characters XML 1.0 cannot carry (C0 controls other than TAB, CR, LF; unpaired surrogates) are
/// written as U+FFFD, so a stray control byte in a value never makes the document unreadable.</remarks>
public static class DicomXml
{
    /// <summary>PS3.19 §A.1.6: the namespace of the Native DICOM Model schema.</summary>
    public const string Namespace = "http://dicom.nema.org/PS3.19/models/NativeDICOM";

    public static void Write(Stream output, DicomDataset ds, DicomXmlOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(ds);
        options ??= DicomXmlOptions.Default;
        var settings = new XmlWriterSettings
        {
            Encoding = new UTF8Encoding(false),
            Indent = options.Indented,
            CloseOutput = false,
            CheckCharacters = true,
            // A CR in a value (LT, ST, UT lines end with CR LF) is written as &#xD; so a reader gets the value back unchanged
            // (XML parsers turn a literal CR LF into LF).
            NewLineHandling = NewLineHandling.Entitize,
        };
        using var w = XmlWriter.Create(output, settings);
        w.WriteStartDocument();
        w.WriteStartElement("NativeDicomModel", Namespace);
        // PS3.19 Table A.1.5-1: the directive xml:space="preserve" shall be included.
        w.WriteAttributeString("xml", "space", null, "preserve");
        new Writer(w, options).WriteAttributes(ds);
        w.WriteEndElement();
        w.WriteEndDocument();
    }

    public static byte[] SerializeToUtf8Bytes(DicomDataset ds, DicomXmlOptions? options = null)
    {
        using var ms = new MemoryStream();
        Write(ms, ds, options);
        return ms.ToArray();
    }

    public static string Serialize(DicomDataset ds, DicomXmlOptions? options = null) => Encoding.UTF8.GetString(SerializeToUtf8Bytes(ds, options));

    /// <summary>Replaces characters XML 1.0 does not allow with U+FFFD.</summary>
    internal static string Clean(string s)
    {
        int i = 0;
        for (; i < s.Length; i++) if (!IsXmlChar(s, i)) break;
        if (i == s.Length) return s;
        var sb = new StringBuilder(s.Length);
        for (int j = 0; j < s.Length; j++)
        {
            if (char.IsHighSurrogate(s[j]) && j + 1 < s.Length && char.IsLowSurrogate(s[j + 1])) { sb.Append(s[j]).Append(s[j + 1]); j++; continue; }
            sb.Append(IsXmlChar(s, j) ? s[j] : '\uFFFD');
        }
        return sb.ToString();
    }

    private static bool IsXmlChar(string s, int i)
    {
        char c = s[i];
        if (c < 0x20) return c is '\t' or '\n' or '\r';
        if (char.IsHighSurrogate(c)) return i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]);
        if (char.IsLowSurrogate(c)) return i > 0 && char.IsHighSurrogate(s[i - 1]);
        return c is not ('\uFFFE' or '\uFFFF');
    }

    private sealed class Writer(XmlWriter w, DicomXmlOptions options)
    {
        private int _depth;

        public void WriteAttributes(DicomDataset ds)
        {
            if (++_depth > 256) throw new DicomFormatException("sequences nested more than 256 deep");
            foreach (var item in ds)
            {
                if (item.Tag.IsGroupLength) continue;
                WriteAttribute(ds, item);
            }
            _depth--;
        }

        private void WriteAttribute(DicomDataset ds, DicomItem item)
        {
            var vr = item.VR == DicomVR.None ? DicomVR.UN : item.VR;
            w.WriteStartElement("DicomAttribute", Namespace);
            // PS3.19 Table A.1.5-2: a private data element is named by its private creator and its element number within
            // the block (gggg00ee), not by the block the file happened to reserve (gggg10ee, gggg11ee, ...), so the same
            // private attribute has the same tag in every document. DCMTK's dcm2xml writes the same.
            string? creator = item.Tag.IsPrivate && !item.Tag.IsPrivateCreator ? ds.GetString(item.Tag.PrivateCreatorTag) : null;
            uint tag = creator is { Length: > 0 } ? item.Tag.Value & 0xFFFF00FF : item.Tag.Value;
            w.WriteAttributeString("tag", tag.ToString("X8", CultureInfo.InvariantCulture));
            w.WriteAttributeString("vr", vr.Code());
            if (item.Tag.IsPrivate)
            {
                if (creator is { Length: > 0 }) w.WriteAttributeString("privateCreator", Clean(creator));
            }
            else if (options.WriteKeywords && DicomDictionary.GetKeyword(item.Tag) is { Length: > 0 } keyword)
            {
                w.WriteAttributeString("keyword", keyword);
            }

            switch (item)
            {
                case DicomSequence sq:
                    for (int i = 0; i < sq.Items.Count; i++)
                    {
                        w.WriteStartElement("Item", Namespace);
                        w.WriteAttributeString("number", (i + 1).ToString(CultureInfo.InvariantCulture));
                        WriteAttributes(sq.Items[i]);
                        w.WriteEndElement();
                    }
                    break;
                case DicomFragmentSequence f:
                    if (options.BulkDataUriFactory?.Invoke(f) is { } fragUri) WriteBulkData(fragUri);
                    else WriteInline(Json.Encapsulation.Encode(f));
                    break;
                case DicomElement e:
                    WriteElement(ds, e, vr);
                    break;
                default:
                    throw new DicomFormatException($"{item.Tag}: cannot write a {item.GetType().Name}");
            }
            w.WriteEndElement();
        }

        private void WriteElement(DicomDataset ds, DicomElement e, DicomVR vr)
        {
            if (e.Length == 0) return; // present, no value: an empty DicomAttribute
            var span = e.Data.Span;
            switch (vr)
            {
                case DicomVR.OB or DicomVR.OD or DicomVR.OF or DicomVR.OL or DicomVR.OV or DicomVR.OW or DicomVR.UN:
                    if (e.Length > options.BulkDataThreshold && options.BulkDataUriFactory?.Invoke(e) is { } uri) WriteBulkData(uri);
                    else WriteInline(span);
                    return;
                case DicomVR.US or DicomVR.SS or DicomVR.UL or DicomVR.SL or DicomVR.FL or DicomVR.FD or DicomVR.SV or DicomVR.UV:
                    WriteNumbers(span, vr);
                    return;
                case DicomVR.AT:
                    for (int i = 0, n = 1; i + 4 <= span.Length; i += 4, n++)
                    {
                        uint tag = ((uint)BinaryPrimitives.ReadUInt16LittleEndian(span[i..]) << 16) | BinaryPrimitives.ReadUInt16LittleEndian(span[(i + 2)..]);
                        WriteValue(n, tag.ToString("X8", CultureInfo.InvariantCulture));
                    }
                    return;
            }
            if (!vr.IsString()) throw new DicomFormatException($"{e.Tag}: VR {vr.Code()} has no Native DICOM Model encoding");
            var values = ds.GetStrings(e.Tag);
            for (int i = 0; i < values.Length; i++)
            {
                // An empty value among several keeps its number by being left out (the numbers say which one is missing).
                if (values[i].Length == 0) continue;
                if (vr == DicomVR.PN) WritePersonName(i + 1, values[i]);
                else WriteValue(i + 1, values[i]);
            }
        }

        private void WriteValue(int number, string text)
        {
            w.WriteStartElement("Value", Namespace);
            w.WriteAttributeString("number", number.ToString(CultureInfo.InvariantCulture));
            w.WriteString(Clean(text));
            w.WriteEndElement();
        }

        private static readonly string[] GroupNames = ["Alphabetic", "Ideographic", "Phonetic"];
        private static readonly string[] ComponentNames = ["FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix"];

        private void WritePersonName(int number, string value)
        {
            var groups = value.Split('=');
            w.WriteStartElement("PersonName", Namespace);
            w.WriteAttributeString("number", number.ToString(CultureInfo.InvariantCulture));
            for (int g = 0; g < groups.Length && g < GroupNames.Length; g++)
            {
                var components = groups[g].Split('^');
                if (components.All(c => c.Length == 0)) continue;
                w.WriteStartElement(GroupNames[g], Namespace);
                for (int c = 0; c < components.Length && c < ComponentNames.Length; c++)
                {
                    if (components[c].Length == 0) continue;
                    w.WriteElementString(ComponentNames[c], Namespace, Clean(components[c]));
                }
                w.WriteEndElement();
            }
            w.WriteEndElement();
        }

        private void WriteNumbers(ReadOnlySpan<byte> span, DicomVR vr)
        {
            int size = vr.BinaryUnitSize();
            var inv = CultureInfo.InvariantCulture;
            for (int i = 0, n = 1; i + size <= span.Length; i += size, n++)
            {
                var s = span[i..];
                string text = vr switch
                {
                    DicomVR.US => BinaryPrimitives.ReadUInt16LittleEndian(s).ToString(inv),
                    DicomVR.SS => BinaryPrimitives.ReadInt16LittleEndian(s).ToString(inv),
                    DicomVR.UL => BinaryPrimitives.ReadUInt32LittleEndian(s).ToString(inv),
                    DicomVR.SL => BinaryPrimitives.ReadInt32LittleEndian(s).ToString(inv),
                    DicomVR.FL => BinaryPrimitives.ReadSingleLittleEndian(s).ToString("R", inv),
                    DicomVR.FD => BinaryPrimitives.ReadDoubleLittleEndian(s).ToString("R", inv),
                    DicomVR.SV => BinaryPrimitives.ReadInt64LittleEndian(s).ToString(inv),
                    _ => BinaryPrimitives.ReadUInt64LittleEndian(s).ToString(inv),
                };
                WriteValue(n, text);
            }
        }

        private void WriteInline(ReadOnlySpan<byte> bytes)
        {
            w.WriteStartElement("InlineBinary", Namespace);
            w.WriteString(Convert.ToBase64String(bytes));
            w.WriteEndElement();
        }

        private void WriteBulkData(string uri)
        {
            w.WriteStartElement("BulkData", Namespace);
            w.WriteAttributeString("uri", uri);
            w.WriteEndElement();
        }
    }
}
