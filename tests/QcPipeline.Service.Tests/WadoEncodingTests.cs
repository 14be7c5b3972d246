using System.Net;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using static QcPipeline.Service.Tests.DicomWebReadClient;

namespace QcPipeline.Service.Tests;

/// <summary>Frames of instances stored in Explicit VR Big Endian (words swapped on the way out) and Deflated Explicit VR
/// Little Endian (inflated to cut the frame): the client always gets little-endian frame bytes.</summary>
public sealed class WadoEncodingTests
{
    [Theory]
    [InlineData("1.2.840.10008.1.2.2", "-xb")]
    [InlineData("1.2.840.10008.1.2.1.99", "-xd")]
    public async Task Wado_frames_of_big_endian_and_deflated_instances_are_little_endian_frame_bytes(string tsUid, string proposeOption)
    {
        var input = Support.NewTempDir("qcdwe");
        try
        {
            string study = Support.NewUid(), series = Support.NewUid(), sop = Support.NewUid();
            var ds = DicomWebReadFixture.Small(study, series, sop, "Enc^Test", "QC009", "20260101", "OT", "X1", 3, 1);
            var ts = TransferSyntax.Lookup(tsUid);
            var path = Path.Combine(input, "enc.dcm");
            new DicomFile(ds, null, ts).Save(path, ts);

            await using var svc = await InProcessService.StartAsync(extraArgs: ["--Storage:Fsync=false"]);
            var r = await Support.StoreScuAsync(svc.DicomPort, [path], options: [proposeOption, "-R"]);
            Assert.True(r.ExitCode == 0, r.All);
            var stored = Path.Combine(svc.DataPath, "instances", study, series, sop + ".dcm");
            using (var check = DicomFile.Open(stored, DicomReadOptions.HeaderOnly)) Assert.Equal(ts, check.TransferSyntax);

            using var http = svc.CreateHttpClient();
            var (rsp, body) = await GetAsync(http, $"/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/3,1",
                "multipart/related; type=application/octet-stream; transfer-syntax=*");
            Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
            var parts = ParseMultipart(rsp, body);
            Assert.Equal(2, parts.Count);
            Assert.Equal(DicomWebReadFixture.MultiFramePixels.AsSpan(80, 40).ToArray(), parts[0].Body);
            Assert.Equal(DicomWebReadFixture.MultiFramePixels.AsSpan(0, 40).ToArray(), parts[1].Body);
            Assert.All(parts, p => Assert.Equal("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", p.ContentType));

            var (inst, instBody) = await GetAsync(http, $"/dicom-web/studies/{study}", "multipart/related; type=\"application/dicom\"");
            Assert.Equal(await File.ReadAllBytesAsync(stored), Assert.Single(ParseMultipart(inst, instBody)).Body);
            var meta = await GetJsonArrayAsync(http, $"/dicom-web/studies/{study}/metadata");
            Assert.Equal("Enc^Test", Value(meta[0], "00100010"));
            Assert.Equal("4", Value(meta[0], "00280010"));
            Assert.True(meta[0].TryGetProperty("7FE00010", out _), "metadata has the Pixel Data attribute");
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
