using System.Collections.Frozen;
using Prometheus;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Service.Metrics;

/// <summary>The process's operational metrics, in a registry owned by this instance (no process-wide state: two hosts in
/// one process, as in the tests, count apart). Every label comes from a bounded set: never a UID, AE title or patient value.</summary>
public sealed class QcMetrics
{
    /// <summary>Status codes that get their own label value; any other is "other".</summary>
    private static readonly FrozenSet<ushort> KnownStatuses = FrozenSet.Create<ushort>(
    [
        DicomStatus.Success, DicomStatus.CoercionOfDataElements, DicomStatus.ElementsDiscarded, DicomStatus.DataSetDoesNotMatchSopClassWarning,
        DicomStatus.OutOfResources, DicomStatus.DataSetDoesNotMatchSopClass, DicomStatus.CannotUnderstand, DicomStatus.InvalidSopInstance,
        DicomStatus.ProcessingFailure, DicomStatus.SopClassNotSupported, DicomStatus.UnrecognizedOperation, DicomStatus.Cancel,
    ]);

    public static IReadOnlyList<string> IngestResults { get; } = ["stored", "duplicate", "replaced", "rejected"];
    public static IReadOnlyList<string> FailureReasons { get; } = ["disk_full", "io_error", "mismatch", "invalid_uid", "unparsable", "other"];

    public QcMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        AssociationsTotal = f.CreateCounter("qc_dimse_associations_total", "DICOM associations handled, by how they ended.", "outcome");
        ActiveAssociations = f.CreateGauge("qc_dimse_active_associations", "DICOM associations being handled now.");
        InstancesTotal = f.CreateCounter("qc_dimse_instances_total", "C-STORE operations answered, by status class and status code.", "status_class", "status");
        ReceivedBytesTotal = f.CreateCounter("qc_dimse_received_bytes_total", "Data set bytes received by C-STORE.");
        StoreDuration = f.CreateHistogram("qc_dimse_store_duration_seconds", "Time from the C-STORE command to the response.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        IngestTotal = f.CreateCounter("qc_ingest_total", "Instances ingested, by result.", "result");
        IngestFailuresTotal = f.CreateCounter("qc_ingest_failures_total", "Instances that could not be ingested, by reason.", "reason");
        // Publish every series at zero so dashboards and rate() see them before the first event.
        foreach (var r in IngestResults) IngestTotal.WithLabels(r);
        foreach (var r in FailureReasons) IngestFailuresTotal.WithLabels(r);
        foreach (var o in Enum.GetValues<AssociationOutcome>()) AssociationsTotal.WithLabels(OutcomeLabel(o));
        InstancesTotal.WithLabels(StatusClassLabel(DicomStatus.Success), StatusLabel(DicomStatus.Success));
        InstancesTotal.WithLabels(StatusClassLabel(DicomStatus.OutOfResources), StatusLabel(DicomStatus.OutOfResources));

        StowRequestsTotal = f.CreateCounter("qc_stow_requests_total", "STOW-RS requests, by HTTP status code of the answer (aborted: the client went away first).", "code");
        StowRequestDuration = f.CreateHistogram("qc_stow_request_duration_seconds", "Time from the start of a STOW-RS request to its answer, by status class.",
            new HistogramConfiguration { LabelNames = ["status_class"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 16) });
        StowInstancesTotal = f.CreateCounter("qc_stow_instances_total", "STOW-RS parts, by result (stored, failed).", "result");
        StowReceivedBytesTotal = f.CreateCounter("qc_stow_received_bytes_total", "Part bytes received by STOW-RS.");
        foreach (var c in StowCodes) StowRequestsTotal.WithLabels(c);
        foreach (var c in (string[])["2xx", "4xx", "5xx", "aborted"]) StowRequestDuration.WithLabels(c);
        foreach (var r in (string[])["stored", "failed"]) StowInstancesTotal.WithLabels(r);

        // C-FIND (the modality worklist): scanners poll it, so a failing worklist shows as failures here before anyone calls.
        RequestsTotal = f.CreateCounter("qc_dimse_requests_total",
            "DIMSE requests answered other than C-STORE (counted in qc_dimse_instances_total), by command, final status class and status code.",
            "command", "status_class", "status");
        FindMatchesTotal = f.CreateCounter("qc_dimse_find_matches_total", "C-FIND matches sent (pending responses).");
        FindDuration = f.CreateHistogram("qc_dimse_find_duration_seconds", "Time from the C-FIND request to its final response.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
        foreach (var st in FindStatuses) RequestsTotal.WithLabels("C-FIND", FindStatusClassLabel(st), StatusLabel(st));
    }

    /// <summary>The final statuses a C-FIND SCP answers (PS3.4 §C.4.1.1.4); exported at zero.</summary>
    private static readonly ushort[] FindStatuses = [DicomStatus.Success, DicomStatus.Cancel, DicomStatus.OutOfResources, DicomStatus.IdentifierDoesNotMatchSopClass, DicomStatus.UnableToProcess];

    public Counter RequestsTotal { get; }
    public Counter FindMatchesTotal { get; }
    public Histogram FindDuration { get; }

    /// <summary>Counts a finished C-FIND: its final status (labels from a fixed set), matches and duration; nothing of the query.</summary>
    public void FindCompleted(ushort status, int matches, TimeSpan elapsed)
    {
        RequestsTotal.WithLabels("C-FIND", FindStatusClassLabel(status), StatusLabel(status)).Inc();
        if (matches > 0) FindMatchesTotal.Inc(matches);
        FindDuration.Observe(elapsed.TotalSeconds);
    }

    /// <summary>success, cancel (C-CANCEL, FE00), warning or failure.</summary>
    public static string FindStatusClassLabel(ushort status) => DicomStatus.Category(status) switch
    {
        "success" => "success",
        "cancel" => "cancel",
        "warning" => "warning",
        _ => "failure",
    };

    /// <summary>The HTTP status codes STOW-RS answers (label values of <see cref="StowRequestsTotal"/>); any other is "other".</summary>
    public static IReadOnlyList<string> StowCodes { get; } = ["200", "202", "400", "406", "409", "413", "415", "500", "aborted", "other"];

    public Counter StowRequestsTotal { get; }
    public Histogram StowRequestDuration { get; }
    public Counter StowInstancesTotal { get; }
    public Counter StowReceivedBytesTotal { get; }

    /// <summary>Label of <see cref="StowRequestsTotal"/> for a status code (null: aborted).</summary>
    public static string StowCodeLabel(int? code)
    {
        if (code is not { } c) return "aborted";
        var text = c.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return StowCodes.Contains(text) ? text : "other";
    }

    /// <summary>Label of <see cref="StowRequestDuration"/>: 2xx, 4xx, 5xx, or aborted.</summary>
    public static string StowStatusClassLabel(int? code) => code switch
    {
        null => "aborted",
        < 300 => "2xx",
        < 500 => "4xx",
        _ => "5xx",
    };

    public CollectorRegistry Registry { get; }
    public Counter AssociationsTotal { get; }
    public Gauge ActiveAssociations { get; }
    public Counter InstancesTotal { get; }
    public Counter ReceivedBytesTotal { get; }
    public Histogram StoreDuration { get; }
    public Counter IngestTotal { get; }
    public Counter IngestFailuresTotal { get; }

    public static string OutcomeLabel(AssociationOutcome o) => o switch
    {
        AssociationOutcome.Released => "released",
        AssociationOutcome.Rejected => "rejected",
        AssociationOutcome.AbortedByUs => "aborted_by_us",
        AssociationOutcome.AbortedByPeer => "aborted_by_peer",
        AssociationOutcome.ClosedByPeer => "closed_by_peer",
        AssociationOutcome.IdleTimeout => "idle_timeout",
        AssociationOutcome.ArtimTimeout => "artim_timeout",
        AssociationOutcome.Cancelled => "cancelled",
        _ => "failed",
    };

    public static string StatusLabel(ushort status) => KnownStatuses.Contains(status) ? status.ToString("X4", System.Globalization.CultureInfo.InvariantCulture) : "other";

    /// <summary>success, warning or failure (pending/cancel never answer a C-STORE; counted as failure).</summary>
    public static string StatusClassLabel(ushort status) => DicomStatus.Category(status) switch
    {
        "success" => "success",
        "warning" => "warning",
        _ => "failure",
    };
}

public static class MetricsServiceCollectionExtensions
{
    public static IServiceCollection AddMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<QcMetrics>();
        return services;
    }
}

/// <summary>Creates a metrics holder at start, so its series are exported (at zero) before the first event: a worker's
/// analysis histograms exist for dashboards and rate() before its first message. Resolving <typeparamref name="T"/> is all it does.</summary>
internal sealed class MetricsActivator<T>(T metrics) : IHostedService where T : class
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(metrics);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
