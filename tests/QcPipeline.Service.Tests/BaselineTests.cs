using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Phantoms.Dr;
using QcPipeline.Phantoms.Mr;
using QcPipeline.Service.ResultsStore;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>Baselines set from a chosen result (<c>POST /api/devices/{id}/baselines</c>): a new limits version of the device,
/// audited with who, when, why and which result, by which the device's later analyses are judged; and the limits history.</summary>
public sealed class BaselineTests(ITestOutputHelper output)
{
    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    private static async Task<JsonElement> Post(HttpClient http, long device, string json, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var r = await http.PostAsync($"/api/devices/{device}/baselines", Body(json));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expected, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Sends a simulated MR uniform-phantom series (two images of one slice) by storescu and waits for its
    /// mr-uniform result.</summary>
    private static async Task<ResultRecord> SendMrAsync(InProcessService svc, string dir, int seed, double noiseSigma)
    {
        var series = MrPhantom.Generate(new MrOptions { Seed = seed, NoiseSigma = noiseSigma, GhostAmplitude = 0.02 });
        series.WriteTo(dir);
        var store = await Support.StoreScuAsync(svc.DicomPort, Directory.GetFiles(dir, "*.dcm").Order(StringComparer.Ordinal), callingAe: "MRSCANNER");
        Assert.True(store.ExitCode == 0, store.All);
        var factory = svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>();
        var until = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < until)
        {
            var db = await factory.CreateDbContextAsync();
            await using (db)
            {
                var r = await db.Results.AsNoTracking().Include(x => x.Metrics)
                    .FirstOrDefaultAsync(x => x.SeriesInstanceUid == series.Manifest.SeriesInstanceUid && x.Profile == "mr-uniform");
                if (r is not null) return r;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"no mr-uniform result for the series of seed {seed}");
    }

    [Fact]
    public async Task An_MR_SNR_baseline_from_a_chosen_result_judges_the_later_analyses_and_is_audited()
    {
        var input = Support.NewTempDir("qcbase");
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:QuietPeriod=00:00:01", "--Pipeline:SweepInterval=00:00:00.5");
        try
        {
            var http = svc.CreateHttpClient();
            // The first run: SNR measured, but with no baseline stored its verdict is inconclusive.
            var first = await SendMrAsync(svc, Path.Combine(input, "a"), seed: 41, noiseSigma: 5);
            var snr = first.Metrics.Single(m => m.Name == "mr.snr");
            Assert.Equal("inconclusive", snr.Verdict);
            double baseline = snr.Value!.Value;
            output.WriteLine($"baseline SNR {baseline}");

            // The physicist makes it the baseline.
            var set = await Post(http, first.DeviceId, $$"""{"resultId":{{first.Id}},"reason":"acceptance test 2026, new coil"}""");
            Assert.Equal((first.Id, "mr-uniform"), (set.GetProperty("resultId").GetInt64(), set.GetProperty("test").GetString()));
            Assert.Equal(($"device-{first.DeviceId}", 1), (set.GetProperty("limitSet").GetProperty("id").GetString(), set.GetProperty("limitSet").GetProperty("version").GetInt32()));
            var b = Assert.Single(set.GetProperty("baselines").EnumerateArray());
            Assert.Equal(("mr.snr", baseline, 0.10), (b.GetProperty("metric").GetString(), b.GetProperty("value").GetDouble(), b.GetProperty("tolerance").GetDouble()));
            Assert.Equal(baseline * 0.9, b.GetProperty("limitMin").GetDouble(), 1e-9);
            Assert.Equal(baseline * 1.1, b.GetProperty("limitMax").GetDouble(), 1e-9);
            // The device's limits of now (what its next analysis uses) carry it.
            var device = await Json(await http.GetAsync($"/api/devices/{first.DeviceId}"));
            Assert.Equal(baseline * 0.9, device.GetProperty("effectiveLimits").GetProperty("limits").GetProperty("mr.snr").GetProperty("min").GetDouble(), 1e-9);

            // A later scan with three times the noise: its SNR is far below the baseline, and it fails, judged by the new set.
            var noisy = await SendMrAsync(svc, Path.Combine(input, "b"), seed: 42, noiseSigma: 15);
            var noisySnr = noisy.Metrics.Single(m => m.Name == "mr.snr");
            output.WriteLine($"noisy SNR {noisySnr.Value}");
            Assert.Equal(("fail", "fail"), (noisySnr.Verdict, noisy.Verdict));
            Assert.Equal(baseline * 0.9, noisySnr.LimitMin!.Value, 1e-9);
            Assert.Equal(baseline * 1.1, noisySnr.LimitMax!.Value, 1e-9);
            Assert.Equal(($"device-{first.DeviceId}", 1), (noisy.LimitSetId, noisy.LimitSetVersion));
            // One like the first passes.
            var good = await SendMrAsync(svc, Path.Combine(input, "c"), seed: 43, noiseSigma: 5);
            Assert.Equal("pass", good.Metrics.Single(m => m.Name == "mr.snr").Verdict);

            // A new baseline from another result is a new version; both are in the history, newest first, with who/when/why.
            await Post(http, first.DeviceId, $$"""{"resultId":{{good.Id}},"metrics":["mr.snr"],"reason":"after service visit"}""");
            var history = await Json(await http.GetAsync($"/api/devices/{first.DeviceId}/limits/history"));
            Assert.Equal(2, history.GetProperty("inForce").GetProperty("version").GetInt32());
            var versions = history.GetProperty("versions").EnumerateArray().ToList();
            Assert.Equal([2, 1], versions.Select(v => v.GetProperty("limitSet").GetProperty("version").GetInt32()));
            Assert.Equal([good.Id, first.Id], versions.Select(v => v.GetProperty("resultId").GetInt64()));
            Assert.Equal(["after service visit", "acceptance test 2026, new coil"], versions.Select(v => v.GetProperty("reason").GetString()));
            Assert.All(versions, v => Assert.Equal(("loopback", "device.baseline"), (v.GetProperty("actor").GetString(), v.GetProperty("action").GetString())));

            // The audit rows themselves: who, when, why, which result, old and new limits.
            var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
            await using (db)
            {
                var rows = await db.Audit.AsNoTracking().Where(a => a.Action == "device.baseline").OrderBy(a => a.Id).ToListAsync();
                Assert.Equal(2, rows.Count);
                var d = JsonDocument.Parse(rows[0].Detail!).RootElement;
                Assert.Equal(first.Id, d.GetProperty("resultId").GetInt64());
                Assert.Equal(JsonValueKind.Null, d.GetProperty("changes").GetProperty("limits").GetProperty("old").ValueKind);
                Assert.Equal(1, d.GetProperty("changes").GetProperty("limits").GetProperty("new").GetProperty("version").GetInt32());
                Assert.True(rows[0].At <= rows[1].At && rows[0].At > DateTimeOffset.UtcNow.AddMinutes(-5));
            }
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    private static AnalysisResult Dark(double mean, double sd) => new()
    {
        Profile = DrDark.Profile,
        AlgorithmVersion = "dr-dark/1.0",
        Verdict = Verdict.Inconclusive,
        Metrics = [new MetricResult(DrDark.MeanMetric, mean, "PV", null, Verdict.Inconclusive, DrDark.NoBaseline),
                   new MetricResult(DrDark.SdMetric, sd, "PV", null, Verdict.Inconclusive, DrDark.NoBaseline)],
        LimitSet = LimitSet.Default.Reference,
    };

    private static AnalysisImage Flat(double level, double noise)
    {
        var rng = new Random(3);
        var px = new float[256 * 256];
        for (int i = 0; i < px.Length; i++) px[i] = (float)(level + noise * (rng.NextDouble() - 0.5) * Math.Sqrt(12));
        return new AnalysisImage { Width = 256, Height = 256, Pixels = px, Modality = "DX", PresentationIntentType = "FOR PROCESSING", PixelSpacingX = 0.2, PixelSpacingY = 0.2 };
    }

    [Fact]
    public async Task A_DR_dark_baseline_keeps_the_other_overrides_and_bad_requests_get_400_or_404()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false");
        var store = svc.Services.GetRequiredService<ResultStore>();
        var dr = await store.ResolveDeviceAsync(new DeviceIdentity("SN-DR1", "DR01", null, Modality: "DX"));
        var other = await store.ResolveDeviceAsync(new DeviceIdentity("SN-DR2", "DR02", null, Modality: "DX"));
        var dark = await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.1", dr.Id, Dark(100, 4), 1, "quiet", TimeSpan.Zero));
        var zero = await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.2", dr.Id, Dark(0, 4), 1, "quiet", TimeSpan.Zero));
        var ct = await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.3", dr.Id, new AnalysisResult
        {
            Profile = "ct-water", AlgorithmVersion = "x", Verdict = Verdict.Pass, LimitSet = LimitSet.Default.Reference,
            Metrics = [MetricResult.Judge(MetricNames.CtWaterHu, 1, "HU", Limit.Within(0, 6))],
        }, 1, "quiet", TimeSpan.Zero));
        var otherDark = await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.4", other.Id, Dark(90, 3), 1, "quiet", TimeSpan.Zero));
        var http = svc.CreateHttpClient();

        // The device already has an override (version 3 of its own set): the baseline is version 4 of that set, other limits kept.
        var patch = await http.PatchAsync($"/api/devices/{dr.Id}", Body("""
            {"reason":"site limits","limits":{"id":"dr1-site","version":3,"kind":"constancy","limits":{"dr.uniformity_cv_percent":{"min":null,"max":4}}}}
            """));
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        var set = await Post(http, dr.Id, $$"""{"resultId":{{dark.Record.Id}},"metrics":["dr.dark_mean"],"reason":"first dark image after install"}""");
        Assert.Equal(("dr1-site", 4), (set.GetProperty("limitSet").GetProperty("id").GetString(), set.GetProperty("limitSet").GetProperty("version").GetInt32()));
        var loaded = LimitSet.Load(set.GetProperty("limits").GetRawText(), LimitSet.Default);
        Assert.Equal(new Limit(50, 150), loaded.For(DrDark.MeanMetric));
        Assert.Null(loaded.For(DrDark.SdMetric)); // not asked for
        Assert.Equal(4, loaded.For(MetricNames.DrUniformityCv)!.Max);

        // The device's limits as the worker loads them judge a later dark image: far from the baseline fails, near it passes.
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        string limitsJson;
        await using (db) limitsJson = (await db.Devices.AsNoTracking().SingleAsync(d => d.Id == dr.Id)).LimitsJson!;
        var limits = LimitSet.Load(limitsJson, LimitSet.Default);
        Assert.Equal(Verdict.Fail, DrDark.Analyze(Flat(300, 4), limits: limits).Metrics.Single(m => m.Name == DrDark.MeanMetric).Verdict);
        var near = DrDark.Analyze(Flat(110, 4), limits: limits);
        Assert.Equal(Verdict.Pass, near.Metrics.Single(m => m.Name == DrDark.MeanMetric).Verdict);
        Assert.Equal(new LimitSetReference("dr1-site", 4, LimitKind.Constancy), near.LimitSet);

        // History: the edit (version 3) and the baseline (version 4), newest first.
        var history = await Json(await http.GetAsync($"/api/devices/{dr.Id}/limits/history"));
        Assert.Equal([("device.baseline", 4), ("device.update", 3)], history.GetProperty("versions").EnumerateArray()
            .Select(v => (v.GetProperty("action").GetString(), v.GetProperty("limitSet").GetProperty("version").GetInt32())));

        // Bad input: 400 with the reason; unknown device or result: 404.
        async Task Bad(string path, string json, HttpStatusCode status, string reason)
        {
            var r = await http.PostAsync(path, Body(json));
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == status, $"{json}: {(int)r.StatusCode} {text}");
            Assert.Contains(reason, JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        string url = $"/api/devices/{dr.Id}/baselines";
        await Bad("/api/devices/abc/baselines", """{"resultId":1,"reason":"x"}""", HttpStatusCode.BadRequest, "id must be a positive integer");
        await Bad(url, "[1]", HttpStatusCode.BadRequest, "JSON object");
        await Bad(url, """{"reason":"x"}""", HttpStatusCode.BadRequest, "resultId is required");
        await Bad(url, """{"resultId":"7","reason":"x"}""", HttpStatusCode.BadRequest, "resultId must be a positive integer");
        await Bad(url, $$"""{"resultId":{{dark.Record.Id}}}""", HttpStatusCode.BadRequest, "reason is required");
        await Bad(url, $$$"""{"resultId":{{{dark.Record.Id}}},"reason":"x","limits":{}}""", HttpStatusCode.BadRequest, "unknown field 'limits'");
        await Bad(url, $$"""{"resultId":{{dark.Record.Id}},"reason":"x","metrics":["ct.water_hu"]}""", HttpStatusCode.BadRequest, "not judged against a baseline");
        await Bad(url, $$"""{"resultId":{{dark.Record.Id}},"reason":"x","metrics":["mr.snr"]}""", HttpStatusCode.BadRequest, "has no mr.snr");
        await Bad(url, $$"""{"resultId":{{ct.Record.Id}},"reason":"x"}""", HttpStatusCode.BadRequest, "no metric judged against a baseline");
        await Bad(url, $$"""{"resultId":{{zero.Record.Id}},"reason":"x","metrics":["dr.dark_mean"]}""", HttpStatusCode.BadRequest, "is 0");
        await Bad(url, $$"""{"resultId":{{otherDark.Record.Id}},"reason":"x"}""", HttpStatusCode.BadRequest, $"not of device {dr.Id}");
        await Bad(url, """{"resultId":999999,"reason":"x"}""", HttpStatusCode.NotFound, "no such result");
        await Bad("/api/devices/999999/baselines", $$"""{"resultId":{{dark.Record.Id}},"reason":"x"}""", HttpStatusCode.NotFound, "no such device");
        var notJson = await http.PostAsync(url, new StringContent("resultId=1", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJson.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/devices/999999/limits/history")).StatusCode);
        // Nothing of the refused requests was written.
        db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db) Assert.Equal(1, await db.Audit.CountAsync(a => a.Action == "device.baseline"));
    }

    [Fact]
    public async Task Setting_a_baseline_needs_the_manage_scope_and_the_actor_is_audited()
    {
        const string ReadKey = "read-only-key-0123456789", ManageKey = "manage-key-0123456789ab";
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false", "--Http:Auth:Mode=Required",
            "--Http:Auth:ApiKeys:0:Name=dashboard", $"--Http:Auth:ApiKeys:0:Key={ReadKey}", "--Http:Auth:ApiKeys:0:Scopes:0=read",
            "--Http:Auth:ApiKeys:1:Name=physicist", $"--Http:Auth:ApiKeys:1:Key={ManageKey}", "--Http:Auth:ApiKeys:1:Scopes:0=manage", "--Http:Auth:ApiKeys:1:Scopes:1=read");
        var store = svc.Services.GetRequiredService<ResultStore>();
        var dr = await store.ResolveDeviceAsync(new DeviceIdentity("SN-DR9", "DR09", null, Modality: "DX"));
        var dark = await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.9", dr.Id, Dark(80, 3), 1, "quiet", TimeSpan.Zero));
        var http = svc.CreateHttpClient();
        var body = $$"""{"resultId":{{dark.Record.Id}},"reason":"baseline"}""";
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync($"/api/devices/{dr.Id}/baselines", Body(body))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"/api/devices/{dr.Id}/limits/history")).StatusCode);
        http.DefaultRequestHeaders.Add("X-API-Key", ReadKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PostAsync($"/api/devices/{dr.Id}/baselines", Body(body))).StatusCode);
        Assert.Empty((await Json(await http.GetAsync($"/api/devices/{dr.Id}/limits/history"))).GetProperty("versions").EnumerateArray());
        http.DefaultRequestHeaders.Remove("X-API-Key");
        http.DefaultRequestHeaders.Add("X-API-Key", ManageKey);
        var set = await Post(http, dr.Id, body);
        Assert.Equal(2, set.GetProperty("baselines").GetArrayLength()); // dark mean and SD
        var v = Assert.Single((await Json(await http.GetAsync($"/api/devices/{dr.Id}/limits/history"))).GetProperty("versions").EnumerateArray());
        Assert.Equal(("physicist", dark.Record.Id), (v.GetProperty("actor").GetString(), v.GetProperty("resultId").GetInt64()));
    }
}
