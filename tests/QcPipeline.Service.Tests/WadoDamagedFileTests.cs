using System.Net;
using static QcPipeline.Service.Tests.DicomWebReadClient;

namespace QcPipeline.Service.Tests;

/// <summary>A stored file damaged behind the service's back: clear error statuses, no crash, and the service goes on.</summary>
public sealed class WadoDamagedFileTests
{
    [Fact]
    public async Task Wado_a_truncated_or_garbled_stored_file_is_an_error_status_not_a_crash()
    {
        var input = Support.NewTempDir("qcdwd");
        try
        {
            string study = Support.NewUid(), series = Support.NewUid(), sop = Support.NewUid();
            var path = Path.Combine(input, "mf.dcm");
            new QcPipeline.Dicom.DicomFile(DicomWebReadFixture.Small(study, series, sop, "Dam^Aged", "QC010", "20260101", "OT", "X1", 3, 1), null,
                QcPipeline.Dicom.IO.TransferSyntax.ExplicitVRLittleEndian).Save(path, QcPipeline.Dicom.IO.TransferSyntax.ExplicitVRLittleEndian);
            await using var svc = await InProcessService.StartAsync(extraArgs: ["--Storage:Fsync=false"]);
            Assert.Equal(0, (await Support.StoreScuAsync(svc.DicomPort, [path])).ExitCode);
            var stored = Path.Combine(svc.DataPath, "instances", study, series, sop + ".dcm");
            using var http = svc.CreateHttpClient();
            var frames = $"/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/3";
            const string accept = "multipart/related; type=application/octet-stream; transfer-syntax=*";

            // Cut inside the third frame: frames 1 is still there, frame 3 is not.
            var bytes = await File.ReadAllBytesAsync(stored);
            await File.WriteAllBytesAsync(stored, bytes.AsSpan(0, bytes.Length - 30).ToArray());
            var (cut, _) = await GetAsync(http, frames, accept);
            Assert.Equal(HttpStatusCode.InternalServerError, cut.StatusCode);
            var (first, firstBody) = await GetAsync(http, frames[..^1] + "1", accept);
            Assert.Equal(DicomWebReadFixture.MultiFramePixels.AsSpan(0, 40).ToArray(), Assert.Single(ParseMultipart(first, firstBody)).Body);

            // Not DICOM at all.
            await File.WriteAllTextAsync(stored, "this is not a DICOM file");
            var (garbled, _) = await GetAsync(http, frames, accept);
            Assert.Equal(HttpStatusCode.InternalServerError, garbled.StatusCode);
            var (meta, _) = await GetAsync(http, $"/dicom-web/studies/{study}/metadata", "application/dicom+json");
            Assert.Equal(HttpStatusCode.InternalServerError, meta.StatusCode);

            // Gone.
            File.Delete(stored);
            var (gone, _) = await GetAsync(http, frames, accept);
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            var (goneStudy, _) = await GetAsync(http, $"/dicom-web/studies/{study}", null);
            Assert.Equal(HttpStatusCode.NotFound, goneStudy.StatusCode);

            var (ok, _) = await GetAsync(http, "/dicom-web/studies", null);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
