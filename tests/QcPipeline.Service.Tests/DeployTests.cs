using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Labels;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Tests;

/// <summary>deploy/: every Grafana panel and every alert rule queries a metric the service really exports (scraped from a
/// running service with a device, results, findings and a test plan), and the dashboards use the provisioned datasource.
/// promtool and amtool check the files themselves in scripts/test.sh.</summary>
public sealed partial class DeployTests
{
    private static readonly string Deploy = Path.Combine(Support.RepoRoot, "deploy");

    private static IEnumerable<(string Dashboard, string Panel, string Expr)> PanelQueries()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(Deploy, "grafana", "dashboards"), "*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
                foreach (var t in panel.GetProperty("targets").EnumerateArray())
                    yield return (Path.GetFileName(file), panel.GetProperty("title").GetString()!, t.GetProperty("expr").GetString()!);
        }
    }

    [GeneratedRegex(@"\b(qc_[a-z0-9_]+)")]
    private static partial Regex MetricName();

    /// <summary>The exported family of a series name: histogram series end in _bucket, _sum or _count.</summary>
    private static string Family(string name) => Regex.Replace(name, "_(bucket|sum|count)$", "");

    [Fact]
    public void Every_panel_has_a_query_and_uses_the_provisioned_datasource()
    {
        var provisioning = File.ReadAllText(Path.Combine(Deploy, "grafana", "provisioning", "datasources", "prometheus.yml"));
        Assert.Contains("uid: qc-prometheus", provisioning, StringComparison.Ordinal);
        var queries = PanelQueries().ToList();
        Assert.True(queries.Count >= 25, $"only {queries.Count} queries");
        Assert.All(queries, q => Assert.False(string.IsNullOrWhiteSpace(q.Expr), $"{q.Dashboard} / {q.Panel}: empty query"));
        foreach (var file in Directory.GetFiles(Path.Combine(Deploy, "grafana", "dashboards"), "*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
                Assert.Equal("qc-prometheus", panel.GetProperty("datasource").GetProperty("uid").GetString());
        }
        // The three dashboards the issue names.
        var titles = Directory.GetFiles(Path.Combine(Deploy, "grafana", "dashboards"), "*.json")
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.GetProperty("title").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "QC fleet overview", "QC device trends", "Ingest and pipeline health" }, titles);
    }

    [Fact]
    public async Task Every_metric_in_the_dashboards_and_alert_rules_is_exported_by_the_service()
    {
        var wanted = PanelQueries().SelectMany(q => MetricName().Matches(q.Expr).Select(m => (Where: $"{q.Dashboard} / {q.Panel}", Name: m.Value)))
            .Concat(MetricName().Matches(File.ReadAllText(Path.Combine(Deploy, "prometheus", "rules", "qc-alerts.yml"))).Select(m => (Where: "qc-alerts.yml", Name: m.Value)))
            .ToList();
        Assert.NotEmpty(wanted);

        await using var svc = await InProcessService.StartAsync(null, "--Metrics:QcRefreshInterval=00:00:00");
        var store = svc.Services.GetRequiredService<ResultStore>();
        var device = await store.ResolveDeviceAsync(new DeviceIdentity("SN-DEPLOY", "CT01", null, Modality: "CT"));
        await store.RecordAsync(new ResultWrite(Guid.NewGuid(), "1.2.3", "1.2.3.4", device.Id, new AnalysisResult
        {
            Profile = "ct-water", AlgorithmVersion = "ct-water/1.0", Verdict = Verdict.Pass,
            Metrics = [MetricResult.Judge(MetricNames.CtWaterHu, 1.0, "HU", Limit.Within(0, 6))],
            LimitSet = new LimitSetReference("standards", 1, LimitKind.Constancy),
        }, 1, "quiet", TimeSpan.Zero));
        await store.RecordFindingsAsync(Guid.NewGuid(), "1.2.3.4", device.Id,
            [new QcFinding { RuleId = "label.patient-name", Severity = FindingSeverity.Error, MessageEn = "x", MessageZh = "x" }], 1);
        using var http = svc.CreateHttpClient();
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var exported = Regex.Matches(text, @"^# TYPE (\S+) ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        // Present with a sample, not only declared: the gauges built from the database had data to show.
        var sampled = Regex.Matches(text, @"^(qc_[a-z0-9_]+)[{ ]", RegexOptions.Multiline).Select(m => Family(m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal);
        var missing = wanted.Where(w => !exported.Contains(Family(w.Name)) || !sampled.Contains(Family(w.Name)))
            .Select(w => $"{w.Where}: {w.Name}").Distinct().ToList();
        Assert.True(missing.Count == 0, "not exported by the service: " + string.Join("; ", missing));
    }
}
