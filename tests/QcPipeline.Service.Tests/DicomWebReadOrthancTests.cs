using System.Text;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Tests.Network;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>A real DICOMweb client: Orthanc's DICOMweb plugin, with the service registered as a remote server, queries it
/// (QIDO-RS through <c>/dicom-web/servers/qc/get</c>) and retrieves a study (WADO-RS through <c>.../retrieve</c>); Orthanc
/// then holds every instance with the same data set as the service stored.</summary>
[Collection(OrthancCollection.Name)]
public sealed class DicomWebReadOrthancTests(OrthancFixture orthanc, ITestOutputHelper output)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task DicomWebRead_orthanc_queries_and_retrieves_a_study_from_the_service_with_identical_data_sets()
    {
        var input = Support.NewTempDir("qcdwo");
        try
        {
            string study = Support.NewUid(), series = Support.NewUid();
            var files = Support.MakeCtFiles(Path.Combine(input, "ct"), 2, study, series);
            // The phantom's RLE slice in the same study, another series: Orthanc must take it as stored (RLE).
            var rleSop = Support.NewUid();
            var rleSeries = Support.NewUid();
            using (var rle = DicomFile.Open(Path.Combine(Support.RepoRoot, "phantoms", "ct-water-200mm", "CT0002.dcm")))
            {
                var ds = rle.Dataset.Clone();
                ds.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, study);
                ds.AddOrUpdate(DicomTags.SeriesInstanceUID, DicomVR.UI, rleSeries);
                ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, rleSop);
                var path = Path.Combine(input, "rle.dcm");
                new DicomFile(ds, null, rle.TransferSyntax).Save(path, rle.TransferSyntax);
                files.Add(new Support.TestInstance(path, study, rleSeries, rleSop));
            }

            await using var svc = await InProcessService.StartAsync(extraArgs: ["--Storage:Fsync=false"]);
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), options: ["-xr"]);
            Assert.True(store.ExitCode == 0, store.All);

            await orthanc.SendJson(HttpMethod.Put, "dicom-web/servers/qc", Json($$"""{ "Url": "http://127.0.0.1:{{svc.HttpBase.Port}}/dicom-web/" }"""));

            // QIDO-RS through Orthanc.
            var studies = await orthanc.SendJson(HttpMethod.Post, "dicom-web/servers/qc/get", Json($$"""{ "Uri": "/studies", "Arguments": { "StudyInstanceUID": "{{study}}" } }"""));
            output.WriteLine(studies.ToString());
            var found = Assert.Single(studies.EnumerateArray());
            Assert.Equal(study, found.GetProperty("0020000D").GetProperty("Value")[0].GetString());
            Assert.Equal(3, found.GetProperty("00201208").GetProperty("Value")[0].GetInt32());
            var series2 = await orthanc.SendJson(HttpMethod.Post, "dicom-web/servers/qc/get", Json($$"""{ "Uri": "/studies/{{study}}/series" }"""));
            Assert.Equal(2, series2.GetArrayLength());

            // WADO-RS through Orthanc.
            var retrieve = await orthanc.SendJson(HttpMethod.Post, "dicom-web/servers/qc/retrieve", Json($$"""{ "Resources": [ { "Study": "{{study}}" } ], "Synchronous": true }"""));
            output.WriteLine(retrieve.ToString());

            foreach (var f in files)
            {
                var lookup = await orthanc.SendJson(HttpMethod.Post, "tools/lookup", new StringContent(f.SopInstanceUid));
                var id = Assert.Single(lookup.EnumerateArray(), e => e.GetProperty("Type").GetString() == "Instance").GetProperty("ID").GetString();
                using var rsp = await orthanc.Http.GetAsync($"instances/{id}/file");
                rsp.EnsureSuccessStatusCode();
                var copy = Path.Combine(input, f.SopInstanceUid + ".orthanc.dcm");
                await File.WriteAllBytesAsync(copy, await rsp.Content.ReadAsByteArrayAsync());
                var stored = Path.Combine(svc.DataPath, "instances", f.StudyUid, f.SeriesUid, f.SopInstanceUid + ".dcm");
                Assert.Equal(Support.DatasetSha256(stored), Support.DatasetSha256(copy));
                using var o = DicomFile.Open(copy, DicomReadOptions.HeaderOnly);
                using var s = DicomFile.Open(stored, DicomReadOptions.HeaderOnly);
                Assert.Equal(s.TransferSyntax, o.TransferSyntax);
            }
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
