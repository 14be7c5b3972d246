using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Service.Bus;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Tests;

/// <summary>The worker in the service on the embedded defaults (in-memory bus, SQLite): instances stored by storescu, then
/// an AnalyzeSeries command, give results, findings and a registered device; the same command again adds nothing.</summary>
public sealed class AnalyzeSeriesConsumerTests
{
    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > until) return value;
            await Task.Delay(100);
        }
    }

    /// <summary>Three CT water images stored by storescu (calling AE CTSCANNER), and the bus once it is healthy.</summary>
    private static async Task<(List<Support.TestInstance> Files, IBusControl Bus)> StoreThreeCtImagesAsync(InProcessService svc, string input)
    {
        var files = Support.MakeCtFiles(input, 3);
        var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
        Assert.True(store.ExitCode == 0, store.All);
        var bus = svc.Services.GetRequiredService<IBusControl>();
        await bus.WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        return (files, bus);
    }

    [Fact]
    public async Task A_stored_CT_water_series_is_analysed_once_per_claim()
    {
        var input = Support.NewTempDir("qcin");
        // The sweeper is off: this test sends its own AnalyzeSeries commands and counts what they write.
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false");
        try
        {
            var (files, bus) = await StoreThreeCtImagesAsync(svc, input);
            // A subscriber of the QcResultRecorded event, as an integration would connect one.
            var recorded = new System.Collections.Concurrent.ConcurrentQueue<QcResultRecorded>();
            var handle = bus.ConnectReceiveEndpoint("test-qc-result-recorded", e => e.Handler<QcResultRecorded>(c =>
            {
                recorded.Enqueue(c.Message);
                return Task.CompletedTask;
            }));
            await handle.Ready;
            var claim = Guid.NewGuid();
            var command = new AnalyzeSeries(claim, files[0].StudyUid, files[0].SeriesUid, 3, "quiet", DateTimeOffset.UtcNow);
            await svc.Services.GetRequiredService<IPublishEndpoint>().Publish(command);

            var factory = svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>();
            async Task<(List<ResultRecord> Results, int Findings, List<DeviceRecord> Devices)> Read()
            {
                var db = await factory.CreateDbContextAsync();
                await using (db)
                    return (await db.Results.Include(r => r.Metrics).ToListAsync(), await db.LabelFindings.CountAsync(), await db.Devices.ToListAsync());
            }
            var metrics = svc.Services.GetRequiredService<BusMetrics>();
            await Eventually(() => Task.FromResult(metrics.ConsumedTotal.WithLabels("AnalyzeSeries").Value), v => v >= 1, TimeSpan.FromSeconds(60));
            var (results, findings, devices) = await Read();

            var device = Assert.Single(devices);
            Assert.Equal(("serial:SIM-0001", "CTSCANNER", "CT"), (device.Key, device.CallingAe, device.Modality));
            var water = Assert.Single(results, r => r.Profile == "ct-water");
            Assert.Equal(("pass", 3, claim, device.Id), (water.Verdict, water.InstanceCount, water.ClaimId, water.DeviceId));
            Assert.Contains(water.Metrics, x => x.Name == "ct.water_hu" && x.Value is > -6 and < 6);
            // One QcResultRecorded per stored result, naming it (references only, no pixel data).
            await Eventually(() => Task.FromResult(recorded.Count), n => n >= results.Count, TimeSpan.FromSeconds(30));
            var events = recorded.ToList();
            Assert.Equal(results.Select(r => r.Id).Order(), events.Select(e => e.ResultId).Order());
            var waterEvent = Assert.Single(events, e => e.ResultId == water.Id);
            Assert.Equal((files[0].SeriesUid, "serial:SIM-0001", "ct-water", "pass", water.AlgorithmVersion),
                (waterEvent.SeriesInstanceUid, waterEvent.DeviceId, waterEvent.Profile, waterEvent.Verdict, waterEvent.AlgorithmVersion));

            // The same command delivered again (at-least-once): no new rows.
            await svc.Services.GetRequiredService<IPublishEndpoint>().Publish(command);
            await Eventually(() => Task.FromResult(metrics.ConsumedTotal.WithLabels("AnalyzeSeries").Value), v => v >= 2, TimeSpan.FromSeconds(60));
            var again = await Read();
            Assert.Equal(results.Select(r => r.Id).Order(), again.Results.Select(r => r.Id).Order());
            Assert.Equal(findings, again.Findings);

            // A re-analysis is a new claim: new rows beside the old ones.
            await svc.Services.GetRequiredService<IPublishEndpoint>().Publish(command with { ClaimId = Guid.NewGuid(), Reason = "reanalyze" });
            await Eventually(() => Task.FromResult(metrics.ConsumedTotal.WithLabels("AnalyzeSeries").Value), v => v >= 3, TimeSpan.FromSeconds(60));
            var third = await Read();
            Assert.Equal(2 * results.Count, third.Results.Count);
            Assert.Equal(0d, metrics.FaultsTotal.WithLabels("AnalyzeSeries").Value);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task A_command_whose_claim_was_superseded_analyses_nothing()
    {
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false");
        try
        {
            var (files, bus) = await StoreThreeCtImagesAsync(svc, input);

            // The series' current claim is "newer"; "older" is a command written before it (e.g. before a claim timeout
            // during a broker outage) and delivered late.
            Guid older = Guid.NewGuid(), newer = Guid.NewGuid();
            var indexFactory = svc.Services.GetRequiredService<IDbContextFactory<QcPipeline.Service.Index.IndexDbContext>>();
            var idb = await indexFactory.CreateDbContextAsync();
            await using (idb)
            {
                Guid? claim = newer;
                var updated = await idb.Series.Where(s => s.SeriesInstanceUid == files[0].SeriesUid)
                    .ExecuteUpdateAsync(u => u.SetProperty(s => s.State, QcPipeline.Service.Index.SeriesRecord.Claimed).SetProperty(s => s.ClaimId, claim));
                Assert.Equal(1, updated);
            }
            var publish = svc.Services.GetRequiredService<IPublishEndpoint>();
            var metrics = svc.Services.GetRequiredService<BusMetrics>();
            var factory = svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>();
            async Task<List<ResultRecord>> Results()
            {
                var db = await factory.CreateDbContextAsync();
                await using (db) return await db.Results.ToListAsync();
            }

            await publish.Publish(new AnalyzeSeries(older, files[0].StudyUid, files[0].SeriesUid, 3, "quiet", DateTimeOffset.UtcNow));
            await Eventually(() => Task.FromResult(metrics.ConsumedTotal.WithLabels("AnalyzeSeries").Value), v => v >= 1, TimeSpan.FromSeconds(60));
            Assert.Empty(await Results());

            await publish.Publish(new AnalyzeSeries(newer, files[0].StudyUid, files[0].SeriesUid, 3, "reclaim", DateTimeOffset.UtcNow));
            var results = await Eventually(Results, r => r.Count > 0, TimeSpan.FromSeconds(60));
            Assert.Contains(results, r => r.Profile == "ct-water");
            Assert.All(results, r => Assert.Equal(newer, r.ClaimId));
            var idb2 = await indexFactory.CreateDbContextAsync();
            await using (idb2)
                Assert.Equal(QcPipeline.Service.Index.SeriesRecord.Analyzed,
                    (await Eventually(() => idb2.Series.AsNoTracking().SingleAsync(s => s.SeriesInstanceUid == files[0].SeriesUid),
                        s => s.State == QcPipeline.Service.Index.SeriesRecord.Analyzed, TimeSpan.FromSeconds(30))).State);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
