using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace QcPipeline.Service.Tests;

public sealed partial class EndpointTests
{
    [Fact]
    public async Task Health_and_metrics_respond_and_metrics_count_stores_without_identifying_labels()
    {
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            using var http = svc.CreateHttpClient();
            var live = await http.GetAsync(new Uri("/health/live", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Equal("Healthy", JsonDocument.Parse(await live.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());

            var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("Healthy", body.GetProperty("status").GetString());
            foreach (var check in new[] { "database", "data_folder", "dicom_listener" })
                Assert.Equal("Healthy", body.GetProperty("checks").GetProperty(check).GetProperty("status").GetString());

            var files = Support.MakeCtFiles(input, 3);
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "MODALITY7");
            Assert.True(store.ExitCode == 0, store.All);

            var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Contains("qc_dimse_instances_total{status_class=\"success\",status=\"0000\"} 3", text, StringComparison.Ordinal);
            Assert.Contains("qc_ingest_total{result=\"stored\"} 3", text, StringComparison.Ordinal);
            Assert.Contains("qc_ingest_failures_total{reason=\"disk_full\"} 0", text, StringComparison.Ordinal);
            Assert.Contains("qc_dimse_associations_total{outcome=\"released\"} 1", text, StringComparison.Ordinal);
            Assert.Contains("qc_dimse_active_associations 0", text, StringComparison.Ordinal);
            Assert.Contains("qc_dimse_store_duration_seconds_count 3", text, StringComparison.Ordinal);
            var bytes = Regex.Match(text, @"^qc_dimse_received_bytes_total (\d+)", RegexOptions.Multiline);
            Assert.True(long.Parse(bytes.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 3 * 500_000);

            // No label value is a UID or an AE title.
            var values = LabelValue().Matches(text).Select(m => m.Groups[1].Value).Distinct().ToList();
            Assert.NotEmpty(values);
            Assert.All(values, v =>
            {
                Assert.DoesNotMatch(@"^\d+(\.\d+){2,}$", v);
                Assert.DoesNotContain("MODALITY7", v, StringComparison.Ordinal);
                Assert.DoesNotContain("QCPIPE", v, StringComparison.Ordinal);
            });
            foreach (var f in files) Assert.DoesNotContain(f.SopInstanceUid, text, StringComparison.Ordinal);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [GeneratedRegex(@"^qc_[a-z_]+\{[^}]*?=""([^""]*)""", RegexOptions.Multiline)]
    private static partial Regex LabelValue();
}
