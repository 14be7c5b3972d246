using System.Net;
using System.Text.Json;
using Npgsql;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary><c>scripts/stack.sh</c>: the distributed topology on this machine (RabbitMQ, PostgreSQL, s3rver and Prometheus
/// from services.sh; a receiver, two workers and the API as separate processes on S3 storage). Three phantom studies go
/// in, a CT and an MR by storescu and a DR set by STOW-RS; each ends analysed once with the expected verdicts (read
/// through the API process), Prometheus has scraped the QC gauges from the API and the up series of all four processes,
/// and both workers did work.</summary>
public sealed class StackTests(ITestOutputHelper output)
{
    private static readonly string Script = Path.Combine(Support.RepoRoot, "scripts", "stack.sh");

    private static string Sample(string name, string key)
    {
        using var m = JsonDocument.Parse(File.ReadAllText(Path.Combine(Support.RepoRoot, "phantoms", name, "manifest.json")));
        return m.RootElement.GetProperty(key).GetString()!;
    }

    private static string[] Files(string name) =>
        Directory.GetFiles(Path.Combine(Support.RepoRoot, "phantoms", name), "*.dcm").Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public async Task Three_studies_through_the_stack_are_analysed_scraped_and_shared_by_both_workers()
    {
        var dir = Support.NewTempDir("qcstack");
        var env = new Dictionary<string, string> { ["QC_STACK_DIR"] = dir };
        try
        {
            var start = await Support.RunAsync("bash", [Script, "start"], TimeSpan.FromMinutes(6), env);
            output.WriteLine(start.All);
            Assert.True(start.ExitCode == 0, start.All);
            var stack = File.ReadAllLines(Path.Combine(dir, "stack.env")).Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
                .GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1]);

            // Three studies: CT and MR by C-STORE, DR by STOW-RS.
            var dimse = Files("ct-water-200mm").Concat(Files("mr-uniform")).ToList();
            // The samples are RLE Lossless as written: -xr proposes it, so storescu sends them as they are.
            var store = await Support.StoreScuAsync(int.Parse(stack["STACK_DICOM_PORT"]), dimse, callingAe: "CTSCANNER", timeout: TimeSpan.FromSeconds(120), options: ["-xr"]);
            Assert.True(store.ExitCode == 0, store.All);
            Assert.Equal(dimse.Count, Support.StoreResponses(store.All).Count(r => r.Value == "Success"));
            using (var http = new HttpClient { BaseAddress = new Uri(stack["STACK_RECEIVER_URL"]) })
            {
                using var stow = await http.SendAsync(StowSupport.Request("/dicom-web/studies", StowSupport.Body([.. Files("dr-flat").Select(File.ReadAllBytes)])));
                Assert.Equal(HttpStatusCode.OK, stow.StatusCode);
            }

            // Results, through the API process.
            var expected = new Dictionary<string, (string Profile, string Verdict)>
            {
                [Sample("ct-water-200mm", "seriesInstanceUid")] = ("ct-water", "pass"),
                [Sample("mr-uniform", "seriesInstanceUid")] = ("mr-uniform", "inconclusive"), // SNR: no baseline yet
                [Sample("dr-flat", "seriesInstanceUid")] = ("dr-uniformity", "pass"),
            };
            using var api = new HttpClient { BaseAddress = new Uri(stack["STACK_API_URL"]) };
            foreach (var (series, (profile, verdict)) in expected)
            {
                var verdicts = await SeriesAssemblyScenarios.Eventually(async () =>
                {
                    using var r = await api.GetAsync($"/api/series/{series}/results");
                    if (r.StatusCode != HttpStatusCode.OK) return new Dictionary<string, string>();
                    using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
                    return Items(doc.RootElement).ToDictionary(e => e.GetProperty("profile").GetString()!, e => e.GetProperty("verdict").GetString()!);
                }, v => v.ContainsKey(profile), TimeSpan.FromMinutes(3));
                Assert.True(verdicts.TryGetValue(profile, out var got), $"no {profile} result for {series}: {Logs(dir)}");
                Assert.Equal(verdict, got);
            }

            // Exactly one claim per series, and both workers took part (each result names its worker process).
            await using (var db = new NpgsqlConnection(stack["POSTGRES_CONNECTION"]))
            {
                await db.OpenAsync();
                await using var cmd = new NpgsqlCommand("""SELECT "SeriesInstanceUid", count(DISTINCT "ClaimId"), string_agg(DISTINCT "Worker", ',') FROM "Results" GROUP BY 1""", db);
                await using var reader = await cmd.ExecuteReaderAsync();
                var workers = new HashSet<string>();
                int seriesCount = 0;
                while (await reader.ReadAsync())
                {
                    seriesCount++;
                    Assert.Equal(1L, reader.GetInt64(1));
                    foreach (var w in reader.GetString(2).Split(',')) workers.Add(w);
                }
                Assert.Equal(3, seriesCount);
                var pids = new[] { stack["STACK_WORKER1_PID"], stack["STACK_WORKER2_PID"] };
                Assert.Equal(pids.Order(), workers.Select(w => w.Split('/').Last()).Order());
            }
            // Nothing was read from a shared folder: each worker's own spool holds no instances (they came from S3).
            Assert.False(Directory.Exists(Path.Combine(dir, "worker-1", "data", "instances")) && Directory.EnumerateFiles(Path.Combine(dir, "worker-1", "data", "instances"), "*", SearchOption.AllDirectories).Any());

            // Prometheus scraped the four processes and has the QC gauges of the three devices' tests.
            using var prom = new HttpClient { BaseAddress = new Uri(stack["PROMETHEUS_URL"]) };
            async Task<List<JsonElement>> Query(string q)
            {
                var text = await prom.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString(q));
                using var doc = JsonDocument.Parse(text);
                return doc.RootElement.GetProperty("data").GetProperty("result").EnumerateArray().Select(e => e.Clone()).ToList();
            }
            var up = await SeriesAssemblyScenarios.Eventually(() => Query("up == 1"), r => r.Count == 4, TimeSpan.FromSeconds(60));
            Assert.Equal(4, up.Count);
            static string? Test(JsonElement x) => x.GetProperty("metric").TryGetProperty("test", out var t) ? t.GetString() : null;
            var run = await SeriesAssemblyScenarios.Eventually(() => Query("qc_test_last_run_timestamp_seconds"),
                r => expected.Values.All(e => r.Any(x => Test(x) == e.Profile)), TimeSpan.FromSeconds(60));
            var passed = await Query("qc_test_passed == 1");
            foreach (var e in expected.Values)
            {
                Assert.Contains(run, x => Test(x) == e.Profile);
                if (e.Verdict == "pass") Assert.Contains(passed, x => Test(x) == e.Profile);
            }
            var analyses = await SeriesAssemblyScenarios.Eventually(() => Query("sum(qc_results_recorded_total)"),
                r => r.Count == 1 && double.Parse(r[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 0, TimeSpan.FromSeconds(60));
            Assert.Single(analyses);
        }
        finally
        {
            var stop = await Support.RunAsync("bash", [Script, "stop"], TimeSpan.FromMinutes(2), env);
            output.WriteLine(stop.All);
            Support.TryDeleteDir(dir);
        }
    }

    private static IEnumerable<JsonElement> Items(JsonElement root) =>
        root.ValueKind == JsonValueKind.Array ? root.EnumerateArray()
        : root.TryGetProperty("results", out var r) ? r.EnumerateArray() : Enumerable.Empty<JsonElement>();

    private static string Logs(string dir) =>
        string.Join('\n', new[] { "receiver", "worker-1", "worker-2", "api" }.Select(n =>
        {
            var p = Path.Combine(dir, n, "service.log");
            return File.Exists(p) ? $"--- {n}\n" + string.Join('\n', File.ReadLines(p).TakeLast(30)) : $"--- {n}: no log";
        }));
}
