using Prometheus;
using QcPipeline.Service.Metrics;

namespace QcPipeline.Service.Retention;

/// <summary>Retention metrics, in the service's registry; labels from fixed sets only.</summary>
public sealed class RetentionMetrics
{
    public const string NonQcImage = "non_qc_image", QcImage = "qc_image", IngestEvent = "ingest_event";

    public static IReadOnlyList<string> Kinds { get; } = [NonQcImage, QcImage, IngestEvent];

    public RetentionMetrics(QcMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var f = Prometheus.Metrics.WithCustomRegistry(metrics.Registry);
        DeletedTotal = f.CreateCounter("qc_retention_deleted_total", "Items deleted by retention, by kind (non_qc_image and qc_image: instance files with their index rows; ingest_event: IngestEvents rows).", "kind");
        DeletedBytesTotal = f.CreateCounter("qc_retention_deleted_bytes_total", "Bytes of instance files deleted by retention.");
        RunsTotal = f.CreateCounter("qc_retention_runs_total", "Retention runs, by outcome (ok, failed).", "outcome");
        foreach (var k in Kinds) DeletedTotal.WithLabels(k);
        foreach (var o in (string[])["ok", "failed"]) RunsTotal.WithLabels(o);
    }

    public Counter DeletedTotal { get; }
    public Counter DeletedBytesTotal { get; }
    public Counter RunsTotal { get; }
}
