using Prometheus;
using QcPipeline.Service.Metrics;

namespace QcPipeline.Service.Bus;

/// <summary>Outbox metrics, in the service's registry (no labels but the bounded message type).</summary>
public sealed class OutboxMetrics
{
    public OutboxMetrics(QcMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var f = Prometheus.Metrics.WithCustomRegistry(metrics.Registry);
        Pending = f.CreateGauge("qc_outbox_pending", "Outbox rows not yet published (as of the dispatcher's last look).");
        DispatchedTotal = f.CreateCounter("qc_outbox_dispatched_total", "Outbox rows published to the bus, by message type.", "message_type");
        PublishFailuresTotal = f.CreateCounter("qc_outbox_publish_failures_total", "Failed publish attempts of outbox rows (they are retried).");
        foreach (var t in (string[])[nameof(InstanceStored), nameof(AnalyzeSeries), "other"]) DispatchedTotal.WithLabels(t);
    }

    public Gauge Pending { get; }
    public Counter DispatchedTotal { get; }
    public Counter PublishFailuresTotal { get; }
}
