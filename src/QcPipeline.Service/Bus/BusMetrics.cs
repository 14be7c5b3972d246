using System.Collections.Frozen;
using Prometheus;
using QcPipeline.Service.Metrics;

namespace QcPipeline.Service.Bus;

/// <summary>Bus metrics, in the service's registry. The message-type label is one of our contracts or "other".</summary>
public sealed class BusMetrics
{
    private static readonly FrozenSet<string> KnownTypes = FrozenSet.Create(StringComparer.Ordinal,
        nameof(InstanceStored), nameof(AnalyzeSeries), nameof(QcResultRecorded));

    public BusMetrics(QcMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var f = Prometheus.Metrics.WithCustomRegistry(metrics.Registry);
        ConsumedTotal = f.CreateCounter("qc_bus_consumed_total", "Messages consumed successfully, by message type.", "message_type");
        FaultsTotal = f.CreateCounter("qc_bus_consume_faults_total",
            "Messages whose consumer failed after its retries (they went to the endpoint's _error queue), by message type.", "message_type");
        RetriesTotal = f.CreateCounter("qc_bus_consume_retries_total",
            "Consumer attempts that failed and are retried with backoff (a database or store outage shows here first), by receive endpoint.", "endpoint");
        foreach (var t in KnownTypes.Append("other"))
        {
            ConsumedTotal.WithLabels(t);
            FaultsTotal.WithLabels(t);
        }
    }

    public Counter ConsumedTotal { get; }
    public Counter FaultsTotal { get; }
    public Counter RetriesTotal { get; }

    public static string TypeLabel(Type messageType) =>
        KnownTypes.Contains(messageType.Name) ? messageType.Name : "other";
}
