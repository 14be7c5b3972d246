using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Bus;
using QcPipeline.Service.Index;

namespace QcPipeline.Service.Workers;

/// <summary>Series assembly (DESIGN.md, data flow 2): every <c>Pipeline:SweepInterval</c> claims the series that have been
/// quiet for <c>Pipeline:QuietPeriod</c>, and the claims that were never finished within <c>Pipeline:ClaimTimeout</c>, and
/// writes one <see cref="AnalyzeSeries"/> outbox row per claim in the same transaction (so the command survives a broker
/// outage as well). A claim is atomic in the database: on PostgreSQL the candidate rows are locked with
/// <c>SELECT … FOR UPDATE SKIP LOCKED</c>, so concurrent sweepers (several processes) each take different series; on SQLite
/// the transaction is <c>BEGIN IMMEDIATE</c> (Microsoft.Data.Sqlite's default), which takes the database's single write
/// lock before the read. The series' <see cref="SeriesRecord.Version"/> is a concurrency token on top.</summary>
public sealed class SeriesSweeper(IDbContextFactory<IndexDbContext> factory, OutboxSignal signal, IOptions<PipelineOptions> options,
    TimeProvider time, ILogger<SeriesSweeper> logger) : BackgroundService
{
    /// <summary>Who claims: recorded in <see cref="SeriesRecord.ClaimedBy"/>.</summary>
    public static string InstanceName => ServiceInstance.Name;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var claimed = await ClaimAsync(stoppingToken).ConfigureAwait(false);
                if (claimed.Count > 0)
                    logger.LogInformation("Claimed {Count} series for analysis", claimed.Count);
                if (claimed.Count == o.SweepBatchSize) continue; // more may be waiting
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database down, a lost race (concurrency token): nothing was claimed; the next sweep tries again.
                logger.LogWarning("Series sweep failed ({ExceptionType}); retrying at the next sweep", ex.GetType().Name);
            }
            try { await Task.Delay(o.SweepInterval, time, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>One sweep: claims up to <c>Pipeline:SweepBatchSize</c> series and returns the commands written to the outbox
    /// (committed when this returns).</summary>
    public async Task<IReadOnlyList<AnalyzeSeries>> ClaimAsync(CancellationToken ct = default)
    {
        var o = options.Value;
        var now = time.GetUtcNow();
        var quietBefore = now - o.QuietPeriod;
        var claimedBefore = now - o.ClaimTimeout;
        var commands = new List<AnalyzeSeries>();
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var tx = await db.Database.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (tx.ConfigureAwait(false))
            {
                List<SeriesRecord> rows = db is PostgresIndexDbContext
                    ? await db.Series.FromSqlRaw("""
                        SELECT * FROM "Series"
                        WHERE ("State" = 'open' AND "LastInstanceAt" < {0}) OR ("State" = 'claimed' AND "ClaimedAt" < {1})
                        ORDER BY "LastInstanceAt"
                        LIMIT {2}
                        FOR UPDATE SKIP LOCKED
                        """, quietBefore, claimedBefore, o.SweepBatchSize).ToListAsync(ct).ConfigureAwait(false)
                    : await db.Series.Where(s => (s.State == SeriesRecord.Open && s.LastInstanceAt < quietBefore)
                                                 || (s.State == SeriesRecord.Claimed && s.ClaimedAt < claimedBefore))
                        .OrderBy(s => s.LastInstanceAt).Take(o.SweepBatchSize).ToListAsync(ct).ConfigureAwait(false);
                if (rows.Count == 0) return commands;
                foreach (var s in rows)
                {
                    // A claim that timed out gets a new claim id: results are kept per claim, so a late finish of the old
                    // claim and the new analysis never write into each other.
                    var reason = s.State == SeriesRecord.Claimed ? "reclaim" : "quiet";
                    if (reason == "reclaim")
                        logger.LogWarning("A series claim was not finished within {ClaimTimeout}; claiming the series again", o.ClaimTimeout);
                    s.State = SeriesRecord.Claimed;
                    s.ClaimId = Guid.NewGuid();
                    s.ClaimedAt = now;
                    s.ClaimedBy = InstanceName;
                    s.Version++;
                    var command = new AnalyzeSeries(s.ClaimId.Value, s.StudyInstanceUid, s.SeriesInstanceUid, s.InstanceCount, reason, now);
                    var (type, payload) = OutboxMessages.Serialize(command);
                    db.Outbox.Add(new OutboxRecord { MessageType = type, Payload = payload, CreatedAt = now });
                    commands.Add(command);
                }
                await db.SaveChangesAsync(ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
            }
        }
        signal.Notify();
        return commands;
    }
}
