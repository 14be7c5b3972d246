using MassTransit;
using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Bus;

public static class BusServiceCollectionExtensions
{
    /// <summary>The worker's receive endpoint (queue) for <see cref="AnalyzeSeries"/>: the consumer's kebab-case name.</summary>
    public static string AnalyzeSeriesQueue { get; } = KebabCaseEndpointNameFormatter.Instance.Consumer<Workers.AnalyzeSeriesConsumer>();

    /// <summary>MassTransit on the configured transport (<see cref="BusOptions"/>): durable queues, publisher confirms
    /// (RabbitMQ), optional quorum queues, prefetch and concurrency for CPU-bound consumers, retry with exponential backoff
    /// then the endpoint's <c>_error</c> queue, and <see cref="FaultObserver"/>. <paramref name="configure"/> adds the
    /// consumers of the roles this process runs. The bus starts in the background: the service comes up, and ingest keeps
    /// accepting, while the broker is down (MassTransit reconnects).</summary>
    public static IServiceCollection AddBus(this IServiceCollection services, IConfiguration configuration,
        Action<IBusRegistrationConfigurator>? configure = null)
    {
        services.AddOptions<BusOptions>().Bind(configuration.GetSection(BusOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BusOptions>, BusOptionsValidator>();
        services.AddSingleton<BusMetrics>();
        services.AddConsumeObserver<FaultObserver>();
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = false;
            o.StopTimeout = TimeSpan.FromSeconds(10);
        });

        // The transport is chosen from configuration here, at registration: MassTransit registers one transport.
        var transport = configuration.GetSection(BusOptions.Section).GetValue(nameof(BusOptions.Transport), BusTransport.InMemory);
        services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            // In /health/ready as "bus", but a broker outage reports Degraded (HTTP 200), not Unhealthy: ingest goes on
            // accepting and keeps what it must publish in the outbox, so a receiver must not be taken out of service for it.
            x.ConfigureHealthCheckOptions(h =>
            {
                h.Name = "bus";
                h.MinimalFailureStatus = Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded;
            });
            configure?.Invoke(x);
            x.AddConfigureEndpointsCallback((context, name, endpoint) =>
            {
                var o = context.GetRequiredService<IOptions<BusOptions>>().Value;
                endpoint.ConcurrentMessageLimit = o.ConcurrentMessageLimit;
                var retries = new RetryObserver(context.GetRequiredService<BusMetrics>(),
                    context.GetRequiredService<ILoggerFactory>().CreateLogger<RetryObserver>(), name);
                endpoint.UseMessageRetry(r =>
                {
                    r.Exponential(o.RetryLimit, o.RetryMinInterval, o.RetryMaxInterval, o.RetryMinInterval);
                    r.ConnectRetryObserver(retries);
                });
                if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
                {
                    rabbit.PrefetchCount = o.PrefetchCount;
                    if (o.RabbitMq.QuorumQueues) rabbit.SetQuorumQueue();
                }
            });
            if (transport == BusTransport.RabbitMq)
            {
                x.UsingRabbitMq((context, cfg) =>
                {
                    var r = context.GetRequiredService<IOptions<BusOptions>>().Value.RabbitMq;
                    cfg.Host(r.Host, (ushort)r.Port, r.VirtualHost, h =>
                    {
                        h.Username(r.Username);
                        h.Password(r.Password);
                        h.PublisherConfirmation = r.PublisherConfirms;
                        if (r.UseTls) h.UseSsl(s => s.ServerName = r.Host);
                    });
                    cfg.Durable = true;
                    // AnalyzeSeries is published by receivers, consumed by workers in other processes. A publish is routed only
                    // to queues bound at that moment, so a receiver that starts (and claims) before any worker has ever run
                    // would drop its commands: the publish topology declares the worker's queue (as the worker's endpoint
                    // does) and binds it to the message type's exchange, and the commands wait there. The worker's own route
                    // (message exchange -> endpoint exchange -> queue) reaches the same queue; RabbitMQ delivers a message
                    // once per queue however many bindings lead there.
                    var quorum = context.GetRequiredService<IOptions<BusOptions>>().Value.RabbitMq.QuorumQueues;
                    var messageExchange = cfg.MessageTopology.GetMessageTopology<AnalyzeSeries>().EntityName;
                    cfg.Publish<AnalyzeSeries>(p => p.BindQueue(messageExchange, AnalyzeSeriesQueue, q =>
                    {
                        if (quorum) q.SetQuorumQueue();
                    }));
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
            }
        });
        return services;
    }
}
