using System.Text.Json;

namespace QcPipeline.Dicom.Tests.Json;

/// <summary>The comparer behind the dcm2json tests must see real differences, or those tests prove nothing.</summary>
public class JsonSemanticsTests
{
    private static List<string> Diff(string a, string b)
    {
        using var x = JsonDocument.Parse(a);
        using var y = JsonDocument.Parse(b);
        return JsonSemantics.Compare(x.RootElement, y.RootElement);
    }

    [Theory]
    [InlineData("{\"00180050\":{\"vr\":\"DS\",\"Value\":[1.0]}}", "{\"00180050\":{\"vr\":\"DS\",\"Value\":[1]}}")]
    [InlineData("{\"00180050\":{\"vr\":\"DS\",\"Value\":[\"1.50\"]}}", "{\"00180050\":{\"vr\":\"DS\",\"Value\":[1.5]}}")]
    [InlineData("{\"00100010\":{\"vr\":\"PN\"}}", "{\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"\"}]}}")]
    [InlineData("{\"00100020\":{\"vr\":\"LO\"}}", "{\"00100020\":{\"vr\":\"LO\",\"Value\":[\"\"]}}")]
    [InlineData("{\"7FE00010\":{\"vr\":\"OW\",\"InlineBinary\":\"AQI=\"}}", "{\"7FE00010\":{\"vr\":\"OW\",\"InlineBinary\":\"AQI=\"}}")]
    public void Same_meaning(string a, string b) => Assert.Empty(Diff(a, b));

    [Theory]
    [InlineData("{\"00180050\":{\"vr\":\"DS\",\"Value\":[1.0]}}", "{\"00180050\":{\"vr\":\"DS\",\"Value\":[1.01]}}")]
    [InlineData("{\"00180050\":{\"vr\":\"DS\",\"Value\":[1.0]}}", "{\"00180050\":{\"vr\":\"IS\",\"Value\":[1]}}")]
    [InlineData("{\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"A\"}]}}", "{\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"A\",\"Ideographic\":\"B\"}]}}")]
    [InlineData("{\"00080008\":{\"vr\":\"CS\",\"Value\":[\"A\",null]}}", "{\"00080008\":{\"vr\":\"CS\",\"Value\":[\"A\"]}}")]
    [InlineData("{\"7FE00010\":{\"vr\":\"OW\",\"InlineBinary\":\"AQI=\"}}", "{\"7FE00010\":{\"vr\":\"OW\",\"InlineBinary\":\"AQM=\"}}")]
    [InlineData("{\"00081115\":{\"vr\":\"SQ\",\"Value\":[{\"00081150\":{\"vr\":\"UI\",\"Value\":[\"1.2\"]}}]}}", "{\"00081115\":{\"vr\":\"SQ\",\"Value\":[{\"00081150\":{\"vr\":\"UI\",\"Value\":[\"1.3\"]}}]}}")]
    [InlineData("{\"00100020\":{\"vr\":\"LO\"}}", "{}")]
    public void Different_meaning(string a, string b) => Assert.NotEmpty(Diff(a, b));
}
