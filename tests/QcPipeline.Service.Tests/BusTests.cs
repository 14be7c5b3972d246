using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using QcPipeline.Service.Bus;
using QcPipeline.Service.Metrics;

namespace QcPipeline.Service.Tests;

/// <summary>What consumers saw, shared through DI (no static state).</summary>
public sealed class Seen
{
    public ConcurrentQueue<InstanceStored> Stored { get; } = new();
    private int _failedAttempts;
    public int FailedAttempts => Volatile.Read(ref _failedAttempts);
    public void Failed() => Interlocked.Increment(ref _failedAttempts);
}

public sealed class RecordingConsumer(Seen seen) : IConsumer<InstanceStored>
{
    public Task Consume(ConsumeContext<InstanceStored> context)
    {
        seen.Stored.Enqueue(context.Message);
        return Task.CompletedTask;
    }
}

public sealed class AlwaysFailingConsumer(Seen seen) : IConsumer<AnalyzeSeries>
{
    public Task Consume(ConsumeContext<AnalyzeSeries> context)
    {
        seen.Failed();
        throw new InvalidOperationException("analysis failed on purpose");
    }
}

/// <summary>The bus on MassTransit: the in-memory transport (embedded default) and a real RabbitMQ (Debian package, a
/// private node started by <see cref="RabbitMqFixture"/>): delivery, durable and quorum queues, retry then the error queue
/// with the fault counted, and a service that starts while the broker is down and connects when it is back.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class BusTests(RabbitMqFixture rabbit)
{
    private static InstanceStored Sample(int i) => new(i, $"1.2.3.{i}", "1.2.840.10008.5.1.4.1.1.2", "1.2.3", "1.2.3.4", "CT",
        $"instances/1.2.3/1.2.3.4/1.2.3.{i}.dcm", 1, "dimse", DateTimeOffset.UnixEpoch);

    private static IHost BuildHost(IEnumerable<string> args, Action<IBusRegistrationConfigurator> consumers)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddCommandLine([.. args, "--Logging:LogLevel:Default=Warning"]);
        builder.Services.AddSingleton<QcMetrics>();
        builder.Services.AddSingleton<Seen>();
        builder.Services.AddBus(builder.Configuration, consumers);
        return builder.Build();
    }

    private async Task<string> NewVirtualHostAsync()
    {
        var vhost = "t" + Guid.NewGuid().ToString("N")[..10];
        await rabbit.CtlAsync("add_vhost", vhost);
        await rabbit.CtlAsync("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*");
        return vhost;
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!condition())
        {
            try { await Task.Delay(50, cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"timed out waiting for {what}"); }
        }
    }

    private static async Task PublishAll(IHost host, int count)
    {
        var publish = host.Services.GetRequiredService<IPublishEndpoint>();
        for (int i = 1; i <= count; i++) await publish.Publish(Sample(i));
    }

    [Fact]
    public async Task In_memory_transport_delivers_each_published_message_once()
    {
        using var host = BuildHost([], x => x.AddConsumer<RecordingConsumer>());
        await host.StartAsync();
        await host.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        await PublishAll(host, 20);
        var seen = host.Services.GetRequiredService<Seen>();
        await WaitUntil(() => seen.Stored.Count >= 20, TimeSpan.FromSeconds(30), "20 messages");
        await Task.Delay(200);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), seen.Stored.Select(m => m.InstanceId).Order());
        Assert.Equal(20d, host.Services.GetRequiredService<BusMetrics>().ConsumedTotal.WithLabels("InstanceStored").Value);
        await host.StopAsync();
    }

    [Fact]
    public async Task RabbitMq_delivers_over_a_durable_classic_queue_and_quorum_queues_are_an_option()
    {
        foreach (var quorum in new[] { false, true })
        {
            var vhost = await NewVirtualHostAsync();
            using var host = BuildHost(rabbit.BusArgs($"--Bus:RabbitMq:VirtualHost={vhost}", $"--Bus:RabbitMq:QuorumQueues={quorum}"),
                x => x.AddConsumer<RecordingConsumer>());
            await host.StartAsync();
            await host.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(60));
            await PublishAll(host, 10);
            var seen = host.Services.GetRequiredService<Seen>();
            await WaitUntil(() => seen.Stored.Count >= 10, TimeSpan.FromSeconds(30), "10 messages over RabbitMQ");
            Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), seen.Stored.Select(m => m.InstanceId).Order());

            var queues = await rabbit.CtlAsyncQueues(vhost);
            var q = Assert.Single(queues, kv => kv.Key == "recording").Value;
            Assert.True(q.Durable);
            Assert.Equal(quorum ? "quorum" : "classic", q.Type);
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_failing_consumer_is_retried_then_its_message_lands_in_the_error_queue_and_is_counted()
    {
        var vhost = await NewVirtualHostAsync();
        using var host = BuildHost(rabbit.BusArgs($"--Bus:RabbitMq:VirtualHost={vhost}", "--Bus:RetryLimit=2",
            "--Bus:RetryMinInterval=00:00:00.05", "--Bus:RetryMaxInterval=00:00:00.2"), x => x.AddConsumer<AlwaysFailingConsumer>());
        await host.StartAsync();
        await host.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(60));
        await host.Services.GetRequiredService<IPublishEndpoint>().Publish(new AnalyzeSeries(Guid.NewGuid(), "1.2.3", "1.2.3.4", 1, "test", DateTimeOffset.UnixEpoch));

        var metrics = host.Services.GetRequiredService<BusMetrics>();
        await WaitUntil(() => metrics.FaultsTotal.WithLabels("AnalyzeSeries").Value >= 1, TimeSpan.FromSeconds(30), "the fault");
        var seen = host.Services.GetRequiredService<Seen>();
        Assert.Equal(3, seen.FailedAttempts); // the first attempt and 2 retries
        Dictionary<string, (long Messages, string Type, bool Durable)> queues = [];
        await WaitUntil(() =>
        {
            queues = rabbit.CtlAsyncQueues(vhost).GetAwaiter().GetResult();
            return queues.TryGetValue("always-failing_error", out var e) && e.Messages == 1;
        }, TimeSpan.FromSeconds(30), "the message in always-failing_error");
        Assert.Equal(0, queues["always-failing"].Messages);
        Assert.Equal(1d, metrics.FaultsTotal.WithLabels("AnalyzeSeries").Value);
        Assert.Equal(0d, metrics.ConsumedTotal.WithLabels("AnalyzeSeries").Value);
        Assert.Equal(2d, metrics.RetriesTotal.WithLabels("always-failing").Value); // each retry counted, on its endpoint
        await host.StopAsync();
    }

    [Fact]
    public async Task The_host_starts_while_the_broker_is_down_and_delivers_once_it_is_back()
    {
        var vhost = await NewVirtualHostAsync();
        await rabbit.HaltAsync();
        IHost? host = null;
        try
        {
            host = BuildHost(rabbit.BusArgs($"--Bus:RabbitMq:VirtualHost={vhost}"), x => x.AddConsumer<RecordingConsumer>());
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
                await host.StartAsync(cts.Token); // does not wait for the broker
            Assert.NotEqual(BusHealthStatus.Healthy, host.Services.GetRequiredService<IBusControl>().CheckHealth().Status);
        }
        finally
        {
            await rabbit.ResumeAsync();
        }
        using (host)
        {
            await host.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(90));
            await PublishAll(host, 5);
            var seen = host.Services.GetRequiredService<Seen>();
            await WaitUntil(() => seen.Stored.Count >= 5, TimeSpan.FromSeconds(30), "5 messages after the broker came back");
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_broker_outage_leaves_the_service_ready_with_the_bus_degraded_and_stores_go_on()
    {
        var vhost = await NewVirtualHostAsync();
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync(null, rabbit.BusArgs($"--Bus:RabbitMq:VirtualHost={vhost}"));
        try
        {
            using var http = svc.CreateHttpClient();
            await svc.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(60));
            using (var ready = await http.GetAsync("health/ready"))
                Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);

            await rabbit.HaltAsync();
            try
            {
                string body = "";
                var until = DateTime.UtcNow.AddSeconds(30);
                System.Net.HttpStatusCode code;
                do
                {
                    using var ready = await http.GetAsync("health/ready");
                    code = ready.StatusCode;
                    body = await ready.Content.ReadAsStringAsync();
                    if (body.Contains("\"bus\":{\"status\":\"Degraded\"", StringComparison.Ordinal)) break;
                    await Task.Delay(200);
                } while (DateTime.UtcNow < until);
                Assert.Contains("\"bus\":{\"status\":\"Degraded\"", body, StringComparison.Ordinal);
                Assert.Equal(System.Net.HttpStatusCode.OK, code);

                var files = Support.MakeCtFiles(input, 2);
                var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path));
                Assert.True(store.ExitCode == 0, store.All);
                Assert.All(Support.StoreResponses(store.All).Values, v => Assert.Equal("Success", v));
            }
            finally
            {
                await rabbit.ResumeAsync();
            }
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
