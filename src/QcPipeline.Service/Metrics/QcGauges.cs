using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Prometheus;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Schedule;

namespace QcPipeline.Service.Metrics;

/// <summary>The QC gauges (configuration section <c>Metrics</c>).</summary>
public sealed record QcGaugeOptions
{
    public const string Section = "Metrics";

    /// <summary>Export the QC gauges from this process (the API role does; a receiver or worker need not).</summary>
    public bool QcGauges { get; init; } = true;

    /// <summary>The gauges are rebuilt from the database in the background every this long, and scrapes answer from the
    /// latest rebuild (any number of scrapers cost one query set per interval, and a scrape does not wait for the database);
    /// 0: rebuilt at every scrape instead.</summary>
    public TimeSpan QcRefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Label compliance is the share of series checked in this window with no error finding.</summary>
    public TimeSpan LabelComplianceWindow { get; init; } = TimeSpan.FromDays(30);
}

internal sealed class QcGaugeOptionsValidator : IValidateOptions<QcGaugeOptions>
{
    public ValidateOptionsResult Validate(string? name, QcGaugeOptions o)
    {
        var errors = new List<string>();
        if (o.QcRefreshInterval < TimeSpan.Zero || o.QcRefreshInterval > TimeSpan.FromHours(1))
            errors.Add($"{QcGaugeOptions.Section}:QcRefreshInterval must be 0 to 1 hour, not {o.QcRefreshInterval}");
        if (o.LabelComplianceWindow < TimeSpan.FromHours(1) || o.LabelComplianceWindow > TimeSpan.FromDays(3660))
            errors.Add($"{QcGaugeOptions.Section}:LabelComplianceWindow must be 1 hour to 10 years, not {o.LabelComplianceWindow}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>QC pass/fail as Prometheus gauges, rebuilt from the results database before a scrape (DESIGN.md, Metrics): every
/// API replica shows the same values, and a restart loses nothing. Labels: <c>device</c> is the device's registry key
/// (<c>serial:…</c>, <c>station:…</c>, <c>ae:…</c>), <c>test</c> the analysis profile, <c>metric</c> the stable metric name,
/// <c>rule</c> a label-rule id: bounded sets, never a patient value or UID. <c>qc_device_info</c> carries the editable names
/// for dashboards to join on. Every registered device is exported, with every test it has run or has planned, including
/// tests never passed (<c>qc_test_passed 0</c>, no last-pass time).</summary>
public sealed class QcGauges : IDisposable
{
    private readonly IDbContextFactory<ResultsDbContext> _db;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger<QcGauges> _logger;
    private readonly QcGaugeOptions _options;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private long _lastRefresh;
    private bool _everRefreshed;

    private readonly Gauge _metricValue, _limitMin, _limitMax, _passed, _lastRun, _lastPass, _due, _overdue, _compliance, _deviceInfo, _refreshed;
    private readonly Counter _findings;
    private readonly Counter _refreshFailures;
    private readonly Histogram _refreshDuration;
    // How to remove a label set, per collector (one delegate each, so it is also the key below).
    private readonly Dictionary<Collector, Action<string[]>> _removers = new();
    // Label sets exported by the previous rebuild, per gauge: what this rebuild no longer has is removed.
    private readonly Dictionary<Action<string[]>, HashSet<string[]>> _exported = new();

    public QcGauges(IDbContextFactory<ResultsDbContext> db, QcMetrics metrics, IServiceProvider services, TimeProvider time,
        IOptions<QcGaugeOptions> options, ILogger<QcGauges> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _db = db;
        _services = services;
        _time = time;
        _logger = logger;
        _options = options.Value;
        var f = Prometheus.Metrics.WithCustomRegistry(metrics.Registry);
        // Exported only for label sets the database has: no zero-filled placeholders that would look like a measurement.
        var sparse = new GaugeConfiguration { SuppressInitialValue = true };
        _metricValue = f.CreateGauge("qc_metric_value", "Series-level value of a metric in the latest result of a device's test.", ["device", "test", "metric"], sparse);
        _limitMin = f.CreateGauge("qc_metric_limit_min", "Lower limit the latest result of a device's test was judged by (absent: no lower limit).", ["device", "test", "metric"], sparse);
        _limitMax = f.CreateGauge("qc_metric_limit_max", "Upper limit the latest result of a device's test was judged by (absent: no upper limit).", ["device", "test", "metric"], sparse);
        _passed = f.CreateGauge("qc_test_passed", "1 when the latest result of the device's test passed, else 0 (failed, inconclusive, or never run).", ["device", "test"], sparse);
        _lastRun = f.CreateGauge("qc_test_last_run_timestamp_seconds", "Unix time of the latest result of the device's test.", ["device", "test"], sparse);
        _lastPass = f.CreateGauge("qc_test_last_pass_timestamp_seconds", "Unix time of the latest passing result of the device's test.", ["device", "test"], sparse);
        _due = f.CreateGauge("qc_test_due_timestamp_seconds", "Unix time at which the device's planned test is due (test plan frequency after the last pass).", ["device", "test"], sparse);
        _overdue = f.CreateGauge("qc_test_overdue", "1 when the device's planned test is past its due time, else 0.", ["device", "test"], sparse);
        _compliance = f.CreateGauge("qc_label_compliance_ratio", "Share of the device's series checked in the compliance window (Metrics:LabelComplianceWindow) with no label error.", ["device"], sparse);
        _deviceInfo = f.CreateGauge("qc_device_info", "1 per registered device; its display name, modality and site as labels (join on device).", ["device", "name", "modality", "site"], sparse);
        // The number of findings ever kept, read from the database: a counter that never goes down (findings are append-only).
        _findings = f.CreateCounter("qc_label_findings_total", "Label and integrity findings kept for the device, by rule (counted in the database; findings are append-only).",
            ["device", "rule"], new CounterConfiguration { SuppressInitialValue = true });
        _refreshed = f.CreateGauge("qc_gauges_refresh_timestamp_seconds", "Unix time of the last successful rebuild of the QC gauges from the database.");
        _refreshFailures = f.CreateCounter("qc_gauges_refresh_failures_total", "Rebuilds of the QC gauges that failed (the database was unreachable); the previous values stay.");
        _refreshDuration = f.CreateHistogram("qc_gauges_refresh_duration_seconds", "Time to rebuild the QC gauges from the database.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
        foreach (var g in new[] { _metricValue, _limitMin, _limitMax, _passed, _lastRun, _lastPass, _due, _overdue, _compliance, _deviceInfo })
            _removers[g] = labels => g.RemoveLabelled(labels);
        _removers[_findings] = labels => _findings.RemoveLabelled(labels);
        metrics.Registry.AddBeforeCollectCallback(BeforeCollectAsync);
    }

    public void Dispose() => _refresh.Dispose();

    /// <summary>Before each scrape: the gauges are rebuilt here only when they never were, or when every scrape must see the
    /// database as it is (<c>QcRefreshInterval</c> 0). Otherwise the background loop (<see cref="KeepFreshAsync"/>) rebuilds
    /// them every interval, so a scrape only writes what is there: its time does not grow with the results database.</summary>
    private Task BeforeCollectAsync(CancellationToken ct) =>
        _everRefreshed && _options.QcRefreshInterval > TimeSpan.Zero ? Task.CompletedTask : RefreshIfStaleAsync(ct);

    /// <summary>Rebuilds the gauges at start and then every <c>QcRefreshInterval</c>, until <paramref name="ct"/> ends.</summary>
    internal async Task KeepFreshAsync(CancellationToken ct)
    {
        if (_options.QcRefreshInterval <= TimeSpan.Zero) return;
        while (!ct.IsCancellationRequested)
        {
            try { await RefreshIfStaleAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            try { await Task.Delay(_options.QcRefreshInterval, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task RefreshIfStaleAsync(CancellationToken ct)
    {
        if (_everRefreshed && Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastRefresh)) < _options.QcRefreshInterval) return;
        await _refresh.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_everRefreshed && Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastRefresh)) < _options.QcRefreshInterval) return;
            await RefreshAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // A scrape must still answer (the operational metrics say the database is down): keep the last values.
            _refreshFailures.Inc();
            _logger.LogWarning("QC gauges not rebuilt: the results database failed ({ExceptionType}); previous values stay", ex.GetType().Name);
            _logger.LogDebug(ex, "QC gauge rebuild failure detail");
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>Rebuilds every QC gauge from the database now.</summary>
    public async Task RefreshAsync(CancellationToken ct = default)
    {
        long started = Stopwatch.GetTimestamp();
        var now = _time.GetUtcNow();
        var snapshot = await ReadAsync(now, ct).ConfigureAwait(false);
        Apply(snapshot);
        _refreshed.Set(now.ToUnixTimeMilliseconds() / 1000.0);
        _refreshDuration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        Interlocked.Exchange(ref _lastRefresh, Stopwatch.GetTimestamp());
        _everRefreshed = true;
    }

    private sealed record Latest(long DeviceId, string Test, string Verdict, DateTimeOffset At, List<(string Name, double? Value, double? Min, double? Max)> Metrics);

    private sealed record Snapshot(List<DeviceRecord> Devices, List<Latest> Latest, Dictionary<(long, string), DateTimeOffset> LastPass,
        IReadOnlyList<TestDueStatus> Due, Dictionary<long, double> Compliance, List<(long DeviceId, string Rule, int Count)> Findings);

    private async Task<Snapshot> ReadAsync(DateTimeOffset now, CancellationToken ct)
    {
        var db = await _db.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var devices = await db.Devices.AsNoTracking().ToListAsync(ct).ConfigureAwait(false);
            // The latest result per device and test is the one with the highest id (results are append-only). The id lists
            // stay subqueries (IN (SELECT MAX(Id) ... GROUP BY ...)), and the metrics are read flat rather than as a collection
            // per result: one round trip each and no per-result materialisation, which is what a 2000-series scrape costs.
            var latestIds = db.Results.GroupBy(r => new { r.DeviceId, r.Profile }).Select(g => g.Max(r => r.Id));
            var latestRows = await db.Results.AsNoTracking().Where(r => latestIds.Contains(r.Id))
                .Select(r => new { r.Id, r.DeviceId, r.Profile, r.Verdict, r.AnalyzedAt }).ToListAsync(ct).ConfigureAwait(false);
            var latestMetrics = (await db.ResultMetrics.AsNoTracking().Where(m => latestIds.Contains(m.ResultId)).OrderBy(m => m.Id)
                .Select(m => new { m.ResultId, m.Name, m.Value, m.LimitMin, m.LimitMax }).ToListAsync(ct).ConfigureAwait(false))
                .ToLookup(m => m.ResultId);
            var latest = latestRows.Select(r => new Latest(r.DeviceId, r.Profile, r.Verdict, r.AnalyzedAt,
                latestMetrics[r.Id].Select(m => (m.Name, Finite(m.Value), Finite(m.LimitMin), Finite(m.LimitMax))).ToList())).ToList();
            var passIds = db.Results.Where(r => r.Verdict == "pass").GroupBy(r => new { r.DeviceId, r.Profile }).Select(g => g.Max(r => r.Id));
            var lastPass = (await db.Results.AsNoTracking().Where(r => passIds.Contains(r.Id)).Select(r => new { r.DeviceId, r.Profile, r.AnalyzedAt })
                .ToListAsync(ct).ConfigureAwait(false)).ToDictionary(r => (r.DeviceId, r.Profile), r => r.AnalyzedAt);
            var since = now - _options.LabelComplianceWindow;
            var compliance = (await db.SeriesChecks.Where(c => c.At >= since).GroupBy(c => c.DeviceId)
                .Select(g => new { DeviceId = g.Key, All = g.Count(), Clean = g.Count(c => c.Errors == 0) }).ToListAsync(ct).ConfigureAwait(false))
                .ToDictionary(c => c.DeviceId, c => (double)c.Clean / c.All);
            var findings = (await db.LabelFindings.GroupBy(f => new { f.DeviceId, f.RuleId }).Select(g => new { g.Key.DeviceId, g.Key.RuleId, Count = g.Count() })
                .ToListAsync(ct).ConfigureAwait(false)).Select(f => (f.DeviceId, f.RuleId, f.Count)).ToList();
            // Test plans, when the schedule is part of this service: due and overdue come from them, by the schedule's rule
            // (TestDueStatusService.Statuses) over the plan rows and the last passes read above, rather than through
            // ITestDueStatus, whose own pass over every result would be a second one per rebuild.
            List<TestDueStatus> due = [];
            if (_services.GetService<ITestDueStatus>() is not null)
            {
                var plans = (await db.TestPlans.AsNoTracking().ToListAsync(ct).ConfigureAwait(false)).ToLookup(p => p.DeviceId);
                due = TestDueStatusService.Statuses(devices.Select(d => (d.Id, d.Modality, d.FirstSeenAt)), plans,
                    (device, test) => (null, lastPass.TryGetValue((device, test), out var p) && p <= now ? p : null, null), now);
            }
            return new Snapshot(devices, latest, lastPass, due, compliance, findings);
        }
    }

    private void Apply(Snapshot s)
    {
        var seen = new Dictionary<Action<string[]>, HashSet<string[]>>();
        void Mark(Action<string[]> remove, string[] labels)
        {
            if (!seen.TryGetValue(remove, out var set)) seen[remove] = set = new HashSet<string[]>(LabelsComparer.Instance);
            set.Add(labels);
        }
        void Set(Gauge g, double value, params string[] labels)
        {
            g.WithLabels(labels).Set(value);
            Mark(_removers[g], labels);
        }

        var keys = s.Devices.ToDictionary(d => d.Id, d => d.Key);
        foreach (var d in s.Devices)
            Set(_deviceInfo, 1, d.Key, d.DisplayName ?? "", d.Modality ?? "", d.Site ?? "");
        var tests = new HashSet<(long, string)>();
        foreach (var r in s.Latest)
        {
            if (!keys.TryGetValue(r.DeviceId, out var device)) continue;
            tests.Add((r.DeviceId, r.Test));
            Set(_passed, r.Verdict == "pass" ? 1 : 0, device, r.Test);
            Set(_lastRun, r.At.ToUnixTimeMilliseconds() / 1000.0, device, r.Test);
            foreach (var (name, value, min, max) in r.Metrics)
            {
                if (value is { } v) Set(_metricValue, v, device, r.Test, name);
                if (min is { } lo) Set(_limitMin, lo, device, r.Test, name);
                if (max is { } hi) Set(_limitMax, hi, device, r.Test, name);
            }
        }
        foreach (var ((deviceId, test), at) in s.LastPass)
            if (keys.TryGetValue(deviceId, out var device)) Set(_lastPass, at.ToUnixTimeMilliseconds() / 1000.0, device, test);
        foreach (var d in s.Due)
        {
            if (!keys.TryGetValue(d.DeviceId, out var device)) continue;
            // A planned test never run is exported as not passed: a device that has never passed shows on the fleet matrix.
            if (tests.Add((d.DeviceId, d.Test))) Set(_passed, 0, device, d.Test);
            if (d.DueAt is { } at) Set(_due, at.ToUnixTimeMilliseconds() / 1000.0, device, d.Test);
            Set(_overdue, d.Overdue ? 1 : 0, device, d.Test);
        }
        foreach (var (deviceId, ratio) in s.Compliance)
            if (keys.TryGetValue(deviceId, out var device)) Set(_compliance, ratio, device);
        foreach (var (deviceId, rule, count) in s.Findings)
            if (keys.TryGetValue(deviceId, out var device))
            {
                _findings.WithLabels(device, rule).IncTo(count);
                Mark(_removers[_findings], [device, rule]);
            }

        // What the previous rebuild exported and this one did not (a device renamed, a test no longer planned) goes away.
        foreach (var (remove, before) in _exported)
        {
            seen.TryGetValue(remove, out var now);
            foreach (var labels in before)
                if (now is null || !now.Contains(labels)) remove(labels);
        }
        _exported.Clear();
        foreach (var (k, v) in seen) _exported[k] = v;
    }

    private static double? Finite(double? v) => v is { } x && double.IsFinite(x) ? x : null;

    private sealed class LabelsComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelsComparer Instance = new();
        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);
        public int GetHashCode(string[] obj)
        {
            var h = new HashCode();
            foreach (var s in obj) h.Add(s, StringComparer.Ordinal);
            return h.ToHashCode();
        }
    }
}

public static class QcGaugesServiceCollectionExtensions
{
    /// <summary>The QC gauges (<see cref="QcGauges"/>), built from the database at scrape time when <c>Metrics:QcGauges</c> is true.</summary>
    public static IServiceCollection AddQcGauges(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<QcGaugeOptions>().Bind(configuration.GetSection(QcGaugeOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<QcGaugeOptions>, QcGaugeOptionsValidator>();
        services.AddSingleton<QcGauges>();
        services.AddHostedService<QcGaugesActivator>();
        return services;
    }

    /// <summary>Creates the gauges at start (they hook into the registry when constructed) when enabled, and keeps them
    /// rebuilt from the database every <c>Metrics:QcRefreshInterval</c>.</summary>
    private sealed class QcGaugesActivator(IServiceProvider services, IOptions<QcGaugeOptions> options) : BackgroundService
    {
        public override Task StartAsync(CancellationToken cancellationToken)
        {
            if (options.Value.QcGauges) _ = services.GetRequiredService<QcGauges>();
            return base.StartAsync(cancellationToken);
        }

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            if (!options.Value.QcGauges) return;
            await Task.Yield();
            await services.GetRequiredService<QcGauges>().KeepFreshAsync(stoppingToken).ConfigureAwait(false);
        }
    }
}
