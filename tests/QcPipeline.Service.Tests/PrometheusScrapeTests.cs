using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Service.ResultsStore;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>The issue's proof "Prometheus scraping": a real Prometheus (Debian) scrapes a running service, and its HTTP API
/// returns the QC series of a result the pipeline produced from a CT water phantom series sent by storescu.</summary>
public sealed class PrometheusScrapeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Prometheus_scrapes_the_service_and_its_api_returns_the_qc_series()
    {
        var input = Support.NewTempDir("qcprom-in");
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:QuietPeriod=00:00:01", "--Pipeline:SweepInterval=00:00:00.5",
            "--Metrics:QcRefreshInterval=00:00:00");
        try
        {
            // A real result: a simulated CT water series through C-STORE, the sweeper, the worker and the results store.
            var files = Support.MakeCtFiles(Path.Combine(input, "ct"), 3);
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
            Assert.True(store.ExitCode == 0, store.All);
            var factory = svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>();
            ResultRecord? water = null;
            var until = DateTime.UtcNow.AddSeconds(90);
            while (water is null && DateTime.UtcNow < until)
            {
                var db = await factory.CreateDbContextAsync();
                await using (db)
                {
                    water = await db.Results.AsNoTracking().Include(r => r.Metrics)
                        .SingleOrDefaultAsync(r => r.SeriesInstanceUid == files[0].SeriesUid && r.Profile == "ct-water");
                }
                if (water is null) await Task.Delay(250);
            }
            Assert.NotNull(water);
            DeviceRecord device;
            var db2 = await factory.CreateDbContextAsync();
            await using (db2) device = await db2.Devices.AsNoTracking().SingleAsync(d => d.Id == water.DeviceId);
            output.WriteLine($"result {water.Id}: {water.Verdict}, device {device.Key}");

            // Prometheus scrapes the service's HTTP port every second.
            await using var prom = await PrometheusServer.StartAsync($"127.0.0.1:{svc.HttpBase.Port}");
            var sel = $"device=\"{device.Key}\",test=\"ct-water\"";
            var passed = Assert.Single(await prom.WaitForAsync($"qc_test_passed{{{sel}}}", TimeSpan.FromSeconds(60)));
            Assert.Equal(water.Verdict == "pass" ? 1 : 0, passed.Value);
            Assert.Equal("qcpipeline", passed.Labels["job"]);
            Assert.Equal($"127.0.0.1:{svc.HttpBase.Port}", passed.Labels["instance"]);

            // Every series-level metric of the result, with the value the database holds.
            var valued = water.Metrics.Where(m => m.Value is not null).ToList();
            Assert.NotEmpty(valued);
            var values = await prom.WaitForAsync($"qc_metric_value{{{sel}}}", TimeSpan.FromSeconds(30));
            Assert.Equal(valued.Select(m => m.Name).Order(StringComparer.Ordinal), values.Select(v => v.Labels["metric"]).Order(StringComparer.Ordinal));
            foreach (var m in valued)
                Assert.Equal(m.Value!.Value, values.Single(v => v.Labels["metric"] == m.Name).Value, 1e-9);
            var hu = Assert.Single(await prom.QueryAsync($"qc_metric_value{{{sel},metric=\"ct.water_hu\"}}"));
            Assert.Equal(water.Metrics.Single(m => m.Name == "ct.water_hu").Value!.Value, hu.Value, 1e-9);

            // The last run time is the result's, and the target is up.
            var lastRun = Assert.Single(await prom.QueryAsync($"qc_test_last_run_timestamp_seconds{{{sel}}}"));
            Assert.Equal(water.AnalyzedAt.ToUnixTimeMilliseconds() / 1000.0, lastRun.Value, 0.002);
            Assert.Equal(1, Assert.Single(await prom.QueryAsync("up{job=\"qcpipeline\"}")).Value);
            // PromQL over the gauges works as the alert rules use it: the device's failed tests (none here if it passed).
            var failing = await prom.QueryAsync($"qc_test_passed{{device=\"{device.Key}\"}} == 0");
            Assert.Equal(water.Verdict != "pass", failing.Any(f => f.Labels["test"] == "ct-water"));

            // No UID or patient value in any label Prometheus stored.
            var ds = DicomFile.Open(files[0].Path).Dataset;
            string[] secret = [files[0].StudyUid, files[0].SeriesUid, files[0].SopInstanceUid,
                ds.GetString(DicomTags.PatientName) ?? "", ds.GetString(DicomTags.PatientID) ?? ""];
            var series = await prom.SeriesAsync("qc_.+");
            Assert.NotEmpty(series);
            foreach (var labels in series)
                foreach (var v in labels.Values)
                    Assert.DoesNotContain(secret.Where(s => s.Length > 0), s => v.Contains(s, StringComparison.Ordinal));
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
