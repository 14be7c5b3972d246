using QcPipeline.Dicom.Json;

namespace QcPipeline.Dicom.Tests.Json;

/// <summary>Anything that is not a DICOM JSON model fails with DicomJsonException naming the place, never another type.</summary>
public class MalformedJsonTests
{
    [Theory]
    [InlineData("", "not valid JSON")]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{", "not valid JSON")]
    [InlineData("{\"00100010\": {\"vr\": \"PN\"}} trailing", "not valid JSON")]
    [InlineData("[]", "expected a JSON object")]
    [InlineData("42", "expected a JSON object")]
    [InlineData("{\"0010001\": {\"vr\": \"PN\"}}", "'0010001' is not a tag")]
    [InlineData("{\"PatientName\": {\"vr\": \"PN\"}}", "'PatientName' is not a tag")]
    [InlineData("{\"00100010\": \"Doe\"}", "(0010,0010): expected an attribute object")]
    [InlineData("{\"00100010\": {\"Value\": []}}", "(0010,0010): attribute has no \"vr\"")]
    [InlineData("{\"00100010\": {\"vr\": \"XX\"}}", "(0010,0010): \"vr\" \"XX\" is not a DICOM VR")]
    [InlineData("{\"00100010\": {\"vr\": 7}}", "(0010,0010): \"vr\" 7 is not a DICOM VR")]
    [InlineData("{\"00280010\": {\"vr\": \"US\", \"Value\": \"512\"}}", "(0028,0010): \"Value\" must be an array")]
    [InlineData("{\"00280010\": {\"vr\": \"US\", \"Value\": [\"abc\"]}}", "(0028,0010): value \"abc\" is not a valid US number")]
    [InlineData("{\"00280010\": {\"vr\": \"US\", \"Value\": [70000]}}", "(0028,0010): value 70000 is out of range for VR US")]
    [InlineData("{\"00280010\": {\"vr\": \"US\", \"Value\": [1.5]}}", "(0028,0010): value 1.5 is not a valid US number")]
    [InlineData("{\"00280010\": {\"vr\": \"US\", \"Value\": [null, 1]}}", "(0028,0010): VR US cannot hold an empty value")]
    [InlineData("{\"00280010\": {\"vr\": \"US\", \"Value\": [true]}}", "(0028,0010): VR US value must be a number")]
    [InlineData("{\"00200013\": {\"vr\": \"IS\", \"Value\": [1.5]}}", "(0020,0013): IS value 1.5 is not an integer")]
    [InlineData("{\"00100020\": {\"vr\": \"LO\", \"Value\": [5]}}", "(0010,0020): value 1 must be a string or null")]
    [InlineData("{\"00100020\": {\"vr\": \"LO\", \"Value\": [\"a\\\\b\"]}}", "(0010,0020): value 1 contains a backslash")]
    [InlineData("{\"00081030\": {\"vr\": \"LT\", \"Value\": [\"a\", \"b\"]}}", "(0008,1030): VR LT holds one value")]
    [InlineData("{\"00100010\": {\"vr\": \"PN\", \"Value\": [7]}}", "(0010,0010): PN value must be an object")]
    [InlineData("{\"00100010\": {\"vr\": \"PN\", \"Value\": [{\"Alphabetic\": 7}]}}", "(0010,0010): PN component group \"Alphabetic\" must be a string")]
    [InlineData("{\"00209165\": {\"vr\": \"AT\", \"Value\": [\"zz\"]}}", "(0020,9165): AT value \"zz\" is not eight hexadecimal digits")]
    [InlineData("{\"7FE00010\": {\"vr\": \"OW\", \"InlineBinary\": \"***\"}}", "(7FE0,0010): InlineBinary is not a base64 string")]
    [InlineData("{\"7FE00010\": {\"vr\": \"OW\", \"Value\": [1]}}", "(7FE0,0010): VR OW takes InlineBinary or BulkDataURI")]
    [InlineData("{\"7FE00010\": {\"vr\": \"OW\", \"InlineBinary\": \"AAAA\", \"BulkDataURI\": \"x\"}}", "(7FE0,0010): attribute has more than one of")]
    [InlineData("{\"00100020\": {\"vr\": \"LO\", \"InlineBinary\": \"AAAA\"}}", "(0010,0020): InlineBinary is not allowed for VR LO")]
    [InlineData("{\"00100020\": {\"vr\": \"LO\"}, \"00100020\": {\"vr\": \"LO\"}}", "attribute 00100020 appears twice")]
    [InlineData("{\"00081115\": {\"vr\": \"SQ\", \"Value\": {}}}", "(0008,1115): \"Value\" must be an array")]
    [InlineData("{\"00081115\": {\"vr\": \"SQ\", \"Value\": [\"item\"]}}", "(0008,1115)[0]: expected a JSON object for a dataset")]
    [InlineData("{\"00081115\": {\"vr\": \"SQ\", \"Value\": [{}, {\"0008114A\": {\"vr\": \"SQ\", \"Value\": [{\"00081150\": {\"vr\": \"UI\", \"Value\": [1]}}]}}]}}",
        "(0008,1115)[1] (0008,114A)[0] (0008,1150): value 1 must be a string or null")]
    [InlineData("{\"00081115\": {\"vr\": \"SQ\", \"InlineBinary\": \"AAAA\"}}", "(0008,1115): a sequence (SQ) cannot have InlineBinary")]
    public void Malformed_input_gives_DicomJsonException_with_a_clear_message(string json, string expected)
    {
        var ex = Assert.Throws<DicomJsonException>(() => DicomJson.Deserialize(json));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        // the UTF-8 entry point says the same
        var ex2 = Assert.Throws<DicomJsonException>(() => DicomJson.Deserialize(System.Text.Encoding.UTF8.GetBytes(json)));
        Assert.Contains(expected, ex2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Exception_carries_the_tag()
    {
        var ex = Assert.Throws<DicomJsonException>(() => DicomJson.Deserialize("{\"00280010\": {\"vr\": \"US\", \"Value\": [-1]}}"));
        Assert.Equal(new DicomTag(0x00280010), ex.Tag);
    }

    [Fact]
    public void Invalid_utf8_is_a_DicomJsonException()
    {
        byte[] bad = [(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}'];
        Assert.Throws<DicomJsonException>(() => DicomJson.Deserialize(bad));
    }

    [Fact]
    public void Array_form_names_the_dataset()
    {
        var ex = Assert.Throws<DicomJsonException>(() => DicomJson.DeserializeArray("[{}, {\"00280010\": {\"vr\": \"US\", \"Value\": [\"x\"]}}]"));
        Assert.StartsWith("dataset [1]: (0028,0010)", ex.Message, StringComparison.Ordinal);
        Assert.Throws<DicomJsonException>(() => DicomJson.DeserializeArray("{}"));
    }

    [Fact]
    public void Resolver_failure_is_wrapped()
    {
        var ex = Assert.Throws<DicomJsonException>(() => DicomJson.Deserialize("{\"7FE00010\": {\"vr\": \"OW\", \"BulkDataURI\": \"http://x/1\"}}",
            _ => throw new IOException("gone")));
        Assert.Contains("resolving BulkDataURI 'http://x/1' failed: gone", ex.Message, StringComparison.Ordinal);
        Assert.IsType<IOException>(ex.InnerException);
    }
}
