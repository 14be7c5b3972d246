using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>Orthanc as the real peer on both sides: it forwards instances to <see cref="DicomServer"/> (C-STORE SCU,
/// <c>POST /modalities/qcpipe/store</c>), and it receives what <see cref="DicomClient"/> sends (C-STORE SCP).</summary>
[Collection(OrthancCollection.Name)]
public sealed class OrthancPeerTests(OrthancFixture orthanc, TransferSyntaxInputs inputs, ITestOutputHelper output) : IClassFixture<TransferSyntaxInputs>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qc-orthanc-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A copy of <paramref name="source"/> in a new study/series/instance (so tests never collide in
    /// Orthanc's index), in the source's transfer syntax.</summary>
    private string NewStudyCopy(string source, string name, string studyUid, string seriesUid)
    {
        using var file = DicomFile.Open(source);
        var ds = file.Dataset.Clone();
        ds.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, studyUid);
        ds.AddOrUpdate(DicomTags.SeriesInstanceUID, DicomVR.UI, seriesUid);
        ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, PeerInputs.NewUid());
        var path = Path.Combine(_dir, name);
        new DicomFile(ds, null, file.TransferSyntax).Save(path, file.TransferSyntax);
        return path;
    }

    private async Task<JsonElement> Upload(string path)
    {
        using var content = new ByteArrayContent(await File.ReadAllBytesAsync(path));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/dicom");
        var r = await orthanc.SendJson(HttpMethod.Post, "instances", content);
        Assert.Equal("Success", r.GetProperty("Status").GetString());
        return r;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Orthanc_forwards_instances_and_a_study_to_our_scp_and_the_content_arrives_unchanged()
    {
        // Uncompressed explicit LE and the phantom's RLE slices, in two studies.
        var le = Path.Combine(_dir, "le.dcm");
        await PeerTool.MustRunAsync("dcmdrle", PeerInputs.PhantomCt(1), le);
        string study1 = PeerInputs.NewUid(), study2 = PeerInputs.NewUid(), series2 = PeerInputs.NewUid();
        var single = NewStudyCopy(le, "single.dcm", study1, PeerInputs.NewUid());
        var rle1 = NewStudyCopy(PeerInputs.PhantomCt(1), "rle1.dcm", study2, series2);
        var rle2 = NewStudyCopy(PeerInputs.PhantomCt(2), "rle2.dcm", study2, series2);
        var originals = new[] { single, rle1, rle2 }.ToDictionary(p => PeerInputs.DatasetBytes(p, out _, out var sop, out _) is { } ? sop : "", p => p);

        var uploaded = new List<JsonElement>();
        foreach (var p in originals.Values) uploaded.Add(await Upload(p));

        var handler = new FileStoreHandler(Path.Combine(_dir, "store"));
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" }, handler);
        // Our SCP's port is dynamic: point Orthanc's "qcpipe" modality at it.
        await orthanc.SendJson(HttpMethod.Put, "modalities/qcpipe", Json($$"""{ "AET": "QCPIPE", "Host": "127.0.0.1", "Port": {{server.Port}} }"""));
        var echo = await orthanc.SendJson(HttpMethod.Post, "modalities/qcpipe/echo", Json("{}"));

        // One instance by its Orthanc id, then a whole study by its id.
        var r1 = await orthanc.SendJson(HttpMethod.Post, "modalities/qcpipe/store",
            Json($$"""{ "Resources": ["{{uploaded[0].GetProperty("ID").GetString()}}"], "Synchronous": true }"""));
        output.WriteLine(r1.ToString());
        var r2 = await orthanc.SendJson(HttpMethod.Post, "modalities/qcpipe/store",
            Json($$"""{ "Resources": ["{{uploaded[1].GetProperty("ParentStudy").GetString()}}"], "Synchronous": true }"""));
        output.WriteLine(r2.ToString());
        Assert.Equal(1, r1.GetProperty("InstancesCount").GetInt32());
        Assert.Equal(2, r2.GetProperty("InstancesCount").GetInt32());
        Assert.Equal(0, r1.GetProperty("FailedInstancesCount").GetInt32());
        Assert.Equal(0, r2.GetProperty("FailedInstancesCount").GetInt32());

        var summaries = await server.WaitForSummaries(3);
        foreach (var s in summaries) output.WriteLine($"{s.Outcome} {s.CallingAeTitle} stores {s.StoreCount} echoes {s.EchoCount}");
        Assert.All(summaries, s => Assert.Equal(AssociationOutcome.Released, s.Outcome));
        Assert.Equal("ORTHANC", summaries[0].CallingAeTitle);
        Assert.Equal(3, summaries.Sum(s => s.StoreCount));
        Assert.Equal(0, summaries.Sum(s => s.StoreFailures));

        Assert.Equal(originals.Keys.Order(), handler.Stored.Select(s => s.Request.SopInstanceUid).Order());
        Assert.Empty(handler.PartialFiles());
        foreach (var (request, path) in handler.Stored)
        {
            var original = originals[request.SopInstanceUid];
            using (var f = DicomFile.Open(original))
            {
                output.WriteLine($"{request.SopInstanceUid}: sent in {f.TransferSyntax.Uid}, negotiated {request.TransferSyntaxUid}");
                Assert.Equal(f.TransferSyntax.Uid, request.TransferSyntaxUid); // Orthanc forwards as stored, no transcoding
            }
            await DcmdumpCompare.AssertSameDataset(original, path);
        }
    }

    [Fact]
    public async Task Our_client_stores_into_orthanc_and_the_instances_appear_with_the_same_uids_and_content()
    {
        string study = PeerInputs.NewUid(), series = PeerInputs.NewUid();
        var files = new[] { NewStudyCopy(PeerInputs.PhantomCt(1), "a.dcm", study, series), NewStudyCopy(PeerInputs.PhantomCt(2), "b.dcm", study, series) };
        var sent = new List<(string Sop, string Ts, string Path)>();

        using var first = DicomFile.Open(files[0]);
        string sopClass = first.Dataset.GetString(DicomTags.SOPClassUID)!;
        PresentationContextRequest[] pcs =
        [
            new(1, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian]),
            new(3, sopClass, [first.TransferSyntax.Uid]),
        ];
        await using (var client = await DicomClient.ConnectAsync("127.0.0.1", orthanc.DicomPort, pcs,
            new DicomClientOptions { CallingAeTitle = "QCSCU", CalledAeTitle = "ORTHANC" }))
        {
            Assert.True((await client.EchoAsync(1)).IsSuccess);
            var ctx = client.FindContext(pcs, sopClass, first.TransferSyntax.Uid);
            Assert.NotNull(ctx);
            foreach (var path in files)
            {
                var body = PeerInputs.DatasetBytes(path, out var cls, out var sop, out var ts);
                var rsp = await client.StoreAsync(ctx.Id, cls, sop, new MemoryStream(body));
                Assert.True(rsp.IsSuccess, $"status 0x{rsp.Status:X4} {rsp.ErrorComment}");
                sent.Add((sop, ts, path));
            }
            await client.ReleaseAsync();
        }

        var instances = await orthanc.GetJson("instances?expand");
        var bySop = instances.EnumerateArray().ToDictionary(i => i.GetProperty("MainDicomTags").GetProperty("SOPInstanceUID").GetString()!, i => i.GetProperty("ID").GetString()!);
        foreach (var (sop, ts, path) in sent)
        {
            Assert.True(bySop.TryGetValue(sop, out var id), $"{sop} not in GET /instances");
            // Orthanc kept the transfer syntax we sent and its copy is the same data set.
            var meta = await orthanc.Http.GetStringAsync($"instances/{id}/metadata/TransferSyntax");
            Assert.Equal(ts, meta.Trim());
            var remote = await orthanc.GetJson($"instances/{id}/metadata?expand");
            Assert.Equal("QCSCU", remote.GetProperty("RemoteAET").GetString());
            var copy = Path.Combine(_dir, sop + ".orthanc.dcm");
            await File.WriteAllBytesAsync(copy, await orthanc.Http.GetByteArrayAsync($"instances/{id}/file"));
            await DcmdumpCompare.AssertSameDataset(path, copy);
        }

        // The DICOMweb plugin sees the study (QIDO-RS).
        var qido = await orthanc.GetJson($"dicom-web/studies?StudyInstanceUID={study}");
        var hit = Assert.Single(qido.EnumerateArray());
        Assert.Equal(study, hit.GetProperty("0020000D").GetProperty("Value")[0].GetString());
        Assert.Equal("2", hit.GetProperty("00201208").GetProperty("Value")[0].GetRawText().Trim('"'));
    }

    [Fact]
    public async Task An_unknown_calling_ae_cannot_store_into_orthanc()
    {
        var file = NewStudyCopy(PeerInputs.PhantomCt(1), "x.dcm", PeerInputs.NewUid(), PeerInputs.NewUid());
        var r = await PeerTool.RunAsync("storescu", ["-xr", "-aet", "STRANGER", "-aec", "ORTHANC", "127.0.0.1", orthanc.DicomPort.ToString(CultureInfo.InvariantCulture), file]);
        output.WriteLine(r.ToString());
        Assert.NotEqual(0, r.ExitCode);
        PeerInputs.DatasetBytes(file, out _, out var sop, out _);
        var instances = await orthanc.GetJson("instances?expand");
        Assert.DoesNotContain(instances.EnumerateArray(), i => i.GetProperty("MainDicomTags").GetProperty("SOPInstanceUID").GetString() == sop);
    }

    /// <summary>Orthanc forwards each transfer syntax it stored as is; our acceptor negotiates it and the data set
    /// arrives unchanged.</summary>
    [Fact]
    public async Task Orthanc_forwards_every_transfer_syntax_unchanged()
    {
        string study = PeerInputs.NewUid(), series = PeerInputs.NewUid();
        var originals = new Dictionary<string, string>();
        foreach (var key in new[] { "implicit", "big", "deflated", "jpeg-sv1", "jpeg-ls", "j2k" })
        {
            var copy = NewStudyCopy(inputs[key], key + ".dcm", study, series);
            PeerInputs.DatasetBytes(copy, out _, out var sop, out _);
            originals[sop] = copy;
            await Upload(copy);
        }
        var studyId = await LookupStudy(study);

        var handler = new FileStoreHandler(Path.Combine(_dir, "store"));
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" }, handler);
        await orthanc.SendJson(HttpMethod.Put, "modalities/qcpipe", Json($$"""{ "AET": "QCPIPE", "Host": "127.0.0.1", "Port": {{server.Port}} }"""));
        var r = await orthanc.SendJson(HttpMethod.Post, "modalities/qcpipe/store", Json($$"""{ "Resources": ["{{studyId}}"], "Synchronous": true }"""));
        output.WriteLine(r.ToString());
        Assert.Equal(originals.Count, r.GetProperty("InstancesCount").GetInt32());
        Assert.Equal(0, r.GetProperty("FailedInstancesCount").GetInt32());

        Assert.Equal(originals.Keys.Order(), handler.Stored.Select(x => x.Request.SopInstanceUid).Order());
        foreach (var (request, path) in handler.Stored)
        {
            var original = originals[request.SopInstanceUid];
            using (var f = DicomFile.Open(original))
            {
                output.WriteLine($"{Path.GetFileName(original)}: uploaded in {f.TransferSyntax.Uid}, negotiated {request.TransferSyntaxUid}");
                Assert.Equal(f.TransferSyntax.Uid, request.TransferSyntaxUid);
            }
            await DcmdumpCompare.AssertSameDataset(original, path);
        }
    }

    private async Task<string> LookupStudy(string studyUid)
    {
        var found = await orthanc.SendJson(HttpMethod.Post, "tools/lookup", new StringContent(studyUid, Encoding.UTF8, "text/plain"));
        return Assert.Single(found.EnumerateArray(), e => e.GetProperty("Type").GetString() == "Study").GetProperty("ID").GetString()!;
    }
}
