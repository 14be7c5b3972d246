using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace QcPipeline.Dicom.Json;

/// <summary>The DICOM JSON model (PS3.18 Annex F): datasets to and from application/dicom+json.</summary>
/// <remarks>
/// Writing: attributes in tag order, group lengths left out, text decoded through the dataset's character set
/// (the (0008,0005) value itself is written unchanged). IS/DS are JSON numbers when their text is a valid number
/// (DS forms such as "+1" or ".5" are rewritten digit for digit), else the original string (F.2.3 note). SV/UV
/// beyond ±(2^53−1) are strings. FL/FD NaN and infinities, which JSON cannot hold, are the strings "NaN",
/// "Infinity", "-Infinity". Encapsulated pixel data is a BulkDataURI when the factory gives one, else InlineBinary of its
/// encapsulated Value Field (PS3.5 §A.4 items and the Sequence Delimitation Item), see F.2.7.
/// <para>Reading: text is stored as UTF-8; when any value of a VR affected by the character set is not ASCII, (0008,0005)
/// becomes ISO_IR 192 (in the top dataset and in any item that declares its own). A BulkDataURI is fetched with the
/// resolver; without one the element is kept empty and the URI is remembered (<see cref="TryGetBulkDataUri"/>) and written
/// back by the writer.</para>
/// </remarks>
public static class DicomJson
{

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 512 };

    // ------------------------------------------------------------------ writing

    /// <summary>Writes one DICOM JSON object.</summary>
    public static void Write(Utf8JsonWriter writer, DicomDataset ds, DicomJsonOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(ds);
        new DicomJsonWriter(writer, options ?? DicomJsonOptions.Default).WriteDataset(ds);
    }

    /// <summary>Writes a JSON array of DICOM JSON objects (the form of QIDO-RS results and WADO-RS metadata).</summary>
    public static void WriteArray(Utf8JsonWriter writer, IEnumerable<DicomDataset> datasets, DicomJsonOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(datasets);
        var w = new DicomJsonWriter(writer, options ?? DicomJsonOptions.Default);
        writer.WriteStartArray();
        foreach (var ds in datasets) w.WriteDataset(ds);
        writer.WriteEndArray();
    }

    public static string Serialize(DicomDataset ds, DicomJsonOptions? options = null) => Encoding.UTF8.GetString(SerializeToUtf8Bytes(ds, options));

    public static byte[] SerializeToUtf8Bytes(DicomDataset ds, DicomJsonOptions? options = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = CreateWriter(buffer, options)) Write(writer, ds, options);
        return buffer.WrittenSpan.ToArray();
    }

    public static string SerializeArray(IEnumerable<DicomDataset> datasets, DicomJsonOptions? options = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = CreateWriter(buffer, options)) WriteArray(writer, datasets, options);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A writer as this class uses it: UTF-8 text left unescaped (application/dicom+json is not embedded in HTML).</summary>
    public static Utf8JsonWriter CreateWriter(IBufferWriter<byte> output, DicomJsonOptions? options = null) =>
        new(output, new JsonWriterOptions { Indented = options?.Indented ?? false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false });

    // ------------------------------------------------------------------ reading

    /// <summary>Reads one DICOM JSON object.</summary>
    public static DicomDataset Deserialize(string json, Func<string, ReadOnlyMemory<byte>>? bulkDataResolver = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var doc = Parse(json);
        return ReadObject(doc.RootElement, bulkDataResolver);
    }

    /// <summary>Reads one DICOM JSON object from UTF-8 bytes.</summary>
    public static DicomDataset Deserialize(ReadOnlySpan<byte> utf8Json, Func<string, ReadOnlyMemory<byte>>? bulkDataResolver = null)
    {
        using var doc = Parse(utf8Json);
        return ReadObject(doc.RootElement, bulkDataResolver);
    }

    /// <summary>Reads a JSON array of DICOM JSON objects (QIDO-RS results, WADO-RS metadata).</summary>
    public static List<DicomDataset> DeserializeArray(string json, Func<string, ReadOnlyMemory<byte>>? bulkDataResolver = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var doc = Parse(json);
        return ReadArray(doc.RootElement, bulkDataResolver);
    }

    public static List<DicomDataset> DeserializeArray(ReadOnlySpan<byte> utf8Json, Func<string, ReadOnlyMemory<byte>>? bulkDataResolver = null)
    {
        using var doc = Parse(utf8Json);
        return ReadArray(doc.RootElement, bulkDataResolver);
    }

    /// <summary>Reads from an already parsed JSON object.</summary>
    public static DicomDataset ReadObject(JsonElement element, Func<string, ReadOnlyMemory<byte>>? bulkDataResolver = null) =>
        new DicomJsonReader(bulkDataResolver).ReadRoot(element);

    private static List<DicomDataset> ReadArray(JsonElement root, Func<string, ReadOnlyMemory<byte>>? resolver)
    {
        if (root.ValueKind != JsonValueKind.Array) throw new DicomJsonException($"expected a JSON array of DICOM JSON objects, found {root.ValueKind}");
        var result = new List<DicomDataset>(root.GetArrayLength());
        int i = 0;
        foreach (var e in root.EnumerateArray())
        {
            try { result.Add(new DicomJsonReader(resolver).ReadRoot(e)); }
            catch (DicomJsonException ex) { throw new DicomJsonException($"dataset [{i}]: {ex.Message}", ex); }
            i++;
        }
        return result;
    }

    private static JsonDocument Parse(string json)
    {
        try { return JsonDocument.Parse(json, DocumentOptions); }
        catch (JsonException ex) { throw NotJson(ex); }
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
        JsonDocument? doc = null;
        try
        {
            doc = JsonDocument.ParseValue(ref reader);
            if (reader.Read()) throw new DicomJsonException($"not valid JSON: unexpected content after the end of the value at byte {reader.TokenStartIndex}");
            return doc;
        }
        catch (JsonException ex) { doc?.Dispose(); throw NotJson(ex); }
        catch { doc?.Dispose(); throw; }
    }

    private static DicomJsonException NotJson(JsonException ex) =>
        new($"not valid JSON (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1}): {ex.Message}", ex);

    // ------------------------------------------------------------------ bulk data references

    /// <summary>The BulkDataURI of an element read without a resolver (its value is empty until fetched).</summary>
    public static bool TryGetBulkDataUri(DicomElement element, out string uri)
    {
        uri = element.BulkDataUri!;
        return uri is not null;
    }

    internal static void RememberBulkDataUri(DicomElement element, string uri) => element.BulkDataUri = uri;

    /// <summary>An element without its value that the writer emits as <c>{"vr": ..., "BulkDataURI": uri}</c> (PS3.18 F.2.6):
    /// for a value that was never read into memory, such as the Pixel Data of a header-only read that a WADO-RS metadata
    /// response points to.</summary>
    public static DicomElement CreateBulkDataReference(DicomTag tag, DicomVR vr, string uri)
    {
        ArgumentException.ThrowIfNullOrEmpty(uri);
        return new DicomElement(tag, vr, ReadOnlyMemory<byte>.Empty) { BulkDataUri = uri };
    }
}
