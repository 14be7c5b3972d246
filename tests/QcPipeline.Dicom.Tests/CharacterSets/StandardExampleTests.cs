using QcPipeline.Dicom.CharacterSets;
using static QcPipeline.Dicom.Tests.CharacterSets.B;

namespace QcPipeline.Dicom.Tests.CharacterSets;

/// <summary>The person name examples of PS3.5 Annexes H to K, bytes written out from the standard's column/row notation.</summary>
public class StandardExampleTests
{
    // Annex H.3.1: Specific Character Set "\ISO 2022 IR 87"; G0 switched to JIS X 0208 (ESC $ B) and back (ESC ( B).
    private static readonly byte[] H31 = Cat(A("Yamada^Tarou="),
        Es("$B"), A(";3ED"), Es("(B"), A("^"), Es("$B"), A("B@O:"), Es("(B"), A("="),
        Es("$B"), A("$d$^$@"), Es("(B"), A("^"), Es("$B"), A("$?$m$&"), Es("(B"));

    // Annex H.3.2: "ISO 2022 IR 13\ISO 2022 IR 87"; half-width katakana in GR, back to JIS X 0201 Romaji with ESC ( J.
    private static readonly byte[] H32 = Cat(H(0xD4, 0xCF, 0xC0, 0xDE), A("^"), H(0xC0, 0xDB, 0xB3), A("="),
        Es("$B"), A(";3ED"), Es("(J"), A("^"), Es("$B"), A("B@O:"), Es("(J"), A("="),
        Es("$B"), A("$d$^$@"), Es("(J"), A("^"), Es("$B"), A("$?$m$&"), Es("(J"));

    // Annex I.2: "\ISO 2022 IR 149"; KS X 1001 designated to G1 (ESC $ ) C) again after every delimiter.
    private static readonly byte[] I2 = Cat(A("Hong^Gildong="),
        Es("$)C"), H(0xFB, 0xF3), A("^"), Es("$)C"), H(0xD1, 0xCE, 0xD4, 0xD7), A("="),
        Es("$)C"), H(0xC8, 0xAB), A("^"), Es("$)C"), H(0xB1, 0xE6, 0xB5, 0xBF));

    // Annex J.1: ISO_IR 192.
    private static readonly byte[] J1 = Cat(A("Wang^XiaoDong="), H(0xE7, 0x8E, 0x8B), A("^"), H(0xE5, 0xB0, 0x8F, 0xE6, 0x9D, 0xB1), A("="));

    // Annex J.2: GB18030.
    private static readonly byte[] J2 = Cat(A("Wang^XiaoDong="), H(0xCD, 0xF5), A("^"), H(0xD0, 0xA1, 0xB6, 0xAB), A("="));

    // Annex K.1: "\ISO 2022 IR 58"; GB 2312 designated to G1 (ESC $ ) A).
    private static readonly byte[] K1 = Cat(A("Zhang^XiaoDong="), Es("$)A"), H(0xD5, 0xC5), A("^"), Es("$)A"), H(0xD0, 0xA1, 0xB6, 0xAB), A("="));

    public static TheoryData<string, byte[], string> Examples => new()
    {
        { "\\ISO 2022 IR 87", H31, "Yamada^Tarou=山田^太郎=やまだ^たろう" },
        { "ISO 2022 IR 13\\ISO 2022 IR 87", H32, "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう" },
        { "\\ISO 2022 IR 149", I2, "Hong^Gildong=洪^吉洞=홍^길동" },
        { "ISO_IR 192", J1, "Wang^XiaoDong=王^小東=" },
        { "GB18030", J2, "Wang^XiaoDong=王^小东=" },
        { "\\ISO 2022 IR 58", K1, "Zhang^XiaoDong=张^小东=" },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void Decodes_the_annex_example(string charset, byte[] bytes, string expected)
    {
        var set = DicomCharacterSet.Parse(charset.Split('\\'));
        Assert.Equal(expected, set.Decode(bytes, DicomVR.PN));
        Assert.True(set.TryDecode(bytes, DicomVR.PN, out var strict, out var problem), problem);
        Assert.Equal(expected, strict);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Encodes_back_to_the_annex_bytes(string charset, byte[] bytes, string text)
    {
        var set = DicomCharacterSet.Parse(charset.Split('\\'));
        Assert.Equal(Convert.ToHexString(bytes), Convert.ToHexString(set.Encode(text, DicomVR.PN)));
    }

    [Fact]
    public void Padded_odd_length_value_decodes_without_the_padding()
    {
        var set = DicomCharacterSet.Parse(["GB18030"]);
        Assert.Equal("Wang^XiaoDong=王^小东=", set.Decode(Cat(J2, A(" ")), DicomVR.PN));
    }

    [Fact]
    public void Pn_component_groups_split_after_decoding()
    {
        var set = DicomCharacterSet.Parse(["", "ISO 2022 IR 87"]);
        var groups = set.Decode(H31, DicomVR.PN).Split('=');
        Assert.Equal(["Yamada^Tarou", "山田^太郎", "やまだ^たろう"], groups);
        Assert.Equal(["山田", "太郎"], groups[1].Split('^'));
    }

    [Fact]
    public void Iso2022_state_resets_after_each_pn_delimiter()
    {
        // After '^' G1 reverts to value 1 (none), so a GR byte without a fresh ESC $ ) C is not KS X 1001.
        var set = DicomCharacterSet.Parse(["", "ISO 2022 IR 149"]);
        var bytes = Cat(Es("$)C"), H(0xFB, 0xF3), A("^"), H(0xB1, 0xE6));
        Assert.Equal("洪^\uFFFD\uFFFD", set.Decode(bytes, DicomVR.PN));
        Assert.False(set.TryDecode(bytes, DicomVR.PN, out _, out var problem));
        Assert.Contains("byte 0xB1 at offset 7", problem, StringComparison.Ordinal);
        // In a non-PN VR '^' is an ordinary character and the designation stays.
        Assert.Equal("洪^길", set.Decode(bytes, DicomVR.LO));
    }

    [Fact]
    public void Iso2022_state_resets_after_cr_lf_in_text()
    {
        var set = DicomCharacterSet.Parse(["ISO 2022 IR 6", "ISO 2022 IR 87"]);
        // G0 left in JIS X 0208 at the line end: after CR LF the bytes are ASCII again.
        var bytes = Cat(Es("$B"), A(";3ED"), A("\r\nOK"));
        Assert.Equal("山田\r\nOK", set.Decode(bytes, DicomVR.LT));
    }
}
