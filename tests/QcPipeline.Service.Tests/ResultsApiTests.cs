using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Analysis;
using QcPipeline.Dicom;
using QcPipeline.Overlays;
using QcPipeline.Service.ResultsStore;
using SkiaSharp;

namespace QcPipeline.Service.Tests;

/// <summary>The results API end to end: phantom CT series sent by storescu, analysed by the worker, then every endpoint —
/// devices, results by device (filters, paging), series results with findings, one result with its JSON, the ROI overlay
/// PNG, device edits with their audit rows and limits that the next analysis uses, re-analysis as a new claim. On SQLite
/// and on a real PostgreSQL.</summary>
public abstract class ResultsApiContract
{
    protected abstract Task<InProcessService> StartAsync(params string[] args);

    /// <summary>A quick series assembly, so a sent series is analysed within a second or two.</summary>
    internal static readonly string[] FastPipeline = ["--Pipeline:QuietPeriod=00:00:01.5", "--Pipeline:SweepInterval=00:00:00.1"];

    internal static async Task<(HttpStatusCode Status, JsonNode? Json, string Text, string? MediaType)> GetAsync(HttpClient http, string path)
    {
        using var resp = await http.GetAsync(new Uri(path, UriKind.Relative));
        var text = await resp.Content.ReadAsStringAsync();
        JsonNode? json = null;
        if (resp.Content.Headers.ContentType?.MediaType is { } t && t.Contains("json", StringComparison.Ordinal) && text.Length > 0) json = JsonNode.Parse(text);
        return (resp.StatusCode, json, text, resp.Content.Headers.ContentType?.MediaType);
    }

    internal static async Task<(HttpStatusCode Status, JsonNode? Json, string Text)> SendJsonAsync(HttpClient http, HttpMethod method, string path, string? body,
        string? apiKey = null)
    {
        using var req = new HttpRequestMessage(method, path);
        if (body is not null) req.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (apiKey is not null) req.Headers.Authorization = new AuthenticationHeaderValue("ApiKey", apiKey);
        using var resp = await http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        JsonNode? json = text.Length > 0 && resp.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true ? JsonNode.Parse(text) : null;
        return (resp.StatusCode, json, text);
    }

    internal static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            if (DateTime.UtcNow > until) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }

    private static void AssertProblem((HttpStatusCode Status, JsonNode? Json, string Text, string? MediaType) r, HttpStatusCode status, string detailContains)
    {
        Assert.True(r.Status == status, $"expected {status}, got {r.Status}: {r.Text}");
        Assert.Equal("application/problem+json", r.MediaType);
        Assert.Contains(detailContains, r.Json!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_endpoint_answers_for_an_analysed_phantom_and_edits_and_reanalysis_take_effect()
    {
        var input = Support.NewTempDir("qcapi");
        await using var svc = await StartAsync(FastPipeline);
        try
        {
            var files = Support.MakeCtFiles(input, 3);
            var study = files[0].StudyUid;
            var series = files[0].SeriesUid;
            string patientName, patientId;
            using (var f = DicomFile.Open(files[0].Path))
            {
                patientName = f.Dataset.GetString(DicomTags.PatientName) ?? "";
                patientId = f.Dataset.GetString(DicomTags.PatientID) ?? "";
            }
            Assert.NotEqual("", patientName);
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
            Assert.True(store.ExitCode == 0, store.All);
            using var http = svc.CreateHttpClient();
            var bodies = new List<string>();

            // Wait for the worker: the series analysed, its ct-water result made from all three images.
            await Eventually(() => GetAsync(http, $"/api/series/{series}/results"),
                r => r.Status == HttpStatusCode.OK && (string?)r.Json!["state"] == "analyzed"
                     && r.Json!["results"]!.AsArray().Any(x => (string?)x!["profile"] == "ct-water" && (int)x!["instanceCount"]! == 3),
                TimeSpan.FromSeconds(90), "the series to be analysed");

            // Devices: the phantom's device with its newest verdict per test.
            var devices = await GetAsync(http, "/api/devices");
            Assert.True(devices.Json is JsonArray { Count: 1 }, devices.Text);
            bodies.Add(devices.Text);
            var device = devices.Json!.AsArray()[0]!;
            long deviceId = device["id"]!.GetValue<long>();
            Assert.Equal(("serial:SIM-0001", "CTSCANNER", "CT", false), (device["key"]!.GetValue<string>(), device["callingAe"]!.GetValue<string>(),
                device["modality"]!.GetValue<string>(), device["hasLimitsOverride"]!.GetValue<bool>()));
            var latestWater = device["latest"]!.AsArray().First(l => l!["profile"]!.GetValue<string>() == "ct-water")!;
            Assert.Equal("pass", latestWater["verdict"]!.GetValue<string>());

            var one = await GetAsync(http, $"/api/devices/{deviceId}");
            Assert.Equal(HttpStatusCode.OK, one.Status);
            bodies.Add(one.Text);
            Assert.Equal(LimitSet.Default.Id, one.Json!["effectiveLimits"]!["id"]!.GetValue<string>());
            Assert.Null(one.Json!["limitsOverride"]);

            // Results of the device: filtered by test and period, paged, newest first.
            var page = await GetAsync(http, $"/api/devices/{deviceId}/results?test=ct-water");
            Assert.Equal(HttpStatusCode.OK, page.Status);
            bodies.Add(page.Text);
            Assert.Equal(1, page.Json!["total"]!.GetValue<int>());
            var water = page.Json!["items"]![0]!;
            Assert.Equal((series, study, "ct-water", "pass", "quiet", 3), (water["seriesInstanceUid"]!.GetValue<string>(), water["studyInstanceUid"]!.GetValue<string>(),
                water["profile"]!.GetValue<string>(), water["verdict"]!.GetValue<string>(), water["reason"]!.GetValue<string>(), water["instanceCount"]!.GetValue<int>()));
            Assert.Equal((LimitSet.Default.Id, 1), (water["limitSet"]!["id"]!.GetValue<string>(), water["limitSet"]!["version"]!.GetValue<int>()));
            var hu = water["metrics"]!.AsArray().First(m => m!["name"]!.GetValue<string>() == MetricNames.CtWaterHu)!;
            Assert.Equal((-6.0, 6.0, "pass"), (hu["limitMin"]!.GetValue<double>(), hu["limitMax"]!.GetValue<double>(), hu["verdict"]!.GetValue<string>()));
            Assert.InRange(hu["value"]!.GetValue<double>(), -6, 6);
            long waterId = water["id"]!.GetValue<long>();

            var all = await GetAsync(http, $"/api/devices/{deviceId}/results");
            int totalAll = all.Json!["total"]!.GetValue<int>();
            Assert.True(totalAll >= 2, all.Text); // ct-water and ct-mtf (auto)
            var paged = await GetAsync(http, $"/api/devices/{deviceId}/results?limit=1&offset=1");
            Assert.Equal((totalAll, 1, 1), (paged.Json!["total"]!.GetValue<int>(), paged.Json!["limit"]!.GetValue<int>(), paged.Json!["items"]!.AsArray().Count));
            var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            var tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            var yesterday = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(totalAll, (await GetAsync(http, $"/api/devices/{deviceId}/results?from={today}&to={today}")).Json!["total"]!.GetValue<int>());
            Assert.Equal(0, (await GetAsync(http, $"/api/devices/{deviceId}/results?from={tomorrow}")).Json!["total"]!.GetValue<int>());
            Assert.Equal(0, (await GetAsync(http, $"/api/devices/{deviceId}/results?to={yesterday}")).Json!["total"]!.GetValue<int>());
            var instant = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-1).ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(totalAll, (await GetAsync(http, $"/api/devices/{deviceId}/results?from={instant}")).Json!["total"]!.GetValue<int>());

            // Bad parameters: 400 with the reason; unknown things: 404.
            AssertProblem(await GetAsync(http, $"/api/devices/{deviceId}/results?from=yesterday"), HttpStatusCode.BadRequest, "from must be an ISO 8601");
            AssertProblem(await GetAsync(http, $"/api/devices/{deviceId}/results?to=2026-02-30"), HttpStatusCode.BadRequest, "to must be an ISO 8601");
            AssertProblem(await GetAsync(http, $"/api/devices/{deviceId}/results?from={tomorrow}&to={yesterday}"), HttpStatusCode.BadRequest, "from is after to");
            AssertProblem(await GetAsync(http, $"/api/devices/{deviceId}/results?test=ct-bogus"), HttpStatusCode.BadRequest, "test must be one of");
            AssertProblem(await GetAsync(http, $"/api/devices/{deviceId}/results?limit=0"), HttpStatusCode.BadRequest, "limit must be");
            AssertProblem(await GetAsync(http, $"/api/devices/{deviceId}/results?offset=-1"), HttpStatusCode.BadRequest, "offset must be");
            AssertProblem(await GetAsync(http, "/api/devices/abc"), HttpStatusCode.BadRequest, "id must be a positive integer");
            AssertProblem(await GetAsync(http, "/api/devices/0/results"), HttpStatusCode.BadRequest, "id must be a positive integer");
            AssertProblem(await GetAsync(http, "/api/devices/99999"), HttpStatusCode.NotFound, "no such device");
            AssertProblem(await GetAsync(http, "/api/devices/99999/results"), HttpStatusCode.NotFound, "no such device");
            AssertProblem(await GetAsync(http, "/api/results/99999"), HttpStatusCode.NotFound, "no such result");
            AssertProblem(await GetAsync(http, "/api/results/x1"), HttpStatusCode.BadRequest, "id must be");
            AssertProblem(await GetAsync(http, "/api/series/1.2.3.999/results"), HttpStatusCode.NotFound, "no such series");
            AssertProblem(await GetAsync(http, "/api/series/not..a.uid/results"), HttpStatusCode.BadRequest, "not a valid DICOM UID");

            // The series: every result (one claim so far) and its label findings.
            var s1 = await GetAsync(http, $"/api/series/{series}/results");
            Assert.Equal(HttpStatusCode.OK, s1.Status);
            bodies.Add(s1.Text);
            Assert.Equal((study, "analyzed", 3), (s1.Json!["studyInstanceUid"]!.GetValue<string>(), s1.Json!["state"]!.GetValue<string>(), s1.Json!["instanceCount"]!.GetValue<int>()));
            Assert.Equal(totalAll, s1.Json!["results"]!.AsArray().Count);
            Assert.NotNull(s1.Json!["findings"] as JsonArray);
            int findingsCount = await CountFindingsAsync(svc, series);
            Assert.Equal(findingsCount, s1.Json!["findings"]!.AsArray().Count);

            // One result: the whole analysis output, with ROI geometry and the analysed images.
            var detail = await GetAsync(http, $"/api/results/{waterId}");
            Assert.Equal(HttpStatusCode.OK, detail.Status);
            bodies.Add(detail.Text);
            var rois = detail.Json!["result"]!["rois"]!.AsArray();
            Assert.NotEmpty(rois);
            Assert.Equal(3, detail.Json!["images"]!.AsArray().Count);
            Assert.Equal(files.Select(f => f.SopInstanceUid).Order(StringComparer.Ordinal),
                detail.Json!["images"]!.AsArray().Select(i => i!["sopInstanceUid"]!.GetValue<string>()).Order(StringComparer.Ordinal));
            Assert.Equal($"/api/results/{waterId}/overlay.png", detail.Json!["overlayUrl"]!.GetValue<string>());
            Assert.NotNull(detail.Json!["result"]!["warnings"] as JsonArray);

            // The overlay: a PNG of the analysed image (512² CT drawn 1:1, legend band below) with the ROIs in their colour.
            using (var png = await http.GetAsync(new Uri($"/api/results/{waterId}/overlay.png", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, png.StatusCode);
                Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
                using var bitmap = SKBitmap.Decode(await png.Content.ReadAsByteArrayAsync());
                Assert.NotNull(bitmap);
                Assert.Equal(512, bitmap.Width);
                Assert.True(bitmap.Height > 512, $"height {bitmap.Height}");
                int frame = rois.Min(r => r!["frame"]!.GetValue<int>());
                var centre = rois.First(r => r!["frame"]!.GetValue<int>() == frame && r!["shape"]!.GetValue<string>() == "circle")!;
                AssertRoiColoured(bitmap, centre);
            }
            AssertProblem(await GetAsync(http, $"/api/results/{waterId}/overlay.png?frame=7"), HttpStatusCode.BadRequest, "frame must be 0 to 2");
            AssertProblem(await GetAsync(http, $"/api/results/{waterId}/overlay.png?frame=x"), HttpStatusCode.BadRequest, "frame must be");

            // No patient name or ID in any answer.
            foreach (var body in bodies)
            {
                Assert.DoesNotContain(patientName, body, StringComparison.Ordinal);
                if (patientId.Length > 0) Assert.DoesNotContain(patientId, body, StringComparison.Ordinal);
                Assert.DoesNotContain("patientName", body, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("patientId", body, StringComparison.OrdinalIgnoreCase);
            }

            // Edit the device: names and limits so tight that water must fail. The edit is audited with who, old, new and why.
            const string tight = """{"id":"ct2-tight","version":1,"kind":"constancy","limits":{"ct.water_hu":{"min":50,"max":60}}}""";
            var patch = await SendJsonAsync(http, HttpMethod.Patch, $"/api/devices/{deviceId}",
                $$"""{"displayName":"CT 2, east wing","site":"Main campus","limits":{{tight}},"reason":"test of the alert path"}""");
            Assert.True(patch.Status == HttpStatusCode.OK, patch.Text);
            Assert.Equal(("CT 2, east wing", "Main campus", true), (patch.Json!["displayName"]!.GetValue<string>(), patch.Json!["site"]!.GetValue<string>(),
                patch.Json!["hasLimitsOverride"]!.GetValue<bool>()));
            Assert.Equal(("ct2-tight", 50.0), (patch.Json!["effectiveLimits"]!["id"]!.GetValue<string>(),
                patch.Json!["effectiveLimits"]!["limits"]!["ct.water_hu"]!["min"]!.GetValue<double>()));
            var audit = await GetAsync(http, $"/api/devices/{deviceId}/audit");
            var row = Assert.Single(audit.Json!["items"]!.AsArray())!;
            Assert.Equal(("loopback", "device.update", "test of the alert path"), (row["actor"]!.GetValue<string>(), row["action"]!.GetValue<string>(),
                row["detail"]!["reason"]!.GetValue<string>()));
            Assert.Equal((null, "CT 2, east wing"), ((string?)row["detail"]!["changes"]!["displayName"]!["old"], row["detail"]!["changes"]!["displayName"]!["new"]!.GetValue<string>()));
            Assert.Null(row["detail"]!["changes"]!["limits"]!["old"]);
            Assert.Equal("ct2-tight", row["detail"]!["changes"]!["limits"]!["new"]!["id"]!.GetValue<string>());

            // Bad edits: 400 with the reason, nothing changed, nothing audited.
            async Task BadPatch(string body, string reason)
            {
                var r = await SendJsonAsync(http, HttpMethod.Patch, $"/api/devices/{deviceId}", body);
                Assert.True(r.Status == HttpStatusCode.BadRequest, $"{body}: {r.Status} {r.Text}");
                Assert.Contains(reason, r.Json!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
            }
            await BadPatch("""{"limits":{"version":2,"limits":{}}}""", "needs an \"id\"");
            await BadPatch("""{"limits":{"id":"x","limits":{"ct.water_hu":{"min":"low"}}}}""", "limits:");
            await BadPatch("""{"limits":{"id":"ct2-tight","version":1,"limits":{"ct.water_hu":{"min":40,"max":60}}}}""", "needs a higher version");
            await BadPatch("""{"limits":{"id":"default-constancy","version":9}}""", "built-in default");
            await BadPatch("""{"limits":[1,2]}""", "limits must be a limit set object");
            await BadPatch("""{"colour":"red"}""", "unknown field 'colour'");
            await BadPatch("""{"reason":"only a reason"}""", "nothing to change");
            await BadPatch("""{"modality":"C T!"}""", "modality must be");
            await BadPatch("""[1]""", "must be a JSON object");
            await BadPatch("""{"displayName": 5}""", "displayName must be a string");
            await BadPatch("{ nope", "not valid JSON");
            Assert.Equal(HttpStatusCode.NotFound, (await SendJsonAsync(http, HttpMethod.Patch, "/api/devices/99999", """{"site":"x"}""")).Status);
            using (var plain = new HttpRequestMessage(HttpMethod.Patch, $"/api/devices/{deviceId}") { Content = new StringContent("site=x", Encoding.UTF8, "text/plain") })
                Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await http.SendAsync(plain)).StatusCode);
            Assert.Single((await GetAsync(http, $"/api/devices/{deviceId}/audit")).Json!["items"]!.AsArray());

            // Re-analysis: a new claim, a new result beside the old one, judged by the new limits.
            var re = await SendJsonAsync(http, HttpMethod.Post, $"/api/series/{series}/reanalyze", """{"reason":"limits changed"}""");
            Assert.True(re.Status == HttpStatusCode.Accepted, re.Text);
            var claim = Guid.Parse(re.Json!["claimId"]!.GetValue<string>());
            Assert.Equal("reanalyze", re.Json!["reason"]!.GetValue<string>());
            var s2 = await Eventually(() => GetAsync(http, $"/api/series/{series}/results"),
                r => r.Json!["results"]!.AsArray().Count(x => x!["profile"]!.GetValue<string>() == "ct-water") == 2 && r.Json!["state"]!.GetValue<string>() == "analyzed",
                TimeSpan.FromSeconds(90), "the re-analysis");
            var waters = s2.Json!["results"]!.AsArray().Where(x => x!["profile"]!.GetValue<string>() == "ct-water").ToList();
            var newest = waters[0]!;
            Assert.Equal((claim, "reanalyze", "fail", "ct2-tight", 1), (Guid.Parse(newest["claimId"]!.GetValue<string>()), newest["reason"]!.GetValue<string>(),
                newest["verdict"]!.GetValue<string>(), newest["limitSet"]!["id"]!.GetValue<string>(), newest["limitSet"]!["version"]!.GetValue<int>()));
            var newHu = newest["metrics"]!.AsArray().First(m => m!["name"]!.GetValue<string>() == MetricNames.CtWaterHu)!;
            Assert.Equal((50.0, 60.0, "fail"), (newHu["limitMin"]!.GetValue<double>(), newHu["limitMax"]!.GetValue<double>(), newHu["verdict"]!.GetValue<string>()));
            Assert.Equal(waterId, waters[1]!["id"]!.GetValue<long>()); // the first result is still there, unchanged
            Assert.Equal("pass", waters[1]!["verdict"]!.GetValue<string>());
            var latest = (await GetAsync(http, "/api/devices")).Json!.AsArray()[0]!["latest"]!.AsArray().First(l => l!["profile"]!.GetValue<string>() == "ct-water")!;
            Assert.Equal("fail", latest["verdict"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.NotFound, (await SendJsonAsync(http, HttpMethod.Post, "/api/series/1.2.3.999/reanalyze", null)).Status);
            Assert.Equal(HttpStatusCode.BadRequest, (await SendJsonAsync(http, HttpMethod.Post, "/api/series/abc/reanalyze", null)).Status);
            var audits = await AuditRowsAsync(svc, "series", series);
            var reAudit = Assert.Single(audits);
            Assert.Equal(("loopback", "series.reanalyze"), (reAudit.Actor, reAudit.Action));
            Assert.Contains(claim.ToString(), reAudit.Detail, StringComparison.Ordinal);
            Assert.Contains("limits changed", reAudit.Detail, StringComparison.Ordinal);

            // Images gone: the overlay is 404 with the reason.
            Directory.Delete(Path.Combine(svc.DataPath, "instances", study), recursive: true);
            AssertProblem(await GetAsync(http, $"/api/results/{waterId}/overlay.png"), HttpStatusCode.NotFound, "no longer stored");
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task A_result_without_ROI_geometry_has_no_overlay()
    {
        await using var svc = await StartAsync();
        var store = svc.Services.GetRequiredService<ResultStore>();
        var device = await store.ResolveDeviceAsync(new DeviceIdentity(null, "CT9", null));
        var inconclusive = AnalysisResult.InconclusiveBecause("auto", "router/1.0", LimitSet.Default.Reference, "no phantom found");
        var (record, _) = await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.4", device.Id, inconclusive, 1, "quiet", TimeSpan.Zero));
        using var http = svc.CreateHttpClient();
        var detail = await GetAsync(http, $"/api/results/{record.Id}");
        Assert.Equal(HttpStatusCode.OK, detail.Status);
        Assert.Null(detail.Json!["overlayUrl"]);
        Assert.Equal("no phantom found", detail.Json!["inconclusiveReason"]!.GetValue<string>());
        AssertProblem(await GetAsync(http, $"/api/results/{record.Id}/overlay.png"), HttpStatusCode.NotFound, "no ROI geometry");
        // Known from its results alone (not in the index): the series answers, with no state.
        var s = await GetAsync(http, "/api/series/1.2.3.4/results");
        Assert.Equal(HttpStatusCode.OK, s.Status);
        Assert.Null(s.Json!["state"]);
        Assert.Single(s.Json!["results"]!.AsArray());
    }

    internal static void AssertRoiColoured(SKBitmap bitmap, JsonNode circle)
    {
        int scale = 1;
        double cx = (circle["centerX"]!.GetValue<double>() + 0.5) * scale, cy = (circle["centerY"]!.GetValue<double>() + 0.5) * scale;
        double radius = circle["radius"]!.GetValue<double>() * scale;
        int hits = 0;
        // Four points of the outline (right, left, bottom, top): each has the ROI colour within 2 px.
        foreach (var (px, py) in new[] { ((int)Math.Round(cx + radius), (int)Math.Round(cy)), ((int)Math.Round(cx - radius), (int)Math.Round(cy)),
                     ((int)Math.Round(cx), (int)Math.Round(cy + radius)), ((int)Math.Round(cx), (int)Math.Round(cy - radius)) })
        {
            bool found = false;
            for (int dy = -2; dy <= 2; dy++)
                for (int dx = -2; dx <= 2; dx++)
                    found |= bitmap.GetPixel(px + dx, py + dy) == RoiOverlay.RoiColor;
            if (found) hits++;
        }
        Assert.True(hits >= 3, $"only {hits} of 4 outline points of the ROI have its colour");
        // Inside the ROI, away from the outline, the image is grey (water at level 0 HU), not the ROI colour.
        var inside = bitmap.GetPixel((int)cx, (int)cy);
        Assert.Equal(inside.Red, inside.Green);
        Assert.InRange(inside.Red, 100, 160);
    }

    private static async Task<int> CountFindingsAsync(InProcessService svc, string series)
    {
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
            return await db.LabelFindings.CountAsync(f => f.SeriesInstanceUid == series);
    }

    internal static async Task<List<AuditRecord>> AuditRowsAsync(InProcessService svc, string entity, string key)
    {
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
            return await db.Audit.Where(a => a.Entity == entity && a.EntityKey == key).OrderBy(a => a.Id).ToListAsync();
    }
}

public sealed class ResultsApiSqliteTests : ResultsApiContract
{
    protected override Task<InProcessService> StartAsync(params string[] args) => InProcessService.StartAsync(null, args);
}

[Collection(PostgresCollection.Name)]
public sealed class ResultsApiPostgresTests(PostgresFixture pg) : ResultsApiContract
{
    protected override async Task<InProcessService> StartAsync(params string[] args)
    {
        var cs = await pg.CreateDatabaseAsync();
        return await InProcessService.StartAsync(null, ["--Database:Provider=Postgres", $"--Database:ConnectionString={cs}", .. args]);
    }
}

/// <summary>Who may use the results API (README "API"), and its OpenAPI document and reference page.</summary>
public sealed class ResultsApiAuthAndDocsTests
{
    private const string PhysicistKey = "physicist-key-0123456789";
    private const string ViewerKey = "viewer-key-0123456789abc";
    private const string DefaultKey = "default-key-0123456789ab";

    private static readonly string[] KeyArgs =
    [
        "--Http:Auth:Mode=Required",
        "--Http:Auth:ApiKeys:0:Name=physicist", $"--Http:Auth:ApiKeys:0:Key={PhysicistKey}", "--Http:Auth:ApiKeys:0:Scopes:0=read", "--Http:Auth:ApiKeys:0:Scopes:1=manage",
        "--Http:Auth:ApiKeys:1:Name=viewer", $"--Http:Auth:ApiKeys:1:Key={ViewerKey}", "--Http:Auth:ApiKeys:1:Scopes:0=read",
        "--Http:Auth:ApiKeys:2:Name=router", $"--Http:Auth:ApiKeys:2:Key={DefaultKey}",
    ];

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, HttpMethod method, string path, string? key, string? body = null)
    {
        using var req = new HttpRequestMessage(method, path);
        if (key is not null) req.Headers.Add("X-Api-Key", key);
        if (body is not null) req.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var resp = await http.SendAsync(req);
        return resp.StatusCode;
    }

    [Fact]
    public async Task Without_a_key_401_with_a_read_key_edits_are_403_and_the_manage_scope_edits_with_its_name_in_the_audit()
    {
        await using var svc = await InProcessService.StartAsync(null, KeyArgs);
        var device = await svc.Services.GetRequiredService<ResultStore>().ResolveDeviceAsync(new DeviceIdentity("SN-77", null, "DX1"));
        var seriesUid = Support.NewUid();
        using var http = svc.CreateHttpClient();
        string[] reads = ["/api/devices", $"/api/devices/{device.Id}", $"/api/devices/{device.Id}/results", $"/api/devices/{device.Id}/audit",
            $"/api/series/{seriesUid}/results", "/api/results/1", "/api/results/1/overlay.png"];
        foreach (var path in reads)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(http, HttpMethod.Get, path, null));
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(http, HttpMethod.Get, path, "wrong-key-0123456789abcdef"));
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(http, HttpMethod.Patch, $"/api/devices/{device.Id}", null, """{"site":"x"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(http, HttpMethod.Post, $"/api/series/{seriesUid}/reanalyze", null));

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, HttpMethod.Get, "/api/devices", ViewerKey));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, HttpMethod.Get, $"/api/devices/{device.Id}", ViewerKey));
        // A read-only key, and a key without a scope list (store and read by default), may not edit or re-analyse.
        foreach (var key in new[] { ViewerKey, DefaultKey })
        {
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(http, HttpMethod.Patch, $"/api/devices/{device.Id}", key, """{"site":"x"}"""));
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(http, HttpMethod.Post, $"/api/series/{seriesUid}/reanalyze", key));
        }
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, HttpMethod.Get, "/api/devices", DefaultKey));

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, HttpMethod.Patch, $"/api/devices/{device.Id}", PhysicistKey, """{"site":"Radiology","reason":"moved"}"""));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(http, HttpMethod.Post, $"/api/series/{seriesUid}/reanalyze", PhysicistKey));
        var audit = Assert.Single(await ResultsApiContract.AuditRowsAsync(svc, "device", device.Key));
        Assert.Equal(("physicist", "device.update"), (audit.Actor, audit.Action));
        Assert.Contains("Radiology", audit.Detail, StringComparison.Ordinal);
        Assert.Contains("moved", audit.Detail, StringComparison.Ordinal);

        // The description of the API stays anonymous (no data in it), so a browser can open the reference page.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, HttpMethod.Get, "/openapi/v1.json", null));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, HttpMethod.Get, "/api/docs", null));
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_every_api_route_and_the_reference_page_needs_no_CDN()
    {
        await using var svc = await InProcessService.StartAsync();
        using var http = svc.CreateHttpClient();
        var doc = await ResultsApiContract.GetAsync(http, "/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, doc.Status);
        var paths = doc.Json!["paths"]!.AsObject();

        // Every /api route the service maps (but the reference page's own) is in the document, with a name and a summary.
        var routes = svc.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => (Pattern: "/" + System.Text.RegularExpressions.Regex.Replace(e.RoutePattern.RawText!.Trim('/'), @"\{(\w+):[^}]+\}", "{$1}"), Methods: e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? []))
            .Where(r => r.Pattern.StartsWith("/api/", StringComparison.Ordinal) && !r.Pattern.StartsWith("/api/docs", StringComparison.Ordinal))
            .ToList();
        Assert.True(routes.Count >= 10, string.Join(", ", routes.Select(r => r.Pattern)));
        foreach (var (pattern, methods) in routes)
        {
            Assert.True(paths.ContainsKey(pattern), $"{pattern} is not in the OpenAPI document");
            foreach (var method in methods)
            {
                var op = paths[pattern]![method.ToLowerInvariant()];
                Assert.True(op is not null, $"{method} {pattern} is not in the OpenAPI document");
                Assert.False(string.IsNullOrEmpty((string?)op!["operationId"]), $"{method} {pattern} has no operationId");
                Assert.False(string.IsNullOrEmpty((string?)op!["summary"]), $"{method} {pattern} has no summary");
            }
        }
        foreach (var p in new[] { "/api/devices", "/api/devices/{id}", "/api/devices/{id}/results", "/api/series/{uid}/results", "/api/results/{id}",
                     "/api/results/{id}/overlay.png", "/api/series/{uid}/reanalyze", "/dicom-web/studies", "/health/ready", "/health/live" })
            Assert.True(paths.ContainsKey(p), $"{p} is not in the OpenAPI document");
        Assert.NotNull(paths["/api/devices/{id}"]!["patch"]!["requestBody"]);
        Assert.NotNull(paths["/api/results/{id}/overlay.png"]!["get"]!["responses"]!["200"]!["content"]!["image/png"]);
        Assert.NotNull(doc.Json!["components"]!["securitySchemes"]!["ApiKey"]);
        Assert.Equal("QIDO-RS: search studies", (string?)paths["/dicom-web/studies"]!["get"]!["summary"]);

        // The reference page loads its script from this service, not from a CDN, and asks for the document above.
        var page = await ResultsApiContract.GetAsync(http, "/api/docs");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("text/html", page.MediaType);
        var scripts = System.Text.RegularExpressions.Regex.Matches(page.Text, "<script[^>]*\\ssrc=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(scripts);
        Assert.DoesNotContain(scripts, s => s.StartsWith("http", StringComparison.OrdinalIgnoreCase) || s.StartsWith("//", StringComparison.Ordinal));
        Assert.DoesNotContain("cdn.jsdelivr", page.Text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("fonts.scalar.com", page.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("openapi/v1.json", page.Text, StringComparison.Ordinal);
        int bundle = 0;
        foreach (var src in scripts)
        {
            var script = await ResultsApiContract.GetAsync(http, new Uri(new Uri(svc.HttpBase, "/api/docs/"), src).PathAndQuery);
            Assert.Equal(HttpStatusCode.OK, script.Status);
            Assert.Contains("javascript", script.MediaType, StringComparison.Ordinal);
            Assert.True(script.Text.Length > 1000, $"{src}: {script.Text.Length} characters");
            bundle = Math.Max(bundle, script.Text.Length);
        }
        // The reference itself (megabytes of JavaScript) is among them, served from the package.
        Assert.True(bundle > 1_000_000, $"largest script {bundle} characters");
    }
}
