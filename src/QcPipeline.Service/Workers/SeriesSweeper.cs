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
            TimeSpan wait;
            try { wait = await NextWaitAsync(stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception) { wait = o.SweepInterval; } // the sweep above has logged the cause already
            try { await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>How long to sleep before the next sweep: until the oldest open series becomes quiet, but never longer than
    /// <c>Pipeline:SweepInterval</c> (series of other receivers, claims that time out) nor shorter than
    /// <see cref="MinimumWait"/>. Sleeping to the deadline makes the claim come right when the quiet period ends instead of
    /// up to one interval later, without polling the database more often.</summary>
    internal async Task<TimeSpan> NextWaitAsync(CancellationToken ct = default)
    {
        var o = options.Value;
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            // Served by the (State, LastInstanceAt) index.
            var oldest = await db.Series.Where(s => s.State == SeriesRecord.Open).OrderBy(s => s.LastInstanceAt)
                .Select(s => (DateTimeOffset?)s.LastInstanceAt).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            return WaitUntilQuiet(oldest, time.GetUtcNow(), o);
        }
    }

    /// <summary>The shortest wait before another sweep.</summary>
    internal static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(20);

    /// <summary>The wait for a series last touched at <paramref name="oldestOpen"/> (none: the sweep interval). The claim
    /// condition is strict (<c>LastInstanceAt &lt; now - QuietPeriod</c>), hence the small margin.</summary>
    internal static TimeSpan WaitUntilQuiet(DateTimeOffset? oldestOpen, DateTimeOffset now, PipelineOptions o)
    {
        if (oldestOpen is not { } last) return o.SweepInterval;
        var wait = last + o.QuietPeriod + TimeSpan.FromMilliseconds(5) - now;
        if (wait < MinimumWait) wait = MinimumWait;
        return wait < o.SweepInterval ? wait : o.SweepInterval;
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
                    commands.Add(Claim(db, s, reason, now));
                }
                await db.SaveChangesAsync(ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
            }
        }
        signal.Notify();
        return commands;
    }

    /// <summary>Claims one series now, whatever its state (a re-analysis asked for through the API): a new claim id and an
    /// <see cref="AnalyzeSeries"/> outbox row with <paramref name="reason"/>, in one transaction, as a sweep does. Null when the
    /// series is unknown. A claim still running keeps running; its result and the new one are both kept (per claim).</summary>
    public async Task<AnalyzeSeries?> ClaimSeriesAsync(string seriesInstanceUid, string reason, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(seriesInstanceUid);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        for (int attempt = 0; ; attempt++)
        {
            var now = time.GetUtcNow();
            var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                var tx = await db.Database.BeginTransactionAsync(ct).ConfigureAwait(false);
                await using (tx.ConfigureAwait(false))
                {
                    // The row lock (PostgreSQL) keeps a concurrent sweep from claiming it between our read and write; SQLite's
                    // BEGIN IMMEDIATE holds the write lock already.
                    var s = db is PostgresIndexDbContext
                        ? await db.Series.FromSqlRaw("""SELECT * FROM "Series" WHERE "SeriesInstanceUid" = {0} FOR UPDATE""", seriesInstanceUid)
                            .FirstOrDefaultAsync(ct).ConfigureAwait(false)
                        : await db.Series.FirstOrDefaultAsync(x => x.SeriesInstanceUid == seriesInstanceUid, ct).ConfigureAwait(false);
                    if (s is null) return null;
                    var command = Claim(db, s, reason, now);
                    try
                    {
                        await db.SaveChangesAsync(ct).ConfigureAwait(false);
                        await tx.CommitAsync(ct).ConfigureAwait(false);
                    }
                    catch (DbUpdateConcurrencyException) when (attempt < 3)
                    {
                        // An instance of the series was committed meanwhile (Version changed): read it again.
                        continue;
                    }
                    signal.Notify();
                    return command;
                }
            }
        }
    }

    /// <summary>Gives <paramref name="s"/> a new claim and adds its command to the outbox (saved by the caller's transaction).</summary>
    private static AnalyzeSeries Claim(IndexDbContext db, SeriesRecord s, string reason, DateTimeOffset now)
    {
        s.State = SeriesRecord.Claimed;
        s.ClaimId = Guid.NewGuid();
        s.ClaimedAt = now;
        s.ClaimedBy = InstanceName;
        s.Version++;
        var command = new AnalyzeSeries(s.ClaimId.Value, s.StudyInstanceUid, s.SeriesInstanceUid, s.InstanceCount, reason, now);
        var (type, payload) = OutboxMessages.Serialize(command);
        db.Outbox.Add(new OutboxRecord { MessageType = type, Payload = payload, CreatedAt = now });
        return command;
    }
}
