using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Index;
using QcPipeline.Service.Workers;

namespace QcPipeline.Service.Bus;

/// <summary>Publishes the outbox (rows written in the same transaction as the index change or claim they announce): reads
/// undispatched rows in id order, a batch at a time, publishes each through MassTransit and stamps it dispatched. A failed
/// publish (broker down, publish timeout) stops the round; the row stays, its attempt is counted, and the dispatcher backs
/// off exponentially (<c>Pipeline:OutboxMinBackoff</c> doubling to <c>Pipeline:OutboxMaxBackoff</c>) before it tries again,
/// so a broker outage delays messages and loses none. Delivery is at least once: a crash between the publish and the stamp
/// publishes the row again, and the consumers are idempotent. Nothing is published while the bus reports itself unhealthy. Woken by <see cref="OutboxSignal"/> after each commit, else it
/// polls. On PostgreSQL the batch is locked (<c>FOR UPDATE SKIP LOCKED</c>) so several processes share the outbox without
/// publishing a row twice. Dispatched rows are deleted after <c>Pipeline:OutboxRetention</c>.</summary>
public sealed class OutboxDispatcher(IDbContextFactory<IndexDbContext> factory, IBusControl bus, OutboxSignal signal, IOptions<PipelineOptions> options,
    OutboxMetrics metrics, TimeProvider time, ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private sealed class PublishFailedException(Exception inner) : Exception("publish failed", inner);

    private sealed class BusNotReadyException() : Exception("the bus is not connected");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var o = options.Value;
        var backoff = TimeSpan.Zero;
        var nextCleanup = DateTimeOffset.MinValue;
        var waitingForBus = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            bool more;
            try
            {
                more = await DispatchOnceAsync(stoppingToken).ConfigureAwait(false);
                if (backoff != TimeSpan.Zero) logger.LogInformation("Outbox: publishing again");
                backoff = TimeSpan.Zero;
                waitingForBus = false;
                if (time.GetUtcNow() >= nextCleanup)
                {
                    await DeleteDispatchedAsync(stoppingToken).ConfigureAwait(false);
                    nextCleanup = time.GetUtcNow() + TimeSpan.FromMinutes(1);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                backoff = backoff == TimeSpan.Zero ? o.OutboxMinBackoff : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, o.OutboxMaxBackoff.Ticks));
                var cause = ex is PublishFailedException { InnerException: { } inner } ? inner : ex;
                if (cause is BusNotReadyException)
                {
                    // Normal at start (the bus connects in the background) and during a broker outage: said once, not per round.
                    if (!waitingForBus) logger.LogInformation("Outbox: waiting for the bus to be healthy; messages are kept meanwhile");
                    waitingForBus = true;
                }
                else
                {
                    logger.LogWarning("Outbox: dispatch failed ({ExceptionType}); retrying in {Backoff}", cause.GetType().Name, backoff);
                }
                try { await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                continue;
            }
            if (more) continue;
            try
            {
                await signal.WaitAsync(o.OutboxPollInterval, stoppingToken).ConfigureAwait(false);
                // Gather: under load a commit lands every millisecond or two, and a round per commit (count, read, stamp:
                // a write transaction each) competed with ingest for SQLite's single write lock. A short wait lets one round
                // take the rows of many commits; it adds at most this much to a message's latency.
                await Task.Delay(OutboxGatherDelay, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>One round: publishes up to a batch of rows. True when the batch was full (more may wait); throws when a
    /// publish failed (after stamping the rows published before it).</summary>
    private static readonly TimeSpan OutboxGatherDelay = TimeSpan.FromMilliseconds(100);

    public async Task<bool> DispatchOnceAsync(CancellationToken ct)
    {
        var o = options.Value;
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            metrics.Pending.Set(await db.Outbox.CountAsync(r => r.DispatchedAt == null, ct).ConfigureAwait(false));
            // Publish only to a bus that is up with its endpoints: while the broker is down a publish would only wait for its
            // timeout, and after a first start the consumers' bindings must exist before a message is routed to them.
            if (bus.CheckHealth().Status != BusHealthStatus.Healthy) throw new BusNotReadyException();
            var postgres = db is PostgresIndexDbContext;
            // SQLite: no transaction while publishing (it would hold the database's write lock against ingest); one process
            // uses a SQLite file, so nothing else dispatches these rows.
            var tx = postgres ? await db.Database.BeginTransactionAsync(ct).ConfigureAwait(false) : null;
            try
            {
                var rows = postgres
                    ? await db.Outbox.FromSqlRaw("""SELECT * FROM "Outbox" WHERE "DispatchedAt" IS NULL ORDER BY "Id" LIMIT {0} FOR UPDATE SKIP LOCKED""", o.OutboxBatchSize)
                        .ToListAsync(ct).ConfigureAwait(false)
                    : await db.Outbox.Where(r => r.DispatchedAt == null).OrderBy(r => r.Id).Take(o.OutboxBatchSize).ToListAsync(ct).ConfigureAwait(false);
                if (rows.Count == 0)
                {
                    if (tx is not null) await tx.CommitAsync(ct).ConfigureAwait(false);
                    return false;
                }
                Exception? failure = null;
                int published = 0;
                foreach (var row in rows)
                {
                    object message;
                    try
                    {
                        message = OutboxMessages.Deserialize(row.MessageType, row.Payload);
                    }
                    catch (Exception ex) when (ex is System.Text.Json.JsonException or NotSupportedException)
                    {
                        // Kept, not dropped (a newer version's message type during a rolling upgrade): it waits for a
                        // dispatcher that knows it, and counts in qc_outbox_pending meanwhile.
                        row.Attempts++;
                        row.LastError = Short("undecodable: " + ex.GetType().Name);
                        continue;
                    }
                    try
                    {
                        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        cts.CancelAfter(o.OutboxPublishTimeout);
                        await bus.Publish(message, message.GetType(), cts.Token).WaitAsync(o.OutboxPublishTimeout, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!ct.IsCancellationRequested)
                    {
                        row.Attempts++;
                        row.LastError = Short(ex.GetType().Name);
                        metrics.PublishFailuresTotal.Inc();
                        failure = ex;
                        break;
                    }
                    row.DispatchedAt = time.GetUtcNow();
                    published++;
                    metrics.DispatchedTotal.WithLabels(row.MessageType is nameof(InstanceStored) or nameof(AnalyzeSeries) ? row.MessageType : "other").Inc();
                }
                // Not cancellable: what was published must be stamped, or it is published again.
                await db.SaveChangesAsync(CancellationToken.None).ConfigureAwait(false);
                if (tx is not null) await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
                metrics.Pending.Set(Math.Max(0, metrics.Pending.Value - published));
                if (failure is not null) throw new PublishFailedException(failure);
                return rows.Count == o.OutboxBatchSize;
            }
            finally
            {
                if (tx is not null) await tx.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task DeleteDispatchedAsync(CancellationToken ct)
    {
        var cutoff = time.GetUtcNow() - options.Value.OutboxRetention;
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
            await db.Outbox.Where(r => r.DispatchedAt != null && r.DispatchedAt < cutoff).ExecuteDeleteAsync(ct).ConfigureAwait(false);
    }

    private static string Short(string s) => s.Length <= 200 ? s : s[..200];
}
