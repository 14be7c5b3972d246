using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Tests.Network;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>A real Orthanc forwards instances to the service (its C-STORE SCU, <c>POST /modalities/qcpipe/store</c>):
/// each is stored under data/instances, indexed once, with the original data set.</summary>
[Collection(OrthancCollection.Name)]
public sealed class OrthancForwardTests(OrthancFixture orthanc, ITestOutputHelper output)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A copy of a phantom RLE slice in a new study/series/instance, still RLE.</summary>
    private static Support.TestInstance RleCopy(string source, string path, string study, string series)
    {
        using var file = DicomFile.Open(source);
        var ds = file.Dataset.Clone();
        var sop = Support.NewUid();
        ds.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, study);
        ds.AddOrUpdate(DicomTags.SeriesInstanceUID, DicomVR.UI, series);
        ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, sop);
        new DicomFile(ds, null, file.TransferSyntax).Save(path, file.TransferSyntax);
        return new Support.TestInstance(path, study, series, sop);
    }

    [Fact]
    public async Task Orthanc_forwards_instances_to_the_service_which_stores_and_indexes_each_once_unchanged()
    {
        var input = Support.NewTempDir("qcorth");
        try
        {
            // Two explicit-LE CT images (one series) and the phantom's two RLE slices (another study).
            var files = Support.MakeCtFiles(Path.Combine(input, "le"), 2);
            string study = Support.NewUid(), series = Support.NewUid();
            for (int i = 1; i <= 2; i++)
                files.Add(RleCopy(Path.Combine(Support.RepoRoot, "phantoms", "ct-water-200mm", $"CT{i:0000}.dcm"), Path.Combine(input, $"rle{i}.dcm"), study, series));

            var ids = new List<string>();
            foreach (var f in files)
            {
                using var content = new ByteArrayContent(await File.ReadAllBytesAsync(f.Path));
                content.Headers.ContentType = new MediaTypeHeaderValue("application/dicom");
                var up = await orthanc.SendJson(HttpMethod.Post, "instances", content);
                Assert.Equal("Success", up.GetProperty("Status").GetString());
                ids.Add(up.GetProperty("ID").GetString()!);
            }

            await using var svc = await InProcessService.StartAsync();
            await orthanc.SendJson(HttpMethod.Put, "modalities/qcpipe", Json($$"""["QCPIPE", "127.0.0.1", {{svc.DicomPort}}]"""));
            var sw = Stopwatch.StartNew();
            var r = await orthanc.SendJson(HttpMethod.Post, "modalities/qcpipe/store",
                Json($$"""{ "Resources": [{{string.Join(", ", ids.Select(i => $"\"{i}\""))}}], "Synchronous": true }"""));
            output.WriteLine($"Orthanc store of {ids.Count} instances to the service: {sw.Elapsed.TotalMilliseconds:0} ms; {r}");
            Assert.Equal(files.Count, r.GetProperty("InstancesCount").GetInt32());
            Assert.Equal(0, r.GetProperty("FailedInstancesCount").GetInt32());

            var rows = Support.Rows(svc.DbPath);
            Assert.Equal(files.Count, rows.Count);
            foreach (var f in files)
            {
                var row = Assert.Single(rows, x => x.SopInstanceUid == f.SopInstanceUid);
                Assert.Equal($"instances/{f.StudyUid}/{f.SeriesUid}/{f.SopInstanceUid}.dcm", row.Path);
                Assert.Equal(1, row.Version);
                Assert.Equal("dimse", row.Source);
                Assert.Equal("ORTHANC", row.CallingAe);
                var stored = Path.Combine(svc.DataPath, row.Path);
                Assert.True(File.Exists(stored), stored);
                Assert.Equal(new FileInfo(stored).Length, row.Size);
                Assert.Equal(Support.DatasetSha256(stored), row.Sha256);
                Assert.Equal(await Support.DumpDatasetAsync(f.Path), await Support.DumpDatasetAsync(stored));
                using var o = DicomFile.Open(f.Path, DicomReadOptions.HeaderOnly);
                using var s = DicomFile.Open(stored, DicomReadOptions.HeaderOnly);
                Assert.Equal(o.TransferSyntax, s.TransferSyntax);
            }
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
