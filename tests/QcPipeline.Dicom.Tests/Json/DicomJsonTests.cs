using System.Text.Json;
using QcPipeline.Dicom.Json;

namespace QcPipeline.Dicom.Tests.Json;

/// <summary>The rules of PS3.18 Annex F, one at a time.</summary>
public class DicomJsonTests
{
    private static readonly DicomTag PatientName = new(0x00100010);
    private static readonly DicomTag PixelData = new(0x7FE00010);

    private static JsonElement Attr(DicomDataset ds, uint tag, DicomJsonOptions? options = null)
    {
        using var doc = JsonDocument.Parse(DicomJson.Serialize(ds, options));
        return doc.RootElement.GetProperty(tag.ToString("X8", System.Globalization.CultureInfo.InvariantCulture)).Clone();
    }

    private static DicomDataset With(uint tag, DicomVR vr, string raw)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomElement(new DicomTag(tag), vr, System.Text.Encoding.ASCII.GetBytes(raw)));
        return ds;
    }

    [Theory]
    [InlineData("1.0", "1.0")]
    [InlineData("+1", "1")]
    [InlineData(".5", "0.5")]
    [InlineData("-.5", "-0.5")]
    [InlineData("1.", "1")]
    [InlineData("007.50", "7.50")]
    [InlineData("1E+05", "1e+05")]
    [InlineData("-0", "-0")]
    [InlineData(" 12.25 ", "12.25")]
    public void DS_values_become_JSON_numbers_digit_for_digit(string ds, string json)
    {
        var a = Attr(With(0x00180050, DicomVR.DS, ds.Length % 2 == 1 ? ds + " " : ds), 0x00180050);
        var v = a.GetProperty("Value")[0];
        Assert.Equal(JsonValueKind.Number, v.ValueKind);
        Assert.Equal(json, v.GetRawText());
    }

    [Fact]
    public void DS_and_IS_that_are_not_numbers_stay_strings_and_read_back()
    {
        var ds = With(0x00180050, DicomVR.DS, "abc ");
        ds.AddOrUpdate(new DicomElement(new DicomTag(0x00280008), DicomVR.IS, "1A"u8.ToArray()));
        var json = DicomJson.Serialize(ds);
        Assert.Contains("\"Value\":[\"abc\"]", json, StringComparison.Ordinal);
        Assert.Contains("\"Value\":[\"1A\"]", json, StringComparison.Ordinal);
        var back = DicomJson.Deserialize(json);
        Assert.Equal("abc", back.GetString(new DicomTag(0x00180050)));
        Assert.Equal("1A", back.GetString(new DicomTag(0x00280008)));
    }

    [Fact]
    public void Empty_element_has_only_vr_and_empty_values_among_several_are_null()
    {
        var ds = With(0x00080008, DicomVR.CS, "A\\\\B ");
        ds.AddOrUpdate(new DicomElement(new DicomTag(0x00080050), DicomVR.SH, ReadOnlyMemory<byte>.Empty));
        ds.AddOrUpdate(new DicomElement(new DicomTag(0x00200032), DicomVR.DS, "1\\\\3 "u8.ToArray()));
        var json = DicomJson.Serialize(ds);
        Assert.Contains("\"00080008\":{\"vr\":\"CS\",\"Value\":[\"A\",null,\"B\"]}", json, StringComparison.Ordinal);
        Assert.Contains("\"00080050\":{\"vr\":\"SH\"}", json, StringComparison.Ordinal);
        Assert.Contains("\"00200032\":{\"vr\":\"DS\",\"Value\":[1,null,3]}", json, StringComparison.Ordinal);
        var back = DicomJson.Deserialize(json);
        Assert.Equal(["A", "", "B"], back.GetStrings(new DicomTag(0x00080008)));
        Assert.Equal(0, back.GetElement(new DicomTag(0x00080050))!.Length);
    }

    [Fact]
    public void Person_name_groups_are_objects()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomTag(0x00080005), DicomVR.CS, "ISO_IR 192");
        ds.AddOrUpdate(PatientName, DicomVR.PN, "Yamada^Tarou=山田^太郎=やまだ^たろう", "Doe^John");
        var a = Attr(ds, 0x00100010);
        Assert.Equal("Yamada^Tarou", a.GetProperty("Value")[0].GetProperty("Alphabetic").GetString());
        Assert.Equal("山田^太郎", a.GetProperty("Value")[0].GetProperty("Ideographic").GetString());
        Assert.Equal("やまだ^たろう", a.GetProperty("Value")[0].GetProperty("Phonetic").GetString());
        Assert.False(a.GetProperty("Value")[1].TryGetProperty("Ideographic", out _));

        var back = DicomJson.Deserialize(DicomJson.Serialize(ds));
        Assert.Equal(["Yamada^Tarou=山田^太郎=やまだ^たろう", "Doe^John"], back.GetStrings(PatientName));
    }

    [Fact]
    public void Ideographic_only_name_keeps_an_empty_alphabetic_group()
    {
        var back = DicomJson.Deserialize("{\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Ideographic\":\"山田\"}]}}");
        Assert.Equal("=山田", back.GetString(PatientName));
    }

    [Fact]
    public void Non_ASCII_text_is_stored_as_UTF8_with_ISO_IR_192()
    {
        var json = "{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 100\"]},\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"Müller^Jörg\"}]}," +
                   "\"00081115\":{\"vr\":\"SQ\",\"Value\":[{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO 2022 IR 87\"]},\"00100020\":{\"vr\":\"LO\",\"Value\":[\"x\"]}}]}}";
        var ds = DicomJson.Deserialize(json);
        Assert.Equal("ISO_IR 192", ds.GetString(new DicomTag(0x00080005)));
        Assert.Equal("ISO_IR 192", ds.GetSequence(new DicomTag(0x00081115))!.Items[0].GetString(new DicomTag(0x00080005)));
        Assert.Equal("Müller^Jörg "u8.ToArray(), ds.GetElement(PatientName)!.Data.ToArray()); // UTF-8, padded to even length
        Assert.Equal("Müller^Jörg", ds.GetString(PatientName));
    }

    [Fact]
    public void ASCII_text_keeps_the_declared_character_set()
    {
        var ds = DicomJson.Deserialize("{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 100\"]},\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"Doe\"}]}}");
        Assert.Equal("ISO_IR 100", ds.GetString(new DicomTag(0x00080005)));
        Assert.Equal("Doe "u8.ToArray(), ds.GetElement(PatientName)!.Data.ToArray());
    }

    [Fact]
    public void Latin1_dataset_is_written_as_Unicode()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomElement(new DicomTag(0x00080005), DicomVR.CS, "ISO_IR 100"u8.ToArray()));
        ds.AddOrUpdate(new DicomElement(PatientName, DicomVR.PN, new byte[] { (byte)'M', 0xFC, (byte)'l', (byte)'l', (byte)'e', (byte)'r' }));
        Assert.Equal("Müller", Attr(ds, 0x00100010).GetProperty("Value")[0].GetProperty("Alphabetic").GetString());
        Assert.Contains("Müller", DicomJson.Serialize(ds), StringComparison.Ordinal); // not \u00FC-escaped
    }

    [Fact]
    public void Binary_numbers_AT_and_very_long_integers()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomTag(0x00280010), DicomVR.US, (ushort)512);
        ds.AddOrUpdate(new DicomTag(0x00189219), DicomVR.SS, (short)-3, (short)4);
        ds.AddOrUpdate(new DicomTag(0x00209165), DicomVR.AT, (ushort)0x0018, (ushort)0x9219, (ushort)0x7FE0, (ushort)0x0010);
        ds.AddOrUpdate(new DicomTag(0x00720082), DicomVR.SV, long.MinValue, 42L);
        ds.AddOrUpdate(new DicomTag(0x00720083), DicomVR.UV, ulong.MaxValue, (1UL << 53) - 1);
        ds.AddOrUpdate(new DicomTag(0x00189218), DicomVR.FL, float.NaN, 0.1f);
        ds.AddOrUpdate(new DicomTag(0x00189217), DicomVR.FD, double.NegativeInfinity, 1.0 / 3);
        var json = DicomJson.Serialize(ds);
        Assert.Contains("\"00280010\":{\"vr\":\"US\",\"Value\":[512]}", json, StringComparison.Ordinal);
        Assert.Contains("\"Value\":[-3,4]", json, StringComparison.Ordinal);
        Assert.Contains("\"Value\":[\"00189219\",\"7FE00010\"]", json, StringComparison.Ordinal);
        Assert.Contains("\"Value\":[\"-9223372036854775808\",42]", json, StringComparison.Ordinal);
        Assert.Contains("\"Value\":[\"18446744073709551615\",9007199254740991]", json, StringComparison.Ordinal);
        Assert.Contains("\"Value\":[\"NaN\",0.1]", json, StringComparison.Ordinal);

        var back = DicomJson.Deserialize(json);
        foreach (var item in ds)
            Assert.Equal(((DicomElement)item).Data.ToArray(), back.GetElement(item.Tag)!.Data.ToArray());
    }

    [Fact]
    public void Numbers_written_as_reals_or_strings_are_accepted()
    {
        var ds = DicomJson.Deserialize("{\"00280010\":{\"vr\":\"US\",\"Value\":[512.0]},\"00280011\":{\"vr\":\"US\",\"Value\":[\"256\"]},\"00200013\":{\"vr\":\"IS\",\"Value\":[3.0]}}");
        Assert.Equal(512, ds.GetInt32OrDefault(new DicomTag(0x00280010)));
        Assert.Equal(256, ds.GetInt32OrDefault(new DicomTag(0x00280011)));
        Assert.Equal("3", ds.GetString(new DicomTag(0x00200013)));
    }

    [Fact]
    public void Group_lengths_are_left_out_and_private_tags_kept()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomTag(0x00080000), DicomVR.UL, 10u);
        ds.AddOrUpdate(new DicomTag(0x00090010), DicomVR.LO, "ACME 1.0");
        ds.AddOrUpdate(new DicomElement(new DicomTag(0x00091001), DicomVR.UN, new byte[] { 1, 2, 3, 4 }));
        var json = DicomJson.Serialize(ds);
        Assert.DoesNotContain("00080000", json, StringComparison.Ordinal);
        Assert.Contains("\"00090010\":{\"vr\":\"LO\",\"Value\":[\"ACME 1.0\"]}", json, StringComparison.Ordinal);
        Assert.Contains("\"00091001\":{\"vr\":\"UN\",\"InlineBinary\":\"AQIDBA==\"}", json, StringComparison.Ordinal);
        Assert.False(DicomJson.Deserialize("{\"00080000\":{\"vr\":\"UL\",\"Value\":[4]}}").Contains(new DicomTag(0x00080000)));
    }

    [Fact]
    public void Sequences_with_empty_items_and_empty_sequences()
    {
        var item = new DicomDataset();
        item.AddOrUpdate(new DicomTag(0x00081150), DicomVR.UI, "1.2.3");
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomSequence(new DicomTag(0x00081115), [item, new DicomDataset()]));
        ds.AddOrUpdate(new DicomSequence(new DicomTag(0x00081140)));
        var json = DicomJson.Serialize(ds);
        Assert.Contains("\"00081115\":{\"vr\":\"SQ\",\"Value\":[{\"00081150\":{\"vr\":\"UI\",\"Value\":[\"1.2.3\"]}},{}]}", json, StringComparison.Ordinal);
        Assert.Contains("\"00081140\":{\"vr\":\"SQ\"}", json, StringComparison.Ordinal);
        var back = DicomJson.Deserialize(json);
        Assert.Equal(2, back.GetSequence(new DicomTag(0x00081115))!.Items.Count);
        Assert.Empty(back.GetSequence(new DicomTag(0x00081140))!.Items);
        Assert.Same(back, back.GetSequence(new DicomTag(0x00081115))!.Items[0].Parent);
    }

    [Fact]
    public void Bulk_data_above_the_threshold_gets_a_URI_with_its_path()
    {
        var item = new DicomDataset();
        item.AddOrUpdate(new DicomElement(new DicomTag(0x00660040), DicomVR.OL, new byte[4096]));
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomSequence(new DicomTag(0x00660002), [item]));
        ds.AddOrUpdate(new DicomElement(new DicomTag(0x00282000), DicomVR.OB, new byte[16]));
        var options = new DicomJsonOptions { BulkDataThreshold = 100, BulkDataUriFactory = c => "https://pacs/bulk/" + c.Path };
        var json = DicomJson.Serialize(ds, options);
        Assert.Contains("\"00660040\":{\"vr\":\"OL\",\"BulkDataURI\":\"https://pacs/bulk/00660002/0/00660040\"}", json, StringComparison.Ordinal);
        Assert.Contains("\"00282000\":{\"vr\":\"OB\",\"InlineBinary\":", json, StringComparison.Ordinal); // below the threshold

        // without a resolver the element is empty and remembers its URI, which is written again
        var marker = DicomJson.Deserialize(json);
        var ol = marker.GetSequence(new DicomTag(0x00660002))!.Items[0].GetElement(new DicomTag(0x00660040))!;
        Assert.Equal(0, ol.Length);
        Assert.True(DicomJson.TryGetBulkDataUri(ol, out var uri));
        Assert.Equal("https://pacs/bulk/00660002/0/00660040", uri);
        Assert.Equal(json, DicomJson.Serialize(marker));

        // with a resolver the bytes are fetched
        var resolved = DicomJson.Deserialize(json, u => u.EndsWith("00660040", StringComparison.Ordinal) ? new byte[4096] : throw new InvalidOperationException(u));
        Assert.Equal(4096, resolved.GetSequence(new DicomTag(0x00660002))!.Items[0].GetElement(new DicomTag(0x00660040))!.Length);
    }

    [Fact]
    public void Factory_returning_null_writes_inline()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomElement(PixelData, DicomVR.OW, new byte[4096]));
        var json = DicomJson.Serialize(ds, new DicomJsonOptions { BulkDataThreshold = 0, BulkDataUriFactory = _ => null });
        Assert.Contains("InlineBinary", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Encapsulated_pixel_data_is_a_bulk_data_URI_or_the_inline_encapsulated_value_field()
    {
        using var file = DicomFile.Open(TestFiles.Pydicom("SC_rgb_rle_2frame.dcm"));
        var frags = Assert.IsType<DicomFragmentSequence>(file.Dataset[PixelData]);

        var withUri = DicomJson.Serialize(file.Dataset, new DicomJsonOptions { BulkDataUriFactory = c => c.Item is DicomFragmentSequence ? "frames" : null });
        Assert.Contains("\"7FE00010\":{\"vr\":\"OB\",\"BulkDataURI\":\"frames\"}", withUri, StringComparison.Ordinal);

        var inline = Attr(file.Dataset, 0x7FE00010).GetProperty("InlineBinary").GetBytesFromBase64();
        Assert.Equal(new byte[] { 0xFE, 0xFF, 0x00, 0xE0 }, inline[..4]); // Basic Offset Table item first
        Assert.Equal(new byte[] { 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0 }, inline[^8..]); // Sequence Delimitation Item last
        var back = Assert.IsType<DicomFragmentSequence>(DicomJson.Deserialize(DicomJson.Serialize(file.Dataset))[PixelData]);
        Assert.Equal(frags.Fragments.Count, back.Fragments.Count);
        for (int i = 0; i < frags.Fragments.Count; i++) Assert.True(frags.Fragments[i].Span.SequenceEqual(back.Fragments[i].Span));
    }

    [Fact]
    public void Native_pixel_data_is_not_mistaken_for_fragments()
    {
        var ds = DicomJson.Deserialize("{\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":\"/v8A4AQAAAAAAAAA\"}}"); // an item, but no delimiter
        Assert.IsType<DicomElement>(ds[PixelData]);
    }

    [Fact]
    public void Arrays_for_QIDO_results()
    {
        var a = new DicomDataset();
        a.AddOrUpdate(new DicomTag(0x0020000D), DicomVR.UI, "1.2.3");
        var b = new DicomDataset();
        b.AddOrUpdate(new DicomTag(0x0020000D), DicomVR.UI, "1.2.4");
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = DicomJson.CreateWriter(buffer)) DicomJson.WriteArray(w, [a, b]);
        var list = DicomJson.DeserializeArray(buffer.WrittenSpan);
        Assert.Equal(["1.2.3", "1.2.4"], list.Select(d => d.GetString(new DicomTag(0x0020000D))));
        Assert.Equal(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan), DicomJson.SerializeArray([a, b]));
    }

    [Fact]
    public void Keywords_are_an_opt_in_extra_that_the_reader_ignores()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(PatientName, DicomVR.PN, "Doe");
        var json = DicomJson.Serialize(ds, new DicomJsonOptions { WriteKeywords = true, KeywordLookup = t => t == PatientName ? "PatientName" : null, Indented = true });
        Assert.Contains("\"keyword\": \"PatientName\"", json, StringComparison.Ordinal);
        Assert.Equal("Doe", DicomJson.Deserialize(json).GetString(PatientName));
        Assert.DoesNotContain("keyword", DicomJson.Serialize(ds), StringComparison.Ordinal);
    }

    [Fact]
    public void A_bulk_data_reference_without_a_value_is_written_as_its_BulkDataURI_and_read_back_as_one()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(DicomJson.CreateBulkDataReference(PixelData, DicomVR.OW, "https://qc/studies/1/series/2/instances/3/bulkdata/7FE00010"));
        var json = DicomJson.Serialize(ds);
        Assert.Equal("{\"7FE00010\":{\"vr\":\"OW\",\"BulkDataURI\":\"https://qc/studies/1/series/2/instances/3/bulkdata/7FE00010\"}}", json);
        var back = DicomJson.Deserialize(json);
        Assert.True(DicomJson.TryGetBulkDataUri(back.GetElement(PixelData)!, out var uri));
        Assert.Equal("https://qc/studies/1/series/2/instances/3/bulkdata/7FE00010", uri);
        Assert.Throws<ArgumentException>(() => DicomJson.CreateBulkDataReference(PixelData, DicomVR.OW, ""));
    }
}
