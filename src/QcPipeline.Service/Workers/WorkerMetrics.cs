using Prometheus;
using QcPipeline.Service.Metrics;

namespace QcPipeline.Service.Workers;

/// <summary>The analysis worker's operational metrics, in the service's registry. Labels from fixed sets only.</summary>
public sealed class WorkerMetrics
{
    /// <summary><c>qc</c>: a QC series (label checks and phantom analyses); <c>labels</c>: label and integrity checks only.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["qc", "labels"];

    public static IReadOnlyList<string> Verdicts { get; } = ["pass", "fail", "inconclusive"];

    public WorkerMetrics(QcMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var f = Prometheus.Metrics.WithCustomRegistry(metrics.Registry);
        AnalysisDuration = f.CreateHistogram("qc_analysis_duration_seconds", "Time to read and analyse one series (headers, label checks, phantom analyses), by kind.",
            new HistogramConfiguration { LabelNames = ["kind"], Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });
        QueueLag = f.CreateHistogram("qc_analysis_queue_lag_seconds", "Time from an AnalyzeSeries command being written (series claimed, or re-analysis asked) to a worker starting it.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.05, 2, 16) });
        ResultsTotal = f.CreateCounter("qc_results_recorded_total", "Analysis results stored, by verdict.", "verdict");
        foreach (var k in Kinds) AnalysisDuration.WithLabels(k);
        foreach (var v in Verdicts) ResultsTotal.WithLabels(v);
    }

    public Histogram AnalysisDuration { get; }
    public Histogram QueueLag { get; }
    public Counter ResultsTotal { get; }
}
