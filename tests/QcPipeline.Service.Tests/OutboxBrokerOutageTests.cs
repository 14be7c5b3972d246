using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Service.Bus;
using QcPipeline.Service.Index;
using static QcPipeline.Service.Tests.SeriesAssemblyScenarios;

namespace QcPipeline.Service.Tests;

/// <summary>The outbox against a real RabbitMQ that goes down: ingest keeps answering Success, the messages wait in the
/// outbox (counted in qc_outbox_pending), and once the broker is back they are all published and the series is analysed
/// exactly once.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class OutboxBrokerOutageTests(RabbitMqFixture rabbit)
{
    [Fact]
    public async Task During_a_broker_outage_ingest_succeeds_and_the_outbox_holds_the_messages_until_the_broker_is_back()
    {
        var vhost = "t" + Guid.NewGuid().ToString("N")[..10];
        await rabbit.CtlAsync("add_vhost", vhost);
        await rabbit.CtlAsync("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*");
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync(null, [.. FastPipeline, .. rabbit.BusArgs($"--Bus:RabbitMq:VirtualHost={vhost}",
            "--Pipeline:OutboxMaxBackoff=00:00:02", "--Pipeline:OutboxPublishTimeout=00:00:03")]);
        var busControl = svc.Services.GetRequiredService<IBusControl>();
        var pending = svc.Services.GetRequiredService<OutboxMetrics>().Pending;
        try
        {
            await busControl.WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(60));
            var files = Support.MakeCtFiles(input, 3);
            var seriesUid = files[0].SeriesUid;

            await rabbit.HaltAsync();
            try
            {
                var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
                Assert.True(store.ExitCode == 0, store.All);
                Assert.All(files, f => Assert.Equal("Success", Support.StoreResponses(store.All)[f.Path]));

                // The series goes quiet and is claimed: its command joins the instances' events in the outbox, unpublished.
                var claimed = await Eventually(() => SeriesAsync(svc, seriesUid), s => s?.State == SeriesRecord.Claimed, TimeSpan.FromSeconds(20));
                Assert.Equal(SeriesRecord.Claimed, claimed?.State);
                await Eventually(() => Task.FromResult(pending.Value), v => v >= 4, TimeSpan.FromSeconds(20));
                Assert.Equal(4d, pending.Value);
                var waiting = await OutboxAsync(svc);
                Assert.Equal(4, waiting.Count);
                Assert.All(waiting, r => Assert.Null(r.DispatchedAt));
                Assert.Empty(await ResultsAsync(svc, seriesUid));
            }
            finally
            {
                await rabbit.ResumeAsync();
            }

            await busControl.WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(120));
            var series = await Eventually(() => SeriesAsync(svc, seriesUid), s => s?.State == SeriesRecord.Analyzed, TimeSpan.FromSeconds(120));
            Assert.Equal(SeriesRecord.Analyzed, series?.State);
            var outbox = await Eventually(() => OutboxAsync(svc), rows => rows.All(r => r.DispatchedAt is not null), TimeSpan.FromSeconds(30));
            Assert.Equal(4, outbox.Count);
            Assert.All(outbox, r => Assert.NotNull(r.DispatchedAt));
            Assert.Equal(3, outbox.Count(r => r.MessageType == nameof(InstanceStored)));
            await Eventually(() => Task.FromResult(pending.Value), v => v == 0, TimeSpan.FromSeconds(10));
            Assert.Equal(0d, pending.Value);

            // Analysed exactly once: one claim, one result per profile.
            var results = await ResultsAsync(svc, seriesUid);
            Assert.NotEmpty(results);
            Assert.Equal(series!.ClaimId, Assert.Single(results.Select(r => r.ClaimId).Distinct()));
            Assert.All(results.GroupBy(r => r.Profile), g => Assert.Single(g));
            Assert.Contains(results, r => r.Profile == "ct-water" && r.Verdict == "pass");
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
