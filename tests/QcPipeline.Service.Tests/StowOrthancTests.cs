using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using QcPipeline.Dicom.Tests.Network;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>A real Orthanc (1.10, DICOMweb plugin) is the STOW-RS client: our service is registered as its DICOMweb
/// server and Orthanc sends a study to it (<c>POST /dicom-web/servers/qc/stow</c>, chunked). Every instance must be stored
/// once with the data set Orthanc holds.</summary>
[Collection(OrthancCollection.Name)]
public sealed class StowOrthancTests(OrthancFixture orthanc, ITestOutputHelper output)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Orthanc_sends_a_study_by_STOW_RS_chunked_and_every_instance_is_stored_once_unchanged()
    {
        var input = Support.NewTempDir("qcstoworth");
        try
        {
            var files = Support.MakeCtFiles(input, 4);
            string? studyId = null;
            foreach (var f in files)
            {
                using var content = new ByteArrayContent(await File.ReadAllBytesAsync(f.Path));
                content.Headers.ContentType = new MediaTypeHeaderValue("application/dicom");
                var up = await orthanc.SendJson(HttpMethod.Post, "instances", content);
                Assert.Equal("Success", up.GetProperty("Status").GetString());
                studyId = up.GetProperty("ParentStudy").GetString();
            }

            // How each STOW-RS request arrived: Orthanc is told to send chunked, and the test checks that it did.
            var framing = new System.Collections.Concurrent.ConcurrentQueue<(long? ContentLength, string TransferEncoding)>();
            await using var svc = await InProcessService.StartAsync(null, app => app.Use(async (ctx, next) =>
            {
                if (HttpMethods.IsPost(ctx.Request.Method) && ctx.Request.Path.StartsWithSegments("/dicom-web/studies"))
                    framing.Enqueue((ctx.Request.ContentLength, ctx.Request.Headers.TransferEncoding.ToString()));
                await next();
            }));
            var url = new Uri(svc.HttpBase, "dicom-web/").ToString();
            await orthanc.SendJson(HttpMethod.Put, "dicom-web/servers/qc", Json($$"""{ "Url": "{{url}}", "ChunkedTransfers": true }"""));

            var sw = Stopwatch.StartNew();
            var job = await orthanc.SendJson(HttpMethod.Post, "dicom-web/servers/qc/stow", Json($$"""{ "Resources": ["{{studyId}}"], "Synchronous": false }"""));
            var jobId = job.GetProperty("ID").GetString();
            string state;
            while (true)
            {
                var j = await orthanc.GetJson($"jobs/{jobId}");
                state = j.GetProperty("State").GetString()!;
                if (state is "Success" or "Failure") { output.WriteLine(j.ToString()); break; }
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"Orthanc STOW-RS job still {state}");
                await Task.Delay(100);
            }
            output.WriteLine($"Orthanc STOW-RS of {files.Count} instances: {sw.Elapsed.TotalMilliseconds:0} ms");
            Assert.True(state == "Success", orthanc.Log[^Math.Min(6000, orthanc.Log.Length)..]);

            var rows = Support.Rows(svc.DbPath);
            Assert.Equal(files.Count, rows.Count);
            foreach (var f in files)
            {
                var row = Assert.Single(rows, r => r.SopInstanceUid == f.SopInstanceUid);
                Assert.Equal("stow", row.Source);
                Assert.Equal($"instances/{f.StudyUid}/{f.SeriesUid}/{f.SopInstanceUid}.dcm", row.Path);
                var stored = Path.Combine(svc.DataPath, row.Path);
                // Orthanc keeps the data set as it received it: the stored data set is byte for byte what we generated.
                Assert.Equal(Support.DatasetSha256(f.Path), row.Sha256);
                Assert.Equal(Support.DatasetSha256(f.Path), Support.DatasetSha256(stored));
                Assert.Equal(await Support.DumpDatasetAsync(f.Path), await Support.DumpDatasetAsync(stored));
            }
            Assert.Empty(StowSupport.TempFiles(svc.DataPath));
            Assert.NotEmpty(framing);
            Assert.All(framing, f => Assert.True(f.ContentLength is null && f.TransferEncoding.Contains("chunked", StringComparison.OrdinalIgnoreCase),
                $"Content-Length {f.ContentLength}, Transfer-Encoding '{f.TransferEncoding}'"));
            Assert.True(svc.Metrics.StowRequestsTotal.WithLabels("200").Value >= 1);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
