using System.Text;
using QcPipeline.Dicom.CharacterSets;
using static QcPipeline.Dicom.Tests.CharacterSets.B;

namespace QcPipeline.Dicom.Tests.CharacterSets;

public class DicomCharacterSetTests
{
    [Fact]
    public void Empty_or_iso_ir_6_is_the_default_repertoire()
    {
        Assert.Same(DicomCharacterSet.Default, DicomCharacterSet.Parse([]));
        Assert.Same(DicomCharacterSet.Default, DicomCharacterSet.Parse([""]));
        Assert.False(DicomCharacterSet.Parse(["ISO_IR 6"]).IsIso2022);
        Assert.Equal("Doe^John", DicomCharacterSet.Default.Decode(A("Doe^John"), DicomVR.PN));
    }

    [Fact]
    public void Terms_are_trimmed_and_case_insensitive()
    {
        var set = DicomCharacterSet.Parse([" iso_ir 100 "]);
        Assert.Equal(["ISO_IR 100"], set.Terms);
        Assert.Equal("Jérôme", set.Decode(H(0x4A, 0xE9, 0x72, 0xF4, 0x6D, 0x65), DicomVR.PN));
    }

    [Fact]
    public void Unknown_term_throws_with_the_term()
    {
        var ex = Assert.Throws<DicomCharacterSetException>(() => DicomCharacterSet.Parse(["ISO_IR 999"]));
        Assert.Equal("ISO_IR 999", ex.Term);
        Assert.Contains("ISO_IR 999", ex.Message, StringComparison.Ordinal);
        Assert.False(DicomCharacterSet.TryParse(["", "ISO 2022 IR 87", "KLINGON"], out var set, out var error));
        Assert.Null(set);
        Assert.Contains("KLINGON", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Utf8_cannot_be_combined_with_code_extensions()
    {
        var ex = Assert.Throws<DicomCharacterSetException>(() => DicomCharacterSet.Parse(["ISO_IR 192", "ISO 2022 IR 87"]));
        Assert.Equal("ISO_IR 192", ex.Term);
    }

    [Fact]
    public void Non_extension_spelling_in_a_multi_valued_set_is_read_as_iso_2022()
    {
        var set = DicomCharacterSet.Parse(["ISO_IR 100", "ISO 2022 IR 87"]);
        Assert.True(set.IsIso2022);
        Assert.Equal("é山", set.Decode(Cat(H(0xE9), Es("$B"), A(";3"), Es("(B")), DicomVR.LO));
    }

    public static TheoryData<string, byte, string> SingleByte => new()
    {
        { "ISO_IR 100", 0xE9, "é" }, { "ISO_IR 101", 0xB9, "š" }, { "ISO_IR 109", 0xA1, "Ħ" }, { "ISO_IR 110", 0xBD, "Ŋ" },
        { "ISO_IR 144", 0xBB, "Л" }, { "ISO_IR 127", 0xC8, "ب" }, { "ISO_IR 126", 0xC4, "Δ" }, { "ISO_IR 138", 0xF9, "ש" },
        { "ISO_IR 148", 0xDD, "İ" }, { "ISO_IR 203", 0xA4, "€" }, { "ISO_IR 13", 0xB1, "ｱ" }, { "ISO_IR 166", 0xA1, "ก" },
        { "ISO_IR 166", 0xFB, "๛" }, { "ISO 2022 IR 100", 0xE9, "é" }, { "ISO 2022 IR 203", 0xBD, "œ" },
    };

    [Theory]
    [MemberData(nameof(SingleByte))]
    public void Single_byte_sets_map_gr_bytes(string term, byte b, string expected)
    {
        var set = DicomCharacterSet.Parse([term]);
        Assert.Equal("A" + expected, set.Decode([(byte)'A', b], DicomVR.LO));
        Assert.True(set.TryDecode([(byte)'A', b], DicomVR.LO, out _, out var problem), problem);
        Assert.Equal(Convert.ToHexString([(byte)'A', b]), Convert.ToHexString(set.Encode("A" + expected, DicomVR.LO)));
    }

    [Theory]
    [InlineData("ISO_IR 109", 0xA5)]   // hole in ISO 8859-3
    [InlineData("ISO_IR 138", 0xC0)]   // hole in ISO 8859-8
    [InlineData("ISO_IR 166", 0xDB)]   // hole in TIS 620
    [InlineData("ISO_IR 13", 0xE0)]    // beyond JIS X 0201 katakana
    [InlineData("ISO_IR 100", 0x85)]   // C1 control, not a graphic character
    [InlineData("ISO_IR 166", 0x80)]   // windows-874 puts € here; TIS 620 does not
    public void Undefined_single_byte_positions_are_reported(string term, byte b)
    {
        var set = DicomCharacterSet.Parse([term]);
        Assert.False(set.TryDecode([(byte)'x', b], DicomVR.LO, out _, out var problem));
        Assert.Contains($"0x{b:X2} at offset 1", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Gbk_trail_byte_5c_is_not_a_delimiter()
    {
        // 乗 is 0x81 0x5C in GBK: splitting the bytes first would cut it in half.
        var set = DicomCharacterSet.Parse(["GBK"]);
        var bytes = Cat(A("Wang^"), H(0x81, 0x5C), A("\\"), H(0xD0, 0xA1));
        Assert.Equal("Wang^乗\\小", set.Decode(bytes, DicomVR.PN));
        Assert.Equal(["Wang^乗", "小"], set.DecodeValues(bytes, DicomVR.PN));
        Assert.Equal(Convert.ToHexString(bytes), Convert.ToHexString(set.Encode("Wang^乗\\小", DicomVR.PN)));
    }

    [Fact]
    public void Decode_values_strips_padding_per_value_and_keeps_single_valued_vrs_whole()
    {
        var set = DicomCharacterSet.Parse(["ISO_IR 100"]);
        Assert.Equal(["AB", "C", ""], set.DecodeValues(A("AB \\C\\ "), DicomVR.LO));
        Assert.Equal(["é", "x"], set.DecodeValues(H(0xE9, 0x20, 0x5C, 0x78, 0x20), DicomVR.SH));
        Assert.Equal(["a\\b"], set.DecodeValues(A("a\\b "), DicomVR.LT));
        Assert.Empty(set.DecodeValues(A("  "), DicomVR.LO));
        Assert.Equal(["1.2.3"], DicomCharacterSet.Default.DecodeValues(A("1.2.3\0"), DicomVR.UI));
    }

    [Fact]
    public void Invalid_gb18030_reports_the_offset()
    {
        var set = DicomCharacterSet.Parse(["GB18030"]);
        var bytes = Cat(A("Wang^"), H(0x81, 0x20), A("x"));
        Assert.Equal("Wang^\uFFFD x", set.Decode(bytes, DicomVR.PN));
        Assert.False(set.TryDecode(bytes, DicomVR.PN, out var text, out var problem));
        Assert.Equal("Wang^\uFFFD x", text);
        Assert.Equal("invalid GB18030 byte sequence at offset 5", problem);
    }

    [Fact]
    public void Gb18030_four_byte_sequences_and_encoded_replacement_char_are_valid()
    {
        var set = DicomCharacterSet.Parse(["GB18030"]);
        var bytes = Cat(H(0x95, 0x32, 0x82, 0x36), H(0xA2, 0xE3), H(0x84, 0x31, 0xA4, 0x37));
        Assert.True(set.TryDecode(bytes, DicomVR.LO, out var text, out var problem), problem);
        Assert.Equal("𠀀€\uFFFD", text);
        Assert.Equal(Convert.ToHexString(bytes), Convert.ToHexString(set.Encode(text, DicomVR.LO)));
    }

    [Fact]
    public void Invalid_utf8_reports_the_offset()
    {
        var set = DicomCharacterSet.Parse(["ISO_IR 192"]);
        Assert.False(set.TryDecode(Cat(A("ab"), H(0xE7, 0x8E), A("c")), DicomVR.LO, out var text, out var problem));
        Assert.Equal("ab\uFFFDc", text);
        Assert.Equal("invalid UTF-8 byte sequence at offset 2", problem);
    }

    [Fact]
    public void Unknown_and_undeclared_escape_sequences_are_reported()
    {
        var set = DicomCharacterSet.Parse(["", "ISO 2022 IR 87"]);
        var unknown = Cat(A("a"), Es("$@"), A("b"));
        Assert.Equal("a\uFFFDb", set.Decode(unknown, DicomVR.LO));
        Assert.False(set.TryDecode(unknown, DicomVR.LO, out _, out var problem));
        Assert.Equal("unknown escape sequence 1B2440 at offset 1", problem);

        var undeclared = Cat(Es("$)C"), H(0xFB, 0xF3));
        Assert.Equal("洪", set.Decode(undeclared, DicomVR.LO)); // lenient: any DICOM designation is honoured
        Assert.False(set.TryDecode(undeclared, DicomVR.LO, out _, out problem));
        Assert.Contains("ISO-IR 149", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Escape_in_a_set_without_code_extensions_is_reported()
    {
        var set = DicomCharacterSet.Parse(["ISO_IR 100"]);
        Assert.False(set.TryDecode(Cat(Es("$B"), A(";3")), DicomVR.LO, out _, out var problem));
        Assert.Contains("escape sequence at offset 0", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_double_byte_character_is_reported()
    {
        var set = DicomCharacterSet.Parse(["", "ISO 2022 IR 58"]);
        Assert.False(set.TryDecode(Cat(Es("$)A"), H(0xD5)), DicomVR.LO, out var text, out var problem));
        Assert.Equal("\uFFFD", text);
        Assert.Contains("incomplete ISO-IR 58", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Jis_x_0212_is_recognised_but_not_decodable()
    {
        var set = DicomCharacterSet.Parse(["", "ISO 2022 IR 87", "ISO 2022 IR 159"]);
        var bytes = Cat(Es("$(D"), A("\"/"), Es("(B"), A("x"));
        Assert.Equal("\uFFFDx", set.Decode(bytes, DicomVR.LO));
        Assert.False(set.TryDecode(bytes, DicomVR.LO, out _, out var problem));
        Assert.Contains("not supported", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_repertoire_with_non_ascii_bytes_uses_the_fallback()
    {
        var gb = DicomCharacterSets.GetEncodingForTerm("GB18030")!;
        var bytes = Cat(A("Wang^"), H(0xCD, 0xF5));
        Assert.Equal("Wang^\uFFFD\uFFFD", DicomCharacterSet.Default.Decode(bytes, DicomVR.PN));
        var withFallback = DicomCharacterSet.Parse([], gb);
        Assert.Equal("Wang^王", withFallback.Decode(bytes, DicomVR.PN));
        Assert.False(withFallback.TryDecode(bytes, DicomVR.PN, out var text, out var problem));
        Assert.Equal("Wang^王", text);
        Assert.Contains("fallback", problem, StringComparison.Ordinal);
        Assert.Equal("Wang^王", DicomCharacterSet.Parse(["ISO_IR 6"], gb).Decode(bytes, DicomVR.PN));
        // A declared non-default set ignores the fallback.
        Assert.Equal("Wang^Íõ", DicomCharacterSet.Parse(["ISO_IR 100"], gb).Decode(bytes, DicomVR.PN));
    }

    [Fact]
    public void Encode_rejects_what_the_set_cannot_represent()
    {
        var ex = Assert.Throws<DicomCharacterSetException>(() => DicomCharacterSet.Default.Encode("Jérôme", DicomVR.PN));
        Assert.Contains("U+00E9", ex.Message, StringComparison.Ordinal);
        Assert.False(DicomCharacterSet.Parse(["ISO_IR 100"]).TryEncode("王", DicomVR.PN, out _, out _));
        Assert.False(DicomCharacterSet.Parse(["", "ISO 2022 IR 149"]).TryEncode("东", DicomVR.PN, out _, out _)); // simplified form, not in KS X 1001
    }

    [Fact]
    public void Utf8_and_gb18030_encode_everything()
    {
        const string text = "Wang^XiaoDong=王^小東=𠀀";
        foreach (var term in new[] { "ISO_IR 192", "GB18030" })
        {
            var set = DicomCharacterSet.Parse([term]);
            Assert.Equal(text, set.Decode(set.Encode(text, DicomVR.PN), DicomVR.PN));
        }
    }

    [Fact]
    public void Iso2022_encoding_round_trips_mixed_text()
    {
        var set = DicomCharacterSet.Parse(["ISO 2022 IR 100", "ISO 2022 IR 87", "ISO 2022 IR 149"]);
        const string text = "Jérôme 山田\r\n홍길동 x";
        var bytes = set.Encode(text, DicomVR.LT);
        Assert.True(set.TryDecode(bytes, DicomVR.LT, out var back, out var problem), problem);
        Assert.Equal(text, back);
    }

    [Fact]
    public void Get_encoding_for_term()
    {
        Assert.Equal(Encoding.Latin1.CodePage, DicomCharacterSets.GetEncodingForTerm("ISO_IR 100")!.CodePage);
        Assert.Equal(28605, DicomCharacterSets.GetEncodingForTerm("ISO 2022 IR 203")!.CodePage);
        Assert.Equal(54936, DicomCharacterSets.GetEncodingForTerm("GB18030")!.CodePage);
        Assert.Equal(936, DicomCharacterSets.GetEncodingForTerm("GBK")!.CodePage);
        Assert.Equal(65001, DicomCharacterSets.GetEncodingForTerm("ISO_IR 192")!.CodePage);
        Assert.Null(DicomCharacterSets.GetEncodingForTerm("ISO 2022 IR 87"));
        Assert.Null(DicomCharacterSets.GetEncodingForTerm("nonsense"));
    }

    [Fact]
    public void Ascii_fast_path_allocates_only_the_string()
    {
        var set = DicomCharacterSet.Parse(["ISO_IR 100"]);
        var bytes = A("Some^Patient^Name^With^Components ");
        _ = set.Decode(bytes, DicomVR.PN); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        var s = set.Decode(bytes, DicomVR.PN);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("Some^Patient^Name^With^Components", s);
        Assert.True(allocated <= 22 + 2 * s.Length + 16, $"allocated {allocated} bytes");
    }
}
