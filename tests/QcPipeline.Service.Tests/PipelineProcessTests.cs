using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>The pipeline as separate processes (<c>--roles receiver</c>, <c>worker</c>, <c>api</c>) on a real RabbitMQ and
/// PostgreSQL, sharing one data folder: the happy path, and a broker outage, a worker killed mid-analysis, a database
/// restart and two competing workers, each ending with every series analysed exactly once (one claim, one result per
/// profile).</summary>
[Collection(PipelineProcessesCollection.Name)]
public sealed class PipelineProcessTests(PipelineServicesFixture services, ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);

    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout) =>
        await SeriesAssemblyScenarios.Eventually(read, done, timeout);

    private static async Task StoreAllAsync(int port, IEnumerable<string> files)
    {
        var list = files.ToList();
        var store = await Support.StoreScuAsync(port, list, callingAe: "CTSCANNER", timeout: TimeSpan.FromSeconds(120));
        Assert.True(store.ExitCode == 0, store.All);
        var responses = Support.StoreResponses(store.All);
        Assert.Equal(list.Count, responses.Count(r => r.Value == "Success"));
    }

    [Fact]
    public async Task CT_by_storescu_and_DR_by_STOW_are_analysed_by_a_separate_worker_process_with_the_expected_verdicts()
    {
        await using var p = await PipelineProcesses.CreateAsync(services);
        // Receiver and API start together on an empty database: both migrate it, one after the other.
        var (receiverStart, apiStart) = (p.StartAsync("receiver"), p.StartAsync("api"));
        var receiver = await receiverStart;
        var api = await apiStart;
        int port = await receiver.WaitBoundAsync();
        var (status, checks) = await PipelineProcesses.ReadyAsync(receiver);
        Assert.Equal(200, status);
        Assert.Equal(["bus", "data_folder", "database", "dicom_listener"], checks.Keys.Order());
        (status, checks) = await PipelineProcesses.ReadyAsync(api);
        Assert.Equal(200, status);
        Assert.Equal(["data_folder", "database"], checks.Keys.Order());

        var ct = Support.MakeCtFiles(Path.Combine(p.Input, "ct"), 10);
        await StoreAllAsync(port, ct.Select(f => f.Path));
        var dr = Directory.GetFiles(Path.Combine(Support.RepoRoot, "phantoms", "dr-flat"), "*.dcm").Order(StringComparer.Ordinal).ToArray();
        using (var http = new HttpClient { BaseAddress = receiver.HttpBase })
        {
            using var stow = await http.SendAsync(StowSupport.Request("/dicom-web/studies", StowSupport.Body([.. dr.Select(File.ReadAllBytes)])));
            Assert.Equal(HttpStatusCode.OK, stow.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/dicom-web/series")).StatusCode); // QIDO is the API role's
        }
        var drSeries = Support.PhantomSeriesUid("dr-flat");
        string[] both = [ct[0].SeriesUid, drSeries];

        // No worker has ever run: both series are claimed, their commands published, and they wait in the worker's queue
        // (declared by the receiver's publish topology), not dropped for want of a binding.
        await Eventually(() => p.SeriesAsync(), s => s.Count(x => both.Contains(x.Uid) && x.State == "claimed") == 2, TimeSpan.FromSeconds(30));
        var queue = await Eventually(() => p.AnalyzeQueueAsync(), q => q.Ready == 2, TimeSpan.FromSeconds(30));
        Assert.Equal(2, queue.Ready);
        Assert.All(await p.SeriesAsync(), s => Assert.Equal(PipelineProcesses.InstanceName(receiver), s.ClaimedBy));

        var worker = await p.StartAsync("worker");
        // A CT and a DR series: no one profile is common to both (each is checked below).
        var results = await p.AssertAnalysedOnceAsync(both, null, Long);
        Assert.All(results, r => Assert.Equal(PipelineProcesses.InstanceName(worker), r.Worker));
        var water = Assert.Single(results, r => r.SeriesUid == ct[0].SeriesUid && r.Profile == "ct-water");
        Assert.Equal("pass", water.Verdict);
        Assert.InRange(water.Metrics["ct.water_hu"]!.Value, Support.PhantomTruth("ct-water-200mm", "ct.water_hu") - 1.5, Support.PhantomTruth("ct-water-200mm", "ct.water_hu") + 1.5);
        var drResults = results.Where(r => r.SeriesUid == drSeries).ToDictionary(r => r.Profile, r => r);
        Assert.Equal(("pass", "pass", "pass", "inconclusive"),
            (drResults["dr-stp"].Verdict, drResults["dr-uniformity"].Verdict, drResults["dr-lag"].Verdict, drResults["dr-dark"].Verdict)); // dark: no baseline yet
        Assert.InRange(drResults["dr-uniformity"].Metrics["dr.uniformity_cv_percent"]!.Value,
            Support.PhantomTruth("dr-flat", "dr.uniformity_cv_percent") - 0.0712, Support.PhantomTruth("dr-flat", "dr.uniformity_cv_percent") + 0.0712);

        // The worker: health without a DICOM listener, no DICOMweb; the API serves the shared index.
        (status, checks) = await PipelineProcesses.ReadyAsync(worker);
        Assert.Equal(200, status);
        Assert.Equal(["bus", "data_folder", "database"], checks.Keys.Order());
        using (var http = new HttpClient { BaseAddress = worker.HttpBase })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/dicom-web/studies")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
        }
        using (var http = new HttpClient { BaseAddress = api.HttpBase })
        {
            var found = await http.GetStringAsync($"/dicom-web/series?SeriesInstanceUID={ct[0].SeriesUid}");
            Assert.Single(JsonDocument.Parse(found).RootElement.EnumerateArray());
            using var wado = await http.GetAsync($"/dicom-web/studies/{ct[0].StudyUid}/series/{ct[0].SeriesUid}/instances/{ct[0].SopInstanceUid}");
            Assert.Equal(HttpStatusCode.OK, wado.StatusCode);
        }
        Assert.Equal(ct.Count + dr.Length, await p.InstanceCountAsync());
    }

    [Fact]
    public async Task A_broker_outage_during_the_ingest_of_500_instances_loses_nothing_and_each_series_is_analysed_once()
    {
        await using var p = await PipelineProcesses.CreateAsync(services);
        var (receiverStart, workerStart) = (p.StartAsync("receiver"), p.StartAsync("worker"));
        var receiver = await receiverStart;
        var worker = await workerStart;
        int port = await receiver.WaitBoundAsync();
        await PipelineProcesses.WaitBusHealthyAsync(worker, TimeSpan.FromSeconds(60));
        await PipelineProcesses.WaitBusHealthyAsync(receiver, TimeSpan.FromSeconds(60));

        var series = Enumerable.Range(0, 5).Select(i => Support.MakeCtFiles(Path.Combine(p.Input, $"s{i}"), 100)).ToList();
        var uids = series.Select(s => s[0].SeriesUid).ToList();
        // The broker goes down while the first association (2 series) is under way, and stays down for the other 3.
        string first;
        using (var scu = new StoreScuRun(port, series.Take(2).SelectMany(s => s).Select(f => f.Path), actAfterSuccesses: 30))
        {
            await scu.Reached;
            await services.Rabbit.HaltAsync();
            first = await scu.FinishAsync();
        }
        try
        {
            Assert.Equal(200, Support.StoreResponses(first).Count(r => r.Value == "Success"));
            await StoreAllAsync(port, series.Skip(2).SelectMany(s => s).Select(f => f.Path));
            // Quiet, claimed, and the commands wait in the outbox.
            var claimed = await Eventually(() => p.SeriesAsync(), s => s.Count(x => x.State != "open") == 5, TimeSpan.FromSeconds(30));
            Assert.Equal(5, claimed.Count(x => x.State != "open"));
            Assert.True(await p.OutboxPendingAsync() >= 3, "the commands of the series claimed during the outage wait in the outbox");
            Assert.DoesNotContain(await p.ResultsAsync(), r => uids.Skip(2).Contains(r.SeriesUid));
        }
        finally
        {
            await services.Rabbit.ResumeAsync();
        }

        await p.AssertAnalysedOnceAsync(uids, "ct-water", Long);
        Assert.Equal(500, await p.InstanceCountAsync());
        Assert.All(await p.SeriesAsync(), s => Assert.Equal(100, s.InstanceCount));
        await Eventually(() => p.OutboxPendingAsync(), n => n == 0, TimeSpan.FromSeconds(30));
        Assert.Equal(0, await p.OutboxPendingAsync());
    }

    [Fact]
    public async Task A_worker_killed_during_an_analysis_leaves_the_message_to_another_worker_and_one_result_per_claim()
    {
        await using var p = await PipelineProcesses.CreateAsync(services);
        var receiver = await p.StartAsync("receiver");
        // Test hook: the first worker holds each message for a minute after it has read and analysed the series and stored its
        // first result, so the kill lands mid-analysis, with part of the work written.
        var doomed = await p.StartAsync("worker", "--Pipeline:TestHookAnalysisDelay=00:01:00");
        await PipelineProcesses.WaitBusHealthyAsync(doomed, TimeSpan.FromSeconds(60));
        var files = Support.MakeCtFiles(p.Input, 5);
        await StoreAllAsync(await receiver.WaitBoundAsync(), files.Select(f => f.Path));

        var inFlight = await Eventually(() => p.AnalyzeQueueAsync(), q => q.Unacked == 1, TimeSpan.FromSeconds(30));
        Assert.Equal((0L, 1L), inFlight); // delivered to the worker, not acknowledged
        var partial = Assert.Single(await Eventually(() => p.ResultsAsync(), r => r.Count > 0, TimeSpan.FromSeconds(60)));
        doomed.Kill();
        await doomed.WaitExitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(PipelineProcesses.InstanceName(doomed), partial.Worker);
        Assert.Equal([partial.Id], (await p.ResultsAsync()).Select(r => r.Id));
        Assert.Equal("claimed", Assert.Single(await p.SeriesAsync()).State); // not finished
        // RabbitMQ requeues what the dead connection had not acknowledged.
        Assert.Equal((1L, 0L), await Eventually(() => p.AnalyzeQueueAsync(), q => q.Ready == 1, TimeSpan.FromSeconds(20)));

        var survivor = await p.StartAsync("worker");
        // The redelivery completes the claim: every profile once (the one stored before the kill is not written again), and
        // the series is marked analysed, which the killed worker never reached.
        var results = await p.AssertAnalysedOnceAsync([files[0].SeriesUid], "ct-water", TimeSpan.FromSeconds(60));
        Assert.Equal(partial.Id, Assert.Single(results, r => r.Profile == partial.Profile).Id);
        Assert.All(results.Where(r => r.Id != partial.Id), r => Assert.Equal(PipelineProcesses.InstanceName(survivor), r.Worker));
        Assert.Equal("pass", Assert.Single(results, r => r.Profile == "ct-water").Verdict);
    }

    [Fact]
    public async Task A_database_restart_while_the_pipeline_works_loses_no_series_and_analyses_each_once()
    {
        await using var p = await PipelineProcesses.CreateAsync(services);
        // Test hook: the worker holds each analysis for 3 s after storing its first result, so the outage below lands in the
        // middle of one (its remaining writes fail, and the bus retries the message with backoff until the database is back).
        var (receiverStart, workerStart) = (p.StartAsync("receiver"), p.StartAsync("worker", "--Pipeline:TestHookAnalysisDelay=00:00:03"));
        var receiver = await receiverStart;
        var worker = await workerStart;
        int port = await receiver.WaitBoundAsync();
        await PipelineProcesses.WaitBusHealthyAsync(worker, TimeSpan.FromSeconds(60));

        var before = Enumerable.Range(0, 3).Select(i => Support.MakeCtFiles(Path.Combine(p.Input, $"b{i}"), 10)).ToList();
        await StoreAllAsync(port, before.SelectMany(s => s).Select(f => f.Path));
        // As soon as the first result is stored (that analysis is held, the other series are being swept, dispatched or
        // analysed), the database goes away.
        var held = (await Eventually(() => p.ResultsAsync(), r => r.Count > 0, TimeSpan.FromSeconds(60)))[0];
        Assert.Contains(await p.SeriesAsync(), x => x.Uid == held.SeriesUid && x.State == "claimed" && x.ClaimId == held.ClaimId);
        await services.Postgres.HaltAsync();
        var during = Support.MakeCtFiles(Path.Combine(p.Input, "during"), 5);
        string duringLog;
        try
        {
            // Ingest cannot commit: no instance is answered Success without its index row.
            var store = await Support.StoreScuAsync(port, during.Select(f => f.Path), callingAe: "CTSCANNER", timeout: TimeSpan.FromSeconds(120));
            duringLog = store.All;
            output.WriteLine($"during the outage: {string.Join(", ", Support.StoreResponses(duringLog).Values.Distinct())}");
            await Task.Delay(TimeSpan.FromSeconds(5)); // longer than the held analysis: its next write meets the outage
        }
        finally
        {
            await services.Postgres.ResumeAsync();
        }
        var acknowledged = Support.StoreResponses(duringLog).Where(r => r.Value == "Success").Select(r => r.Key).ToHashSet();
        // The sender sends again what was not acknowledged (as a PACS does), and a new series follows.
        var retry = during.Where(f => !acknowledged.Contains(f.Path)).Select(f => f.Path).ToList();
        if (retry.Count > 0) await StoreAllAsync(port, retry);
        var after = Support.MakeCtFiles(Path.Combine(p.Input, "after"), 10);
        await StoreAllAsync(port, after.Select(f => f.Path));

        string[] all = [.. before.Select(s => s[0].SeriesUid), during[0].SeriesUid, after[0].SeriesUid];
        await p.AssertAnalysedOnceAsync(all, "ct-water", Long);
        Assert.Equal(3 * 10 + 5 + 10, await p.InstanceCountAsync());
        // The analysis held across the outage finished under its own claim (no reclaim, no second analysis), on the bus's
        // retries: its remaining writes met the dead database.
        var heldNow = Assert.Single(await p.SeriesAsync(), x => x.Uid == held.SeriesUid);
        Assert.Equal(("analyzed", (Guid?)held.ClaimId), (heldNow.State, heldNow.ClaimId));
        Assert.All((await p.ResultsAsync()).Where(r => r.SeriesUid == held.SeriesUid), r => Assert.Equal(held.ClaimId, r.ClaimId));
        using (var http = new HttpClient { BaseAddress = worker.HttpBase })
        {
            var metrics = await http.GetStringAsync("/metrics");
            var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("qc_bus_consume_retries_total{endpoint=\"analyze-series\"}", StringComparison.Ordinal));
            Assert.True(line is not null, "no consume retry was counted on analyze-series");
            Assert.True(double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture) >= 1, line);
        }
    }

    [Fact]
    public async Task Two_workers_on_one_queue_share_the_series_without_duplicates()
    {
        await using var p = await PipelineProcesses.CreateAsync(services);
        // Three processes start at once on an empty database (migrations serialised by the advisory lock). Each worker takes
        // one message at a time, and a short test-hook delay keeps it busy long enough for the other to get work.
        string[] oneAtATime = ["--Bus:ConcurrentMessageLimit=1", "--Bus:PrefetchCount=1", "--Pipeline:TestHookAnalysisDelay=00:00:00.3"];
        var starts = new[] { p.StartAsync("receiver"), p.StartAsync("worker", oneAtATime), p.StartAsync("worker", oneAtATime) };
        var processes = await Task.WhenAll(starts);
        var (receiver, workers) = (processes[0], processes[1..]);
        foreach (var w in workers) await PipelineProcesses.WaitBusHealthyAsync(w, TimeSpan.FromSeconds(60));

        var series = Enumerable.Range(0, 8).Select(i => Support.MakeCtFiles(Path.Combine(p.Input, $"s{i}"), 3)).ToList();
        await StoreAllAsync(await receiver.WaitBoundAsync(), series.SelectMany(s => s).Select(f => f.Path));
        var uids = series.Select(s => s[0].SeriesUid).ToList();
        var results = await p.AssertAnalysedOnceAsync(uids, "ct-water", Long);

        var perWorker = results.GroupBy(r => r.Worker).ToDictionary(g => g.Key ?? "(none)", g => g.Select(r => r.SeriesUid).Distinct().Count());
        output.WriteLine(string.Join(", ", perWorker.Select(kv => $"{kv.Key}: {kv.Value} series")));
        Assert.Equal(workers.Select(PipelineProcesses.InstanceName).Order(), perWorker.Keys.Order());
        Assert.All(perWorker.Values, n => Assert.True(n >= 1));
        Assert.Equal(uids.Count, perWorker.Values.Sum()); // each series by one worker only
    }
}
