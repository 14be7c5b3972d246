using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Analysis.Labels;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Tests;

/// <summary>The report's label-compliance rate counts every series whose labels were checked (the <c>SeriesChecks</c> rows
/// the worker writes), clinical series with no finding and no QC result included — the same source as the
/// <c>qc_label_compliance_ratio</c> gauge — rather than only series that left a result or a finding (a lower bound).</summary>
public sealed class ReportLabelComplianceTests
{
    [Fact]
    public async Task Clinical_series_checked_without_findings_count_in_the_rate()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false", "--Metrics:QcRefreshInterval=00:00:00");
        var store = svc.Services.GetRequiredService<ResultStore>();
        var device = await store.ResolveDeviceAsync(new DeviceIdentity("LBL-CT", "CT07", null, Modality: "CT"));
        QcFinding[] error = [new() { RuleId = "label.patient-name", Severity = FindingSeverity.Error, MessageEn = "empty", MessageZh = "空" }];
        QcFinding[] warning = [new() { RuleId = "hr.misplaced", Severity = FindingSeverity.Warning, MessageEn = "misplaced", MessageZh = "位置不当" }];
        // Eight clinical series: one with an error, one with a warning only, six clean (no finding, no result: only the check row).
        await store.RecordFindingsAsync(Guid.NewGuid(), "1.2.826.0.1.3680043.10.555.1", device.Id, error, 1);
        await store.RecordFindingsAsync(Guid.NewGuid(), "1.2.826.0.1.3680043.10.555.2", device.Id, warning, 1);
        for (int i = 3; i <= 8; i++) await store.RecordFindingsAsync(Guid.NewGuid(), $"1.2.826.0.1.3680043.10.555.{i}", device.Id, [], 1);
        // A series checked twice (a re-analysis) is one series; its later clean check does not hide the error of the first.
        await store.RecordFindingsAsync(Guid.NewGuid(), "1.2.826.0.1.3680043.10.555.1", device.Id, [], 1);

        using var http = svc.CreateHttpClient();
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"/api/reports/trend?device={device.Id}"));
        var labels = doc.RootElement.GetProperty("devices")[0].GetProperty("labels");
        Assert.Equal((8, 7), (labels.GetProperty("seriesChecked").GetInt32(), labels.GetProperty("seriesCompliant").GetInt32()));
        Assert.Equal(7.0 / 8, labels.GetProperty("rate").GetDouble(), 9);

        // The gauge reads the same table (per check run: 9 checks, 1 with an error).
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains($"qc_label_compliance_ratio{{device=\"{device.Key}\"}} {(8.0 / 9).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}", text, StringComparison.Ordinal);
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db) Assert.Equal(9, await db.SeriesChecks.CountAsync(c => c.DeviceId == device.Id));
    }
}
