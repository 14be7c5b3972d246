using System.Net;
using System.Text;
using System.Text.Json;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;
using static QcPipeline.Service.Tests.DicomWebReadClient;

namespace QcPipeline.Service.Tests;

/// <summary>WADO-RS (PS3.18 §10.4): retrieve, metadata, frames and bulk data, checked byte for byte against the stored files.</summary>
[Collection(DicomWebReadCollection.Name)]
public sealed class WadoTests(DicomWebReadFixture f)
{
    private const string DicomParts = "multipart/related; type=\"application/dicom\"";
    private const string OhifFrames = "multipart/related; type=application/octet-stream; transfer-syntax=*";

    [Theory]
    [InlineData("study")]
    [InlineData("series")]
    [InlineData("instance")]
    public async Task Wado_retrieve_returns_each_stored_file_byte_for_byte(string level)
    {
        var expected = level == "instance" ? [f.StudyAFiles[1]] : f.StudyAFiles;
        var path = level switch
        {
            "study" => $"/dicom-web/studies/{f.StudyA}",
            "series" => $"/dicom-web/studies/{f.StudyA}/series/{f.SeriesA}",
            _ => $"/dicom-web/studies/{f.StudyA}/series/{f.SeriesA}/instances/{expected[0].SopInstanceUid}",
        };
        var (rsp, body) = await GetAsync(f.Http, path, DicomParts);
        Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
        Assert.Equal("\"application/dicom\"", rsp.Content.Headers.ContentType!.Parameters.Single(p => p.Name == "type").Value);
        var parts = ParseMultipart(rsp, body);
        Assert.Equal(expected.Count, parts.Count);
        foreach (var (part, inst) in parts.Zip(expected.OrderBy(e => e.Path, StringComparer.Ordinal)))
        {
            Assert.Equal("application/dicom; transfer-syntax=1.2.840.10008.1.2.1", part.ContentType);
            Assert.Equal(await File.ReadAllBytesAsync(f.StoredPath(inst.StudyUid, inst.SeriesUid, inst.SopInstanceUid)), part.Body);
        }
    }

    [Fact]
    public async Task Wado_retrieve_of_a_study_with_two_series_and_an_rle_instance_as_stored()
    {
        var (rsp, body) = await GetAsync(f.Http, $"/dicom-web/studies/{f.StudyB}", "multipart/related; type=\"application/dicom\"; transfer-syntax=*");
        var parts = ParseMultipart(rsp, body);
        Assert.Equal(2, parts.Count);
        Assert.Equal(await File.ReadAllBytesAsync(f.StoredPath(f.StudyB, f.SeriesB1, f.MultiFrameSop)), parts[0].Body);
        Assert.Equal(await File.ReadAllBytesAsync(f.StoredPath(f.StudyB, f.SeriesB2, f.SingleFrameSop)), parts[1].Body);

        var (rle, rleBody) = await GetAsync(f.Http, $"/dicom-web/studies/{f.StudyC}", null); // no Accept: as stored
        var part = Assert.Single(ParseMultipart(rle, rleBody));
        Assert.Equal("application/dicom; transfer-syntax=1.2.840.10008.1.2.5", part.ContentType);
        Assert.Equal(await File.ReadAllBytesAsync(f.StoredPath(f.StudyC, f.SeriesC, f.RleSop)), part.Body);
    }

    [Theory]
    [InlineData("multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.4.50")] // JPEG: would need transcoding
    [InlineData("application/dicom+xml")]
    [InlineData("image/jpeg")]
    public async Task Wado_retrieve_answers_406_for_a_representation_it_cannot_produce(string accept)
    {
        var (rsp, body) = await GetAsync(f.Http, $"/dicom-web/studies/{f.StudyA}", accept);
        Assert.Equal(HttpStatusCode.NotAcceptable, rsp.StatusCode);
        Assert.Contains("as stored", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        var (ok, _) = await GetAsync(f.Http, $"/dicom-web/studies/{f.StudyA}", "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.1");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Theory]
    [InlineData("/dicom-web/studies/1.2.3.999")]
    [InlineData("/dicom-web/studies/1.2.3.999/metadata")]
    [InlineData("/dicom-web/studies/{A}/series/1.2.3.999")]
    [InlineData("/dicom-web/studies/{A}/series/{SA}/instances/1.2.3.999")]
    [InlineData("/dicom-web/studies/{A}/series/{SA}/instances/1.2.3.999/frames/1")]
    [InlineData("/dicom-web/studies/{B}/series/{SB1}/instances/{MF}/frames/4")]
    [InlineData("/dicom-web/studies/{B}/series/{SB1}/instances/{MF}/bulkdata/00091010")]
    public async Task Wado_unknown_resources_are_404(string template)
    {
        var path = template.Replace("{A}", f.StudyA, StringComparison.Ordinal).Replace("{SA}", f.SeriesA, StringComparison.Ordinal)
            .Replace("{B}", f.StudyB, StringComparison.Ordinal).Replace("{SB1}", f.SeriesB1, StringComparison.Ordinal).Replace("{MF}", f.MultiFrameSop, StringComparison.Ordinal);
        var (rsp, _) = await GetAsync(f.Http, path);
        Assert.Equal(HttpStatusCode.NotFound, rsp.StatusCode);
    }

    [Fact]
    public async Task Wado_series_metadata_has_the_header_and_a_working_BulkDataURI_for_pixel_data()
    {
        var meta = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyB}/series/{f.SeriesB1}/metadata");
        var mf = Assert.Single(meta.EnumerateArray());
        Assert.Equal(f.MultiFrameSop, Value(mf, "00080018"));
        Assert.Equal("Smith^Jane", Value(mf, "00100010"));
        Assert.Equal("3", Value(mf, "00280008"));
        var pixel = mf.GetProperty("7FE00010");
        Assert.Equal("OW", pixel.GetProperty("vr").GetString());
        Assert.False(pixel.TryGetProperty("InlineBinary", out _));
        var uri = pixel.GetProperty("BulkDataURI").GetString()!;
        Assert.EndsWith($"/studies/{f.StudyB}/series/{f.SeriesB1}/instances/{f.MultiFrameSop}/bulkdata/7FE00010", uri, StringComparison.Ordinal);

        var (rsp, body) = await GetAsync(f.Http, new Uri(uri).PathAndQuery, "multipart/related; type=\"application/octet-stream\"");
        Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
        var part = Assert.Single(ParseMultipart(rsp, body));
        Assert.Equal(DicomWebReadFixture.MultiFramePixels, part.Body);

        // Study and instance metadata: the same objects.
        Assert.Equal(2, (await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyB}/metadata")).GetArrayLength());
        var one = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyA}/series/{f.SeriesA}/instances/{f.StudyAFiles[0].SopInstanceUid}/metadata");
        Assert.Equal("CT01", Value(Assert.Single(one.EnumerateArray()), "00081010"));
    }

    [Fact]
    public async Task Wado_metadata_of_the_gb18030_instance_is_unicode_json()
    {
        var meta = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyC}/metadata");
        var pn = meta[0].GetProperty("00100010").GetProperty("Value")[0];
        Assert.Equal("王^小明", pn.GetProperty("Ideographic").GetString());
        Assert.Equal("OB", meta[0].GetProperty("7FE00010").GetProperty("vr").GetString());
    }

    [Theory]
    [InlineData("1", new[] { 0 })]
    [InlineData("3", new[] { 2 })]
    [InlineData("2,1,3", new[] { 1, 0, 2 })]
    public async Task Wado_frames_of_an_uncompressed_multiframe_image_are_the_exact_frame_bytes(string list, int[] frames)
    {
        var (rsp, body) = await GetAsync(f.Http, $"/dicom-web/studies/{f.StudyB}/series/{f.SeriesB1}/instances/{f.MultiFrameSop}/frames/{list}", OhifFrames);
        Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
        var parts = ParseMultipart(rsp, body);
        Assert.Equal(frames.Length, parts.Count);
        for (int i = 0; i < frames.Length; i++)
        {
            Assert.Equal("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", parts[i].ContentType);
            Assert.Equal(DicomWebReadFixture.MultiFramePixels.AsSpan(frames[i] * 40, 40).ToArray(), parts[i].Body);
        }
    }

    [Fact]
    public async Task Wado_frame_of_a_single_frame_ct_image_is_its_pixel_data()
    {
        var inst = f.StudyAFiles[0];
        var (rsp, body) = await GetAsync(f.Http, $"/dicom-web/studies/{f.StudyA}/series/{f.SeriesA}/instances/{inst.SopInstanceUid}/frames/1",
            "multipart/related; type=\"application/octet-stream\"");
        var part = Assert.Single(ParseMultipart(rsp, body));
        using var file = DicomFile.Open(f.StoredPath(inst.StudyUid, inst.SeriesUid, inst.SopInstanceUid));
        var expected = DicomPixelData.Create(file.Dataset).GetNativeFrame(0).ToArray();
        Assert.Equal(512 * 512 * 2, expected.Length);
        Assert.Equal(expected, part.Body);
    }

    [Fact]
    public async Task Wado_frames_of_an_rle_image_are_its_fragments_as_stored_or_406_when_decompression_is_asked()
    {
        var path = $"/dicom-web/studies/{f.StudyC}/series/{f.SeriesC}/instances/{f.RleSop}/frames/1";
        var (rsp, body) = await GetAsync(f.Http, path, OhifFrames);
        Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
        var part = Assert.Single(ParseMultipart(rsp, body));
        Assert.Equal("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.5", part.ContentType);
        using var file = DicomFile.Open(f.StoredPath(f.StudyC, f.SeriesC, f.RleSop));
        Assert.Equal(TransferSyntax.RleLossless, file.TransferSyntax);
        Assert.Equal(DicomPixelData.Create(file.Dataset).GetEncapsulatedFrame(0).ToArray(), part.Body);

        var (image, imageBody) = await GetAsync(f.Http, path, "multipart/related; type=\"image/dicom-rle\"");
        Assert.Equal("image/dicom-rle; transfer-syntax=1.2.840.10008.1.2.5", Assert.Single(ParseMultipart(image, imageBody)).ContentType);

        var (uncompressed, _) = await GetAsync(f.Http, path, "multipart/related; type=\"application/octet-stream\"");
        Assert.Equal(HttpStatusCode.NotAcceptable, uncompressed.StatusCode);
        var (jpeg, _) = await GetAsync(f.Http, path, "multipart/related; type=\"image/jpeg\"");
        Assert.Equal(HttpStatusCode.NotAcceptable, jpeg.StatusCode);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1,x")]
    [InlineData("-1")]
    [InlineData("")]
    public async Task Wado_bad_frame_lists_are_400(string list)
    {
        var (rsp, _) = await GetAsync(f.Http, $"/dicom-web/studies/{f.StudyB}/series/{f.SeriesB1}/instances/{f.MultiFrameSop}/frames/{list}", OhifFrames);
        Assert.True(rsp.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, rsp.StatusCode.ToString());
        if (list.Length > 0) Assert.Equal(HttpStatusCode.BadRequest, rsp.StatusCode);
    }

    [Fact]
    public async Task Wado_frames_of_an_uncompressed_image_in_jpeg_are_406()
    {
        var (rsp, _) = await GetAsync(f.Http, $"/dicom-web/studies/{f.StudyB}/series/{f.SeriesB1}/instances/{f.MultiFrameSop}/frames/1", "multipart/related; type=\"image/jpeg\"");
        Assert.Equal(HttpStatusCode.NotAcceptable, rsp.StatusCode);
    }

    [Fact]
    public async Task Wado_cors_is_off_by_default()
    {
        using var rq = new HttpRequestMessage(HttpMethod.Get, "/dicom-web/studies");
        rq.Headers.Add("Origin", "http://viewer.example:3000");
        using var rsp = await f.Http.SendAsync(rq);
        Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
        Assert.False(rsp.Headers.Contains("Access-Control-Allow-Origin"));
    }
}

/// <summary>CORS for a viewer on another origin, when configured.</summary>
public sealed class DicomWebReadCorsTests
{
    /// <summary>A browser's GET of the study list from a page of <paramref name="origin"/>, with credentials when given.</summary>
    private static async Task<HttpResponseMessage> GetStudiesFromAsync(HttpClient http, string origin, System.Net.Http.Headers.AuthenticationHeaderValue? auth = null)
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, "/dicom-web/studies");
        get.Headers.Add("Origin", origin);
        get.Headers.Authorization = auth;
        return await http.SendAsync(get);
    }

    /// <summary>A browser's CORS preflight for a GET with Authorization and Accept headers, from <paramref name="origin"/>:
    /// answered with success, that origin, and the Authorization header allowed.</summary>
    private static async Task AssertPreflightAllowedAsync(HttpClient http, string origin)
    {
        using var pre = new HttpRequestMessage(HttpMethod.Options, "/dicom-web/studies");
        pre.Headers.Add("Origin", origin);
        pre.Headers.Add("Access-Control-Request-Method", "GET");
        pre.Headers.Add("Access-Control-Request-Headers", "authorization,accept");
        using var rsp = await http.SendAsync(pre);
        Assert.True(rsp.IsSuccessStatusCode, rsp.StatusCode.ToString());
        Assert.Equal(origin, rsp.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("authorization", rsp.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task DicomWebRead_cors_allows_the_configured_origin_only()
    {
        await using var svc = await InProcessService.StartAsync(extraArgs: ["--DicomWeb:CorsOrigins:0=http://viewer.example:3000"]);
        using var http = svc.CreateHttpClient();
        await AssertPreflightAllowedAsync(http, "http://viewer.example:3000");
        using (var rsp = await GetStudiesFromAsync(http, "http://viewer.example:3000"))
        {
            Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
            Assert.Equal("http://viewer.example:3000", rsp.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Equal("[]", await rsp.Content.ReadAsStringAsync());
        }
        using (var rsp = await GetStudiesFromAsync(http, "http://evil.example"))
        {
            Assert.False(rsp.Headers.Contains("Access-Control-Allow-Origin"));
        }
    }

    [Fact]
    public async Task DicomWebRead_cors_with_authentication_required_answers_the_preflight_and_needs_the_key_on_the_request()
    {
        const string key = "viewer-key-0123456789abcdef";
        await using var svc = await InProcessService.StartAsync(extraArgs:
        [
            "--DicomWeb:CorsOrigins:0=http://viewer.example:3000", "--Http:Auth:Mode=Required",
            "--Http:Auth:ApiKeys:0:Name=ohif", $"--Http:Auth:ApiKeys:0:Key={key}", "--Http:Auth:ApiKeys:0:Scopes:0=read",
        ]);
        using var http = svc.CreateHttpClient();
        // A browser's preflight carries no credentials: it must pass, or the viewer never sends its real request.
        await AssertPreflightAllowedAsync(http, "http://viewer.example:3000");
        using (var rsp = await GetStudiesFromAsync(http, "http://viewer.example:3000"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, rsp.StatusCode);
            // With the CORS header, so the viewer can read the 401 and ask for a login instead of a network error.
            Assert.Equal("http://viewer.example:3000", rsp.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }
        // OHIF sends it as an Authorization header (a token from its OIDC login, or added by a proxy).
        using (var rsp = await GetStudiesFromAsync(http, "http://viewer.example:3000", new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", key)))
        {
            Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
            Assert.Equal("http://viewer.example:3000", rsp.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }
    }

    [Fact]
    public async Task DicomWebRead_a_malformed_cors_origin_fails_the_start()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var svc = await InProcessService.StartAsync(extraArgs: ["--DicomWeb:CorsOrigins:0=viewer.example/path"]);
        });
        Assert.Contains("CorsOrigins", ex.Message, StringComparison.Ordinal);
    }
}
