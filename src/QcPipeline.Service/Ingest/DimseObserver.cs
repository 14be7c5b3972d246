using QcPipeline.Dicom.Network;
using QcPipeline.Service.Metrics;

namespace QcPipeline.Service.Ingest;

/// <summary>Feeds the DIMSE metrics and the association log. Info lines carry AE titles, counts, status codes, bytes and
/// durations, never a UID (those only at debug) nor a patient value.</summary>
internal sealed class DimseObserver(QcMetrics metrics, ILogger<DimseObserver> logger) : IDicomServerObserver
{
    public void AssociationStarted() => metrics.ActiveAssociations.Inc();

    public void AssociationEnded(AssociationSummary summary)
    {
        metrics.ActiveAssociations.Dec();
        metrics.AssociationsTotal.WithLabels(QcMetrics.OutcomeLabel(summary.Outcome)).Inc();
        var level = summary.Outcome is AssociationOutcome.Released ? LogLevel.Information : LogLevel.Warning;
        logger.Log(level, "Association {CallingAe} -> {CalledAe} from {Remote} ended {Outcome}: {Stores} stores ({Failures} failed), {Echoes} echoes, {Bytes} bytes in {DurationMs:F0} ms{Problem}",
            summary.CallingAeTitle, summary.CalledAeTitle, summary.RemoteAddress, summary.Outcome, summary.StoreCount, summary.StoreFailures,
            summary.EchoCount, summary.BytesReceived, summary.Duration.TotalMilliseconds, summary.Problem is null ? "" : "; " + summary.Problem);
    }

    /// <summary>A connection that failed before an association existed (TLS handshake).</summary>
    public void ConnectionFailed(AssociationSummary summary)
    {
        metrics.AssociationsTotal.WithLabels(QcMetrics.OutcomeLabel(summary.Outcome)).Inc();
        logger.LogWarning("Connection from {Remote} failed before association: {Problem}", summary.RemoteAddress, summary.Problem);
    }

    public void StoreCompleted(StoreRequest request, StoreOutcome outcome, long bytes, TimeSpan elapsed)
    {
        metrics.InstancesTotal.WithLabels(QcMetrics.StatusClassLabel(outcome.Status), QcMetrics.StatusLabel(outcome.Status)).Inc();
        metrics.ReceivedBytesTotal.Inc(bytes);
        metrics.StoreDuration.Observe(elapsed.TotalSeconds);
        if (outcome.Status != DicomStatus.Success)
            logger.LogWarning("C-STORE from {CallingAe} answered 0x{Status:X4} ({Comment}) after {Bytes} bytes", request.Association.CallingAeTitle, outcome.Status, outcome.ErrorComment, bytes);
        if (logger.IsEnabled(LogLevel.Debug))
            logger.LogDebug("C-STORE {SopClassUid} {SopInstanceUid} from {CallingAe}: 0x{Status:X4}, {Bytes} bytes in {ElapsedMs:F1} ms",
                request.SopClassUid, request.SopInstanceUid, request.Association.CallingAeTitle, outcome.Status, bytes, elapsed.TotalMilliseconds);
    }

    public void EchoCompleted(AssociationInfo association) =>
        logger.LogDebug("C-ECHO from {CallingAe}", association.CallingAeTitle);

    public void FindCompleted(AssociationInfo association, string sopClassUid, ushort status, int matches, TimeSpan elapsed) =>
        metrics.FindCompleted(status, matches, elapsed);
}
