using Microsoft.EntityFrameworkCore;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Schedule;

/// <summary><see cref="ITestDueStatus"/> from the results database: each device's effective plan (its rows, else its
/// modality's defaults), the last result and the last passing result per planned test up to <c>now</c>.</summary>
public sealed class TestDueStatusService(IDbContextFactory<ResultsDbContext> factory) : ITestDueStatus
{
    public async Task<IReadOnlyList<TestDueStatus>> GetAsync(long? deviceId, DateTimeOffset now, CancellationToken ct = default)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var devices = await db.Devices.AsNoTracking().Where(d => deviceId == null || d.Id == deviceId)
                .Select(d => new { d.Id, d.Modality, d.FirstSeenAt }).ToListAsync(ct).ConfigureAwait(false);
            var rows = (await db.TestPlans.AsNoTracking().Where(p => deviceId == null || p.DeviceId == deviceId).ToListAsync(ct).ConfigureAwait(false))
                .ToLookup(p => p.DeviceId);
            // Per device and profile: the last run, its verdict, and the last pass, as of now (a later result does not count).
            var stats = (await db.Results.AsNoTracking().Where(r => (deviceId == null || r.DeviceId == deviceId) && r.AnalyzedAt <= now)
                .GroupBy(r => new { r.DeviceId, r.Profile })
                .Select(g => new
                {
                    g.Key.DeviceId,
                    g.Key.Profile,
                    LastRun = g.Max(r => r.AnalyzedAt),
                    LastPass = g.Where(r => r.Verdict == "pass").Max(r => (DateTimeOffset?)r.AnalyzedAt),
                    LastVerdict = g.OrderByDescending(r => r.AnalyzedAt).ThenByDescending(r => r.Id).Select(r => r.Verdict).FirstOrDefault(),
                }).ToListAsync(ct).ConfigureAwait(false))
                .ToDictionary(s => (s.DeviceId, s.Profile));

            return Statuses(devices.OrderBy(d => d.Id).Select(d => (d.Id, d.Modality, d.FirstSeenAt)), rows,
                (device, test) => stats.TryGetValue((device, test), out var s) ? (s.LastRun, s.LastPass, s.LastVerdict) : default, now);
        }
    }

    /// <summary>The due status of every enabled test of each device's effective plan, given the plan rows and, per device
    /// and test, the last run, last pass and last verdict as of <paramref name="now"/>: the schedule's one rule, also used
    /// by the QC gauges over the results they have read already.</summary>
    internal static List<TestDueStatus> Statuses(IEnumerable<(long Id, string? Modality, DateTimeOffset FirstSeenAt)> devices,
        ILookup<long, TestPlanRecord> plans, Func<long, string, (DateTimeOffset? LastRun, DateTimeOffset? LastPass, string? LastVerdict)> last,
        DateTimeOffset now)
    {
        var list = new List<TestDueStatus>();
        foreach (var d in devices)
        {
            foreach (var t in TestPlans.Effective(d.Modality, [.. plans[d.Id]]).Where(t => t.Enabled))
            {
                var s = last(d.Id, t.Test);
                var (due, overdue) = TestPlans.Due(t.Frequency, s.LastPass, d.FirstSeenAt, now);
                list.Add(new TestDueStatus(d.Id, t.Test, t.Frequency.Nominal, s.LastRun, s.LastPass, s.LastVerdict, due, overdue));
            }
        }
        return list;
    }
}
