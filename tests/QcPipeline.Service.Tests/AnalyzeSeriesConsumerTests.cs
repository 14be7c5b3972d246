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

    [Fact]
    public async Task A_stored_CT_water_series_is_analysed_once_per_claim()
    {
        var input = Support.NewTempDir("qcin");
        // The sweeper is off: this test sends its own AnalyzeSeries commands and counts what they write.
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false");
        try
        {
            var files = Support.MakeCtFiles(input, 3);
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
            Assert.True(store.ExitCode == 0, store.All);

            var bus = svc.Services.GetRequiredService<IBusControl>();
            await bus.WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
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
            Assert.True(findings >= 0);

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
}
