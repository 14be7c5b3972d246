using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Analysis;
using QcPipeline.Service.Bus;
using QcPipeline.Service.Index;
using QcPipeline.Service.Storage;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Schedule;

namespace QcPipeline.Service.Workers;

/// <summary>Analyses one series: reads its instances from the index and the store, registers its device, runs the label
/// checks and the phantom analyses of its route with the device's limits, keeps the results (once per claim: a
/// redelivered message writes nothing new) and publishes <see cref="QcResultRecorded"/> for each. A command whose claim
/// is no longer the series' current one is skipped. A failure throws:
/// the bus retries, then moves the message to the error queue.</summary>
public sealed class AnalyzeSeriesConsumer(IDbContextFactory<IndexDbContext> index, IInstanceStore instances, SeriesAnalyzer analyzer,
    ResultStore store, WorkerMetrics metrics, TimeProvider time, IOptions<PipelineOptions> options, ILogger<AnalyzeSeriesConsumer> logger, ScheduleService? schedule = null) : IConsumer<AnalyzeSeries>
{
    public async Task Consume(ConsumeContext<AnalyzeSeries> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var m = context.Message;
        var ct = context.CancellationToken;
        metrics.QueueLag.Observe(Math.Max(0, (time.GetUtcNow() - m.RequestedAt).TotalSeconds));
        List<(string Path, string? CallingAe)> rows;
        var db = await index.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            // A superseded claim does nothing: the series was claimed again since this command was written (its claim timed
            // out while the broker or every worker was away, or a re-analysis was asked), and the newer command analyses it.
            // Without this, a broker outage longer than Pipeline:ClaimTimeout would analyse the series once per claim.
            var current = await db.Series.AsNoTracking().Where(s => s.SeriesInstanceUid == m.SeriesInstanceUid)
                .Select(s => new { s.ClaimId }).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            if (current?.ClaimId is { } claimNow && claimNow != m.ClaimId)
            {
                logger.LogInformation("AnalyzeSeries {ClaimId}: superseded by a newer claim of the series ({CurrentClaimId}); nothing to do",
                    m.ClaimId, claimNow);
                return;
            }
            rows = (await db.Instances.AsNoTracking().Where(i => i.SeriesInstanceUid == m.SeriesInstanceUid)
                .Select(i => new { i.Path, i.CallingAe }).ToListAsync(ct).ConfigureAwait(false))
                .Select(r => (r.Path, r.CallingAe)).ToList();
        }
        if (rows.Count == 0)
        {
            logger.LogWarning("AnalyzeSeries {ClaimId}: the series has no stored instances; nothing to analyse", m.ClaimId);
            await MarkAnalyzedAsync(m, isQc: false, ct).ConfigureAwait(false);
            return;
        }
        // The sender most of the series came from (a series is normally sent by one device).
        var callingAe = rows.Where(r => r.CallingAe is not null).GroupBy(r => r.CallingAe).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
        // Local paths of the series' files: the stored files themselves, or (object store) copies deleted after the analysis.
        // A store that cannot be read throws: the bus retries the message.
        var checkout = await instances.CheckoutAsync(rows.Select(r => r.Path).Order(StringComparer.Ordinal).ToArray(), ct).ConfigureAwait(false);
        await using (checkout.ConfigureAwait(false))
            await AnalyzeAsync(context, new SeriesInput(m.StudyInstanceUid, m.SeriesInstanceUid, checkout.Paths, callingAe)).ConfigureAwait(false);
    }

    private async Task AnalyzeAsync(ConsumeContext<AnalyzeSeries> context, SeriesInput input)
    {
        var m = context.Message;
        var ct = context.CancellationToken;

        var started = Stopwatch.GetTimestamp();
        var scan = analyzer.Scan(input, ct);
        // A series carrying a scheduled scan's accession number gets that scan's test, not the selector rules' guess.
        var scheduled = schedule is null ? null : await schedule.RouteAsync(scan.Attributes, ct).ConfigureAwait(false);
        if (scheduled is { } sr) scan = scan with { Route = sr.Route };
        var device = await store.ResolveDeviceAsync(scan.Device, ct).ConfigureAwait(false);
        var limits = LimitsFor(device);
        var analysis = analyzer.Analyze(input, scan, limits, ct);
        var elapsed = Stopwatch.GetElapsedTime(started);
        metrics.AnalysisDuration.WithLabels(scan.Route.IsQc ? "qc" : "labels").Observe(elapsed.TotalSeconds);

        for (int i = 0; i < analysis.Results.Count; i++)
        {
            var (record, created) = await store.RecordAsync(new ResultWrite(m.ClaimId, m.StudyInstanceUid, m.SeriesInstanceUid, device.Id, analysis.Results[i],
                input.Files.Count, m.Reason, elapsed, analysis.ResultImages[i], ServiceInstance.Name), ct).ConfigureAwait(false);
            if (scheduled is { } done && record.Profile == done.Scan.Test) await schedule!.CompleteAsync(done.Scan, record.Id, ct).ConfigureAwait(false);
            // Published for an existing row too: a delivery that crashed after the write and before the publish is completed by
            // its redelivery. Consumers of QcResultRecorded are idempotent by ResultId.
            await context.Publish(new QcResultRecorded(record.Id, m.SeriesInstanceUid, device.Key, record.Profile, record.AlgorithmVersion,
                record.Verdict, record.AnalyzedAt), ct).ConfigureAwait(false);
            if (created) metrics.ResultsTotal.WithLabels(record.Verdict).Inc();
            if (created)
                logger.LogInformation("Series analysed: device {DeviceId}, profile {Profile}, verdict {Verdict} ({ElapsedMs:F0} ms)",
                    device.Id, record.Profile, record.Verdict, elapsed.TotalMilliseconds);
            if (i == 0) await TestHookAsync(ct).ConfigureAwait(false);
        }
        if (analysis.Results.Count == 0) await TestHookAsync(ct).ConfigureAwait(false);
        await store.RecordFindingsAsync(m.ClaimId, m.SeriesInstanceUid, device.Id, analysis.Labels.Findings, scan.Headers.Instances.Count, ct).ConfigureAwait(false);
        if (scan.Unreadable.Count > 0)
            logger.LogWarning("AnalyzeSeries {ClaimId}: {Count} stored file(s) of the series could not be read", m.ClaimId, scan.Unreadable.Count);
        // No header readable: the route was chosen from nothing, so the kind is unknown, and retention keeps such a series.
        await MarkAnalyzedAsync(m, scan.Headers.Instances.Count == 0 ? null : scan.Route.IsQc, ct).ConfigureAwait(false);
    }

    /// <summary>Test hook (off unless <c>Pipeline:TestHookAnalysisDelay</c> is set): holds the message unacknowledged in the
    /// middle of its work (the files read and analysed, the first result stored, the rest, the findings and the series'
    /// mark not yet), so that a test can kill this worker there.</summary>
    private Task TestHookAsync(CancellationToken ct) =>
        options.Value.TestHookAnalysisDelay > TimeSpan.Zero ? Task.Delay(options.Value.TestHookAnalysisDelay, ct) : Task.CompletedTask;

    /// <summary>Series assembly: the claim is done. Only while the series is still claimed by this claim: a series re-opened
    /// by a new instance meanwhile stays open (and is analysed again with all its instances). Records whether the series
    /// was routed to phantom analyses and when it was finished: retention keeps QC and other images for different periods,
    /// counted from then.</summary>
    private async Task MarkAnalyzedAsync(AnalyzeSeries m, bool? isQc, CancellationToken ct)
    {
        var db = await index.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            Guid? claim = m.ClaimId;
            var kind = isQc;
            DateTimeOffset? now = time.GetUtcNow();
            await db.Series.Where(s => s.SeriesInstanceUid == m.SeriesInstanceUid && s.ClaimId == claim && s.State == SeriesRecord.Claimed)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.State, SeriesRecord.Analyzed).SetProperty(s => s.IsQc, kind)
                    .SetProperty(s => s.AnalyzedAt, now).SetProperty(s => s.Version, s => s.Version + 1), ct)
                .ConfigureAwait(false);
        }
    }

    private LimitSet LimitsFor(DeviceRecord device)
    {
        if (string.IsNullOrWhiteSpace(device.LimitsJson)) return LimitSet.Default;
        try
        {
            return LimitSet.Load(device.LimitsJson, LimitSet.Default);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or NotSupportedException)
        {
            // An edit that broke the device's limits must not stop its QC: the defaults apply, and the log says so.
            logger.LogError("Device {DeviceId}: its limits are not usable ({ExceptionType}); the default limits apply", device.Id, ex.GetType().Name);
            return LimitSet.Default;
        }
    }
}
