using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Service.Bus;
using QcPipeline.Service.Index;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Workers;

namespace QcPipeline.Service.Tests;

/// <summary>Scenarios of the outbox and series assembly, run on SQLite and on PostgreSQL.</summary>
internal static class SeriesAssemblyScenarios
{
    public static readonly string[] FastPipeline = ["--Pipeline:QuietPeriod=00:00:01", "--Storage:Fsync=false"];

    public static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > until) return value;
            await Task.Delay(100);
        }
    }

    public static async Task<T> IndexAsync<T>(InProcessService svc, Func<IndexDbContext, Task<T>> read)
    {
        var db = await svc.Services.GetRequiredService<IDbContextFactory<IndexDbContext>>().CreateDbContextAsync();
        await using (db) return await read(db);
    }

    public static async Task<List<ResultRecord>> ResultsAsync(InProcessService svc, string seriesUid)
    {
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db) return await db.Results.AsNoTracking().Where(r => r.SeriesInstanceUid == seriesUid).ToListAsync();
    }

    public static Task<List<OutboxRecord>> OutboxAsync(InProcessService svc) =>
        IndexAsync(svc, db => db.Outbox.AsNoTracking().OrderBy(r => r.Id).ToListAsync());

    public static Task<SeriesRecord?> SeriesAsync(InProcessService svc, string seriesUid) =>
        IndexAsync(svc, db => db.Series.AsNoTracking().SingleOrDefaultAsync(s => s.SeriesInstanceUid == seriesUid));

    /// <summary>storescu sends 3 CT slices of one series: every instance gets one InstanceStored outbox row, the series is
    /// claimed once after the quiet period (not before), the AnalyzeSeries command goes out through the outbox, the worker
    /// stores results under that one claim and marks the series analyzed; everything in the outbox is dispatched. The same
    /// files again (duplicates) write no outbox row and do not re-open the series.</summary>
    public static async Task StoredSeriesIsAnalysedOnceAsync(params string[] args)
    {
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync(null, [.. FastPipeline, .. args]);
        try
        {
            var files = Support.MakeCtFiles(input, 3);
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
            Assert.True(store.ExitCode == 0, store.All);
            Assert.All(files, f => Assert.Equal("Success", Support.StoreResponses(store.All)[f.Path]));
            var seriesUid = files[0].SeriesUid;

            var series = await Eventually(() => SeriesAsync(svc, seriesUid), s => s?.State == SeriesRecord.Analyzed, TimeSpan.FromSeconds(90));
            Assert.NotNull(series);
            Assert.Equal(SeriesRecord.Analyzed, series.State);
            Assert.Equal((3, files[0].StudyUid, "CT"), (series.InstanceCount, series.StudyInstanceUid, series.Modality));
            Assert.NotNull(series.ClaimId);
            // Claimed when quiet for the period (1 s), by the next sweep (every 1 s), not before.
            var waited = series.ClaimedAt!.Value - series.LastInstanceAt;
            Assert.True(waited >= TimeSpan.FromSeconds(1) && waited < TimeSpan.FromSeconds(3.5), $"claimed {waited} after the last instance");

            var results = await ResultsAsync(svc, seriesUid);
            Assert.NotEmpty(results);
            Assert.All(results, r => Assert.Equal((series.ClaimId.Value, "quiet", 3), (r.ClaimId, r.Reason, r.InstanceCount)));
            Assert.Contains(results, r => r.Profile == "ct-water" && r.Verdict == "pass");

            var outbox = await Eventually(() => OutboxAsync(svc), rows => rows.All(r => r.DispatchedAt is not null), TimeSpan.FromSeconds(30));
            Assert.All(outbox, r => Assert.NotNull(r.DispatchedAt));
            var stored = outbox.Where(r => r.MessageType == nameof(InstanceStored))
                .Select(r => (InstanceStored)OutboxMessages.Deserialize(r.MessageType, r.Payload)).ToList();
            Assert.Equal(files.Select(f => f.SopInstanceUid).Order(), stored.Select(m => m.SopInstanceUid).Order());
            Assert.All(stored, m => Assert.Equal((seriesUid, 1, "dimse"), (m.SeriesInstanceUid, m.Version, m.Source)));
            var instanceIds = await IndexAsync(svc, db => db.Instances.Select(i => i.Id).ToListAsync());
            Assert.Equal(instanceIds.Order(), stored.Select(m => m.InstanceId).Order());
            var analyze = Assert.Single(outbox, r => r.MessageType == nameof(AnalyzeSeries));
            var command = (AnalyzeSeries)OutboxMessages.Deserialize(analyze.MessageType, analyze.Payload);
            Assert.Equal((series.ClaimId.Value, seriesUid, 3, "quiet"), (command.ClaimId, command.SeriesInstanceUid, command.InstanceCount, command.Reason));
            Assert.Equal(0d, svc.Services.GetRequiredService<OutboxMetrics>().Pending.Value);

            // Duplicates: answered Success, nothing new in the outbox, the series stays analyzed (not claimed again).
            var again = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
            Assert.True(again.ExitCode == 0, again.All);
            await Task.Delay(TimeSpan.FromSeconds(2.5));
            Assert.Equal(outbox.Count, (await OutboxAsync(svc)).Count);
            var after = await SeriesAsync(svc, seriesUid);
            Assert.Equal((SeriesRecord.Analyzed, series.ClaimId, 3), (after!.State, after.ClaimId, after.InstanceCount));
            Assert.Equal(results.Count, (await ResultsAsync(svc, seriesUid)).Count);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    /// <summary>Several tasks sweep at once (as several processes would): every quiet series is claimed exactly once, each
    /// claim has its AnalyzeSeries outbox row, and a series still within its quiet period is not claimed.</summary>
    /// <summary>The sweeper sleeps until the oldest open series becomes quiet, capped by the sweep interval: with a 1 h
    /// interval and a 10 s quiet period it sleeps the 10 s of a series touched now, the rest of them for one touched 4 s ago,
    /// the minimum for one already quiet, and the full interval when nothing is open; claimed and analysed series do not count.</summary>
    public static async Task SweeperSleepsUntilTheOldestOpenSeriesIsQuietAsync(params string[] args)
    {
        await using var svc = await InProcessService.StartAsync(null, ["--Pipeline:QuietPeriod=00:00:10", "--Pipeline:SweepInterval=01:00:00",
            "--Pipeline:SweeperEnabled=false", "--Storage:Fsync=false", .. args]);
        var sweeper = svc.Services.GetRequiredService<SeriesSweeper>();
        Assert.Equal(TimeSpan.FromHours(1), await sweeper.NextWaitAsync()); // nothing open

        var now = DateTimeOffset.UtcNow;
        SeriesRecord Row(DateTimeOffset last, string state) => new()
        {
            SeriesInstanceUid = Support.NewUid(), StudyInstanceUid = "1.2.3", InstanceCount = 1, FirstInstanceAt = last,
            LastInstanceAt = last, State = state, Version = 1,
        };
        // An old claimed and an old analysed series: not waited for.
        await IndexAsync(svc, db =>
        {
            db.Series.AddRange(Row(now.AddMinutes(-5), SeriesRecord.Claimed), Row(now.AddMinutes(-5), SeriesRecord.Analyzed), Row(now, SeriesRecord.Open));
            return db.SaveChangesAsync();
        });
        var wait = await sweeper.NextWaitAsync();
        Assert.InRange(wait, TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(10.1));

        await IndexAsync(svc, db => { db.Series.Add(Row(now.AddSeconds(-4), SeriesRecord.Open)); return db.SaveChangesAsync(); });
        wait = await sweeper.NextWaitAsync();
        Assert.InRange(wait, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(6.1));

        await IndexAsync(svc, db => { db.Series.Add(Row(now.AddSeconds(-30), SeriesRecord.Open)); return db.SaveChangesAsync(); });
        Assert.Equal(SeriesSweeper.MinimumWait, await sweeper.NextWaitAsync());
    }

    public static async Task ConcurrentSweepsClaimEachSeriesOnceAsync(params string[] args)
    {
        await using var svc = await InProcessService.StartAsync(null, [.. FastPipeline, "--Pipeline:SweeperEnabled=false", "--Pipeline:SweepBatchSize=7", .. args]);
        var now = DateTimeOffset.UtcNow;
        var quiet = Enumerable.Range(0, 60).Select(_ => Support.NewUid()).ToList();
        var busy = Support.NewUid();
        await IndexAsync(svc, async db =>
        {
            foreach (var uid in quiet)
                db.Series.Add(new SeriesRecord { SeriesInstanceUid = uid, StudyInstanceUid = "1.2.3", InstanceCount = 1, FirstInstanceAt = now.AddMinutes(-1),
                    LastInstanceAt = now.AddMinutes(-1), State = SeriesRecord.Open, Version = 1 });
            db.Series.Add(new SeriesRecord { SeriesInstanceUid = busy, StudyInstanceUid = "1.2.3", InstanceCount = 1, FirstInstanceAt = now,
                LastInstanceAt = now.AddMinutes(1), State = SeriesRecord.Open, Version = 1 });
            return await db.SaveChangesAsync();
        });

        var sweeper = svc.Services.GetRequiredService<SeriesSweeper>();
        var start = new TaskCompletionSource();
        var tasks = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            await start.Task;
            var mine = new List<AnalyzeSeries>();
            while (true)
            {
                var claimed = await sweeper.ClaimAsync();
                if (claimed.Count == 0) return mine;
                mine.AddRange(claimed);
            }
        })).ToList();
        start.SetResult();
        var all = (await Task.WhenAll(tasks)).SelectMany(x => x).ToList();

        Assert.Equal(quiet.Order(), all.Select(c => c.SeriesInstanceUid).Order()); // each once, the busy one not
        Assert.Equal(all.Count, all.Select(c => c.ClaimId).Distinct().Count());
        var outbox = await OutboxAsync(svc);
        var commands = outbox.Where(r => r.MessageType == nameof(AnalyzeSeries))
            .Select(r => (AnalyzeSeries)OutboxMessages.Deserialize(r.MessageType, r.Payload)).ToList();
        Assert.Equal(all.Select(c => c.ClaimId).Order(), commands.Select(c => c.ClaimId).Order());
        var rows = await IndexAsync(svc, db => db.Series.AsNoTracking().ToListAsync());
        Assert.All(rows.Where(r => r.SeriesInstanceUid != busy), r =>
        {
            Assert.NotEqual(SeriesRecord.Open, r.State);
            Assert.Contains(all, c => c.ClaimId == r.ClaimId && c.SeriesInstanceUid == r.SeriesInstanceUid);
        });
        Assert.Equal(SeriesRecord.Open, rows.Single(r => r.SeriesInstanceUid == busy).State);
    }

    /// <summary>A claim never finished (here: made long ago, never marked analyzed) is claimed again after the claim timeout,
    /// with a new claim id and reason "reclaim"; a recent claim is left alone.</summary>
    public static async Task TimedOutClaimIsClaimedAgainAsync(params string[] args)
    {
        await using var svc = await InProcessService.StartAsync(null, [.. FastPipeline, "--Pipeline:SweeperEnabled=false", "--Pipeline:ClaimTimeout=00:01:00", .. args]);
        var now = DateTimeOffset.UtcNow;
        var (stale, fresh) = (Support.NewUid(), Support.NewUid());
        var (staleClaim, freshClaim) = (Guid.NewGuid(), Guid.NewGuid());
        await IndexAsync(svc, async db =>
        {
            db.Series.Add(new SeriesRecord { SeriesInstanceUid = stale, StudyInstanceUid = "1.2.3", InstanceCount = 2, FirstInstanceAt = now.AddHours(-1),
                LastInstanceAt = now.AddHours(-1), State = SeriesRecord.Claimed, ClaimId = staleClaim, ClaimedAt = now.AddMinutes(-2), ClaimedBy = "gone/1", Version = 2 });
            db.Series.Add(new SeriesRecord { SeriesInstanceUid = fresh, StudyInstanceUid = "1.2.3", InstanceCount = 2, FirstInstanceAt = now.AddHours(-1),
                LastInstanceAt = now.AddHours(-1), State = SeriesRecord.Claimed, ClaimId = freshClaim, ClaimedAt = now.AddSeconds(-5), ClaimedBy = "busy/1", Version = 2 });
            return await db.SaveChangesAsync();
        });
        var claimed = await svc.Services.GetRequiredService<SeriesSweeper>().ClaimAsync();
        var c = Assert.Single(claimed);
        Assert.Equal((stale, "reclaim", 2), (c.SeriesInstanceUid, c.Reason, c.InstanceCount));
        Assert.NotEqual(staleClaim, c.ClaimId);
        var rows = await IndexAsync(svc, db => db.Series.AsNoTracking().ToDictionaryAsync(s => s.SeriesInstanceUid));
        Assert.Equal(freshClaim, rows[fresh].ClaimId);
        Assert.Equal(c.ClaimId, rows[stale].ClaimId);
        Assert.Equal(SeriesSweeper.InstanceName, rows[stale].ClaimedBy);
    }

    /// <summary>After the first analysis, a replacement of one instance and a new instance re-open the series: both get an
    /// InstanceStored row (the replacement as version 2), the count counts the new instance only, and the series is claimed
    /// and analysed again under a new claim with all 4 instances; the first claim's results stay.</summary>
    public static async Task NewInstancesReopenAnAnalysedSeriesAsync(params string[] args)
    {
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync(null, [.. FastPipeline, .. args]);
        try
        {
            var files = Support.MakeCtFiles(input, 3);
            var seriesUid = files[0].SeriesUid;
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path));
            Assert.True(store.ExitCode == 0, store.All);
            var first = await Eventually(() => SeriesAsync(svc, seriesUid), s => s?.State == SeriesRecord.Analyzed, TimeSpan.FromSeconds(90));
            Assert.Equal(SeriesRecord.Analyzed, first?.State);

            var replaced = Path.Combine(input, "replaced.dcm");
            Support.WriteVariant(replaced, files[0].StudyUid, seriesUid, files[0].SopInstanceUid, 1, "QC CT REPLACED");
            var added = Path.Combine(input, "added.dcm");
            var addedSop = Support.NewUid();
            Support.WriteVariant(added, files[0].StudyUid, seriesUid, addedSop, 4, null);
            var more = await Support.StoreScuAsync(svc.DicomPort, [replaced, added]);
            Assert.True(more.ExitCode == 0, more.All);
            Assert.All(new[] { replaced, added }, f => Assert.Equal("Success", Support.StoreResponses(more.All)[f]));

            var second = await Eventually(() => SeriesAsync(svc, seriesUid), s => s?.State == SeriesRecord.Analyzed && s.ClaimId != first!.ClaimId,
                TimeSpan.FromSeconds(90));
            Assert.NotNull(second);
            Assert.Equal(SeriesRecord.Analyzed, second.State);
            Assert.NotEqual(first!.ClaimId, second.ClaimId);
            Assert.Equal(4, second.InstanceCount);

            var outbox = await Eventually(() => OutboxAsync(svc), rows => rows.All(r => r.DispatchedAt is not null), TimeSpan.FromSeconds(30));
            var stored = outbox.Where(r => r.MessageType == nameof(InstanceStored))
                .Select(r => (InstanceStored)OutboxMessages.Deserialize(r.MessageType, r.Payload)).ToList();
            Assert.Equal(5, stored.Count);
            Assert.Single(stored, m => m.SopInstanceUid == files[0].SopInstanceUid && m.Version == 2);
            Assert.Single(stored, m => m.SopInstanceUid == addedSop && m.Version == 1);
            var commands = outbox.Where(r => r.MessageType == nameof(AnalyzeSeries))
                .Select(r => (AnalyzeSeries)OutboxMessages.Deserialize(r.MessageType, r.Payload)).ToList();
            Assert.Equal([(first.ClaimId!.Value, 3), (second.ClaimId!.Value, 4)], commands.Select(c => (c.ClaimId, c.InstanceCount)));

            var results = await ResultsAsync(svc, seriesUid);
            Assert.Equal(new[] { first.ClaimId.Value, second.ClaimId.Value }.Order(), results.Select(r => r.ClaimId).Distinct().Order());
            Assert.All(results.Where(r => r.ClaimId == second.ClaimId), r => Assert.Equal(4, r.InstanceCount));
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
