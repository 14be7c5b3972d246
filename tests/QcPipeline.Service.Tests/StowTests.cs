using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>STOW-RS (PS3.18 §10.5) against the service in-process: hand-made multipart bodies sent by HttpClient and by
/// curl, with Content-Length and chunked; what is stored, indexed and answered, and what is refused.</summary>
public sealed class StowTests(ITestOutputHelper output)
{
    /// <summary>Third-party files (pydicom's test data) in several transfer syntaxes (explicit LE, RLE, JPEG 2000, deflate,
    /// JPEG baseline) and SOP classes (CT, MR, SC, 12-lead ECG, segmentation), each with its own SOP Instance UID.</summary>
    public static readonly string[] CorpusFiles =
    [
        "test_files/CT_small.dcm", "test_files/MR_small_RLE.dcm", "test_files/JPEG2000.dcm", "test_files/image_dfl.dcm",
        "test_files/waveform_ecg.dcm", "test_files/SC_rgb_jpeg_dcmtk.dcm", "test_files/liver_1frame.dcm",
    ];

    /// <summary>pydicom's data folder (Debian python3-pydicom), the corpus the toolkit tests read.</summary>
    private static string Corpus(string id) => Path.Combine("/usr/lib/python3/dist-packages/pydicom/data", id);

    /// <summary>The stored file holds what was sent: every byte after the preamble (File Meta Information and data set)
    /// equal, the preamble zeroed, one index row from "stow" with the data set's SHA-256.</summary>
    private static void AssertStoredUnchanged(InProcessService svc, string original, List<Support.Row> rows)
    {
        var (_, sop, study, series) = StowSupport.Uids(original);
        var row = Assert.Single(rows, r => r.SopInstanceUid == sop);
        Assert.Equal($"instances/{study}/{series}/{sop}.dcm", row.Path);
        Assert.Equal("stow", row.Source);
        var stored = Path.Combine(svc.DataPath, row.Path);
        var sent = File.ReadAllBytes(original);
        var kept = File.ReadAllBytes(stored);
        Assert.Equal(sent.Length, kept.Length);
        Assert.True(kept.AsSpan(0, 128).IndexOfAnyExcept((byte)0) < 0, "preamble not zeroed");
        Assert.True(sent.AsSpan(128).SequenceEqual(kept.AsSpan(128)), $"{original}: stored bytes differ from the sent ones");
        Assert.Equal(Support.DatasetSha256(original), row.Sha256);
    }

    [Fact]
    public async Task Stow_stores_generated_CT_and_corpus_files_with_content_length_and_chunked_each_indexed_once()
    {
        var input = Support.NewTempDir("qcstow");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var ct = Support.MakeCtFiles(input, 3);
            using var http = svc.CreateHttpClient();

            // Content-Length: the three CT images of one study, to /studies/{uid}.
            var body = StowSupport.Body([.. ct.Select(f => File.ReadAllBytes(f.Path))]);
            var a = await StowSupport.SendAsync(http, StowSupport.Request($"dicom-web/studies/{ct[0].StudyUid}", body));
            Assert.True(a.Status == 200, a.Text);
            Assert.Equal("application/dicom+json", a.MediaType);
            Assert.Empty(a.Failed);
            Assert.Equal(3, a.Stored.Count);
            var baseUrl = svc.HttpBase.ToString().TrimEnd('/');
            Assert.Equal($"{baseUrl}/dicom-web/studies/{ct[0].StudyUid}", a.StudyUrl);
            foreach (var f in ct)
            {
                var item = Assert.Single(a.Stored, s => s.Sop == f.SopInstanceUid);
                Assert.Equal(DicomUids.CTImageStorage, item.Class);
                Assert.Equal($"{baseUrl}/dicom-web/studies/{f.StudyUid}/series/{f.SeriesUid}/instances/{f.SopInstanceUid}", item.Url);
                Assert.Null(item.Warning);
            }

            // Chunked: the corpus files (several studies) to /studies.
            var files = CorpusFiles.Select(Corpus).ToList();
            body = StowSupport.Body([.. files.Select(File.ReadAllBytes)]);
            a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body, chunked: true));
            output.WriteLine(a.Text.Length > 3000 ? a.Text[..3000] : a.Text);
            Assert.True(a.Status == 200, a.Text);
            Assert.Equal(files.Count, a.Stored.Count);
            foreach (var f in files)
            {
                var (cls, sop, study, series) = StowSupport.Uids(f);
                var item = Assert.Single(a.Stored, s => s.Sop == sop);
                Assert.Equal(cls, item.Class);
                Assert.Equal($"{baseUrl}/dicom-web/studies/{study}/series/{series}/instances/{sop}", item.Url);
            }

            var rows = Support.Rows(svc.DbPath);
            Assert.Equal(3 + files.Count, rows.Count);
            foreach (var f in ct.Select(c => c.Path).Concat(files)) AssertStoredUnchanged(svc, f, rows);
            Assert.Empty(StowSupport.TempFiles(svc.DataPath));

            // The same again: duplicates are success (200) and still one row each.
            a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body));
            Assert.True(a.Status == 200, a.Text);
            Assert.Equal(3 + files.Count, Support.Rows(svc.DbPath).Count);
            Assert.Equal(3 + 2 * files.Count, svc.Metrics.StowInstancesTotal.WithLabels("stored").Value);
            Assert.Equal(3, svc.Metrics.StowRequestsTotal.WithLabels("200").Value);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    /// <summary>curl, a real separate client: the README's example body, with Content-Length and chunked, JSON and XML answers.</summary>
    [Fact]
    public async Task Curl_sends_a_hand_made_body_with_content_length_and_chunked_and_gets_json_and_xml()
    {
        var input = Support.NewTempDir("qcstow");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var ct = Support.MakeCtFiles(input, 2);
            var bodyPath = Path.Combine(input, "body.bin");
            await File.WriteAllBytesAsync(bodyPath, StowSupport.Body(File.ReadAllBytes(ct[0].Path), File.ReadAllBytes(Corpus("test_files/MR_small.dcm"))));
            var url = new Uri(svc.HttpBase, "dicom-web/studies").ToString();

            var r = await Support.RunAsync("curl", ["-sS", "-w", "\n%{http_code}", "-X", "POST", "-H", $"Content-Type: {StowSupport.ContentType}",
                "--data-binary", $"@{bodyPath}", url]);
            Assert.True(r.ExitCode == 0, r.All);
            var (status, json) = SplitCurl(r.StdOut);
            Assert.Equal(200, status);
            var answer = new StowSupport.Answer(200, null, json, null);
            Assert.Equal(2, answer.Stored.Count);
            Assert.Contains(answer.Stored, s => s.Sop == ct[0].SopInstanceUid);

            // Chunked, XML answer (PS3.19 Native DICOM Model).
            await File.WriteAllBytesAsync(bodyPath, StowSupport.Body(File.ReadAllBytes(ct[1].Path)));
            r = await Support.RunAsync("curl", ["-sS", "-w", "\n%{http_code}", "-X", "POST", "-H", $"Content-Type: {StowSupport.ContentType}",
                "-H", "Transfer-Encoding: chunked", "-H", "Accept: application/dicom+xml", "--data-binary", $"@{bodyPath}", url]);
            Assert.True(r.ExitCode == 0, r.All);
            (status, var xmlText) = SplitCurl(r.StdOut);
            output.WriteLine(xmlText);
            Assert.Equal(200, status);
            XNamespace ns = "http://dicom.nema.org/PS3.19/models/NativeDICOM";
            var root = XDocument.Parse(xmlText).Root!;
            Assert.Equal(ns + "NativeDicomModel", root.Name);
            var seq = Assert.Single(root.Elements(ns + "DicomAttribute"), e => (string?)e.Attribute("tag") == "00081199");
            Assert.Equal("SQ", (string?)seq.Attribute("vr"));
            Assert.Equal("ReferencedSOPSequence", (string?)seq.Attribute("keyword"));
            var item = Assert.Single(seq.Elements(ns + "Item"));
            Assert.Equal("1", (string?)item.Attribute("number"));
            string Value(string tag) => item.Elements(ns + "DicomAttribute").Single(e => (string?)e.Attribute("tag") == tag).Element(ns + "Value")!.Value;
            Assert.Equal(ct[1].SopInstanceUid, Value("00081155"));
            Assert.Equal(DicomUids.CTImageStorage, Value("00081150"));
            Assert.EndsWith($"/dicom-web/studies/{ct[1].StudyUid}/series/{ct[1].SeriesUid}/instances/{ct[1].SopInstanceUid}", Value("00081190"));

            var rows = Support.Rows(svc.DbPath);
            Assert.Equal(3, rows.Count);
            AssertStoredUnchanged(svc, ct[0].Path, rows);
            AssertStoredUnchanged(svc, ct[1].Path, rows);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    private static (int Status, string Body) SplitCurl(string stdout)
    {
        int nl = stdout.LastIndexOf('\n');
        return (int.Parse(stdout[(nl + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture), stdout[..nl]);
    }

    [Theory]
    [InlineData("application/dicom", 415)]
    [InlineData("multipart/form-data; boundary=" + StowSupport.Boundary, 415)]
    [InlineData("multipart/related; boundary=" + StowSupport.Boundary, 415)] // no type parameter
    [InlineData("multipart/related; type=\"application/dicom+json\"; boundary=" + StowSupport.Boundary, 415)] // metadata + bulk data: not supported
    [InlineData("multipart/related; type=\"application/dicom\"", 400)] // no boundary
    [InlineData("multipart/related; type=\"application/dicom\"; boundary=some-other-boundary", 400)] // wrong boundary
    [InlineData("multipart/related; type=\"application/dicom\"; boundary=x23456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012", 400)] // 201 characters
    public async Task A_wrong_media_type_or_boundary_is_refused_and_nothing_is_stored(string contentType, int expected)
    {
        var input = Support.NewTempDir("qcstow");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var ct = Support.MakeCtFiles(input, 1);
            using var http = svc.CreateHttpClient();
            var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", StowSupport.Body(File.ReadAllBytes(ct[0].Path)), contentType));
            Assert.Equal(expected, a.Status);
            Assert.NotNull(a.Warning);
            Assert.StartsWith("299 ", a.Warning);
            Assert.Empty(StowSupport.StoredFiles(svc.DataPath));
            Assert.Empty(StowSupport.TempFiles(svc.DataPath));
            Assert.Empty(Support.Rows(svc.DbPath));
            Assert.Equal(1, svc.Metrics.StowRequestsTotal.WithLabels(expected.ToString(System.Globalization.CultureInfo.InvariantCulture)).Value);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task Good_and_bad_parts_give_202_with_both_sequences_and_only_the_good_ones_are_stored()
    {
        var input = Support.NewTempDir("qcstow");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var ct = Support.MakeCtFiles(input, 4);
            var good = File.ReadAllBytes(ct[0].Path);

            // Media Storage SOP Instance UID (0002,0003) differs from (0008,0018): change one digit of the first
            // occurrence of the UID, which is in the File Meta Information.
            var metaMismatch = File.ReadAllBytes(ct[1].Path);
            int at = metaMismatch.AsSpan().IndexOf(Encoding.ASCII.GetBytes(ct[1].SopInstanceUid));
            Assert.True(at > 132 && at < 400);
            metaMismatch[at + ct[1].SopInstanceUid.Length - 1] = (byte)(metaMismatch[at + ct[1].SopInstanceUid.Length - 1] == '1' ? '2' : '1');

            // Cut short inside Pixel Data, but the part itself ends at a proper boundary.
            var truncated = File.ReadAllBytes(ct[2].Path)[..200_000];

            // A bare data set (no preamble, no File Meta Information): not a PS3.10 file.
            var bare = File.ReadAllBytes(Corpus("test_files/ExplVR_LitEndNoMeta.dcm"));

            // A Media Storage Directory (DICOMDIR) is not a storage SOP class.
            var dicomdir = File.ReadAllBytes(Corpus("test_files/dicomdirtests/DICOMDIR"));

            // A real third-party file whose Media Storage SOP Instance UID differs from its SOP Instance UID.
            var rtplan = Corpus("test_files/rtplan.dcm");

            var notDicom = Encoding.ASCII.GetBytes("this is not a DICOM file, just some text that is long enough to be read\r\n");
            var body = StowSupport.BodyOfParts(
            [
                new(good), new(notDicom), new(metaMismatch), new(truncated), new(bare), new(dicomdir),
                new(File.ReadAllBytes(ct[3].Path), "application/octet-stream"), new([]), new(File.ReadAllBytes(rtplan)),
            ]);
            using var http = svc.CreateHttpClient();
            var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body));
            output.WriteLine(a.Text);
            Assert.Equal(202, a.Status);
            var stored = Assert.Single(a.Stored);
            Assert.Equal(ct[0].SopInstanceUid, stored.Sop);
            Assert.Equal($"{svc.HttpBase.ToString().TrimEnd('/')}/dicom-web/studies/{ct[0].StudyUid}", a.StudyUrl);
            var failed = a.Failed;
            Assert.Equal(8, failed.Count);
            Assert.Equal(("", "", 0xC000), failed[0]); // not DICOM: no UIDs known
            Assert.Equal((DicomUids.CTImageStorage, ct[1].SopInstanceUid, 0xA900), failed[1]);
            Assert.Equal((DicomUids.CTImageStorage, ct[2].SopInstanceUid, 0xC000), failed[2]); // truncated
            var bareUids = StowSupport.Uids(Corpus("test_files/ExplVR_LitEndNoMeta.dcm"));
            Assert.Equal((bareUids.Class, bareUids.Sop, 0xC000), failed[3]);
            Assert.Equal((DicomUids.MediaStorageDirectoryStorage, 0x0122), (failed[4].Class, failed[4].Reason));
            Assert.NotEqual("", failed[4].Sop); // from (0002,0003)
            Assert.Equal(("", "", 0xC000), failed[5]); // application/octet-stream part
            Assert.Equal(("", "", 0xC000), failed[6]); // empty part
            var rtplanUids = StowSupport.Uids(rtplan);
            Assert.Equal((rtplanUids.Class, rtplanUids.Sop, 0xA900), failed[7]);

            // Nothing half-stored: one file, one row, no temp files.
            Assert.Single(StowSupport.StoredFiles(svc.DataPath));
            Assert.Equal(ct[0].SopInstanceUid, Assert.Single(Support.Rows(svc.DbPath)).SopInstanceUid);
            Assert.Empty(StowSupport.TempFiles(svc.DataPath));
            Assert.Equal(8, svc.Metrics.StowInstancesTotal.WithLabels("failed").Value);

            // Only bad parts: 409.
            a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", StowSupport.Body(notDicom, metaMismatch)));
            Assert.Equal(409, a.Status);
            Assert.Empty(a.Stored);
            Assert.Equal(2, a.Failed.Count);
            Assert.Equal("", a.StudyUrl);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task Instances_of_another_study_than_the_path_fail_with_A901_before_anything_is_visible()
    {
        var input = Support.NewTempDir("qcstow");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var mine = Support.MakeCtFiles(Path.Combine(input, "a"), 1);
            var other = Support.MakeCtFiles(Path.Combine(input, "b"), 1);
            using var http = svc.CreateHttpClient();
            var a = await StowSupport.SendAsync(http, StowSupport.Request($"dicom-web/studies/{mine[0].StudyUid}",
                StowSupport.Body(File.ReadAllBytes(mine[0].Path), File.ReadAllBytes(other[0].Path))));
            Assert.Equal(202, a.Status);
            Assert.Equal(mine[0].SopInstanceUid, Assert.Single(a.Stored).Sop);
            Assert.Equal((DicomUids.CTImageStorage, other[0].SopInstanceUid, 0xA901), Assert.Single(a.Failed));

            a = await StowSupport.SendAsync(http, StowSupport.Request($"dicom-web/studies/{mine[0].StudyUid}", StowSupport.Body(File.ReadAllBytes(other[0].Path))));
            Assert.Equal(409, a.Status);
            Assert.Equal(0xA901, Assert.Single(a.Failed).Reason);

            Assert.Equal(mine[0].SopInstanceUid, Assert.Single(Support.Rows(svc.DbPath)).SopInstanceUid);
            Assert.Single(StowSupport.StoredFiles(svc.DataPath));
            Assert.Empty(StowSupport.TempFiles(svc.DataPath));

            // A path UID that is not a UID at all: 400.
            a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies/1.2.abc", StowSupport.Body(File.ReadAllBytes(mine[0].Path))));
            Assert.Equal(400, a.Status);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task A_part_over_MaxPartBytes_fails_with_A700_and_the_next_part_is_still_stored()
    {
        var input = Support.NewTempDir("qcstow");
        await using var svc = await InProcessService.StartAsync(null, "--DicomWeb:MaxPartBytes=100000");
        try
        {
            var ct = Support.MakeCtFiles(input, 1); // ~0.5 MB
            var small = Corpus("test_files/CT_small.dcm"); // ~39 KB
            using var http = svc.CreateHttpClient();
            var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies",
                StowSupport.Body(File.ReadAllBytes(ct[0].Path), File.ReadAllBytes(small)), chunked: true));
            Assert.Equal(202, a.Status);
            Assert.Equal(("", "", 0xA700), Assert.Single(a.Failed));
            Assert.Equal(StowSupport.Uids(small).Sop, Assert.Single(a.Stored).Sop);
            Assert.Single(Support.Rows(svc.DbPath));
            Assert.Empty(StowSupport.TempFiles(svc.DataPath));
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task A_transfer_syntax_the_service_does_not_accept_fails_with_C122()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Dicom:TransferSyntaxes:0=1.2.840.10008.1.2.1");
        using var http = svc.CreateHttpClient();
        var implicitFile = Corpus("test_files/MR_small_implicit.dcm");
        var explicitFile = Corpus("test_files/MR_small.dcm");
        var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies",
            StowSupport.Body(File.ReadAllBytes(implicitFile), File.ReadAllBytes(explicitFile))));
        Assert.Equal(202, a.Status);
        var (cls, sop, _, _) = StowSupport.Uids(implicitFile);
        Assert.Equal((cls, sop, 0xC122), Assert.Single(a.Failed));
        Assert.Equal(StowSupport.Uids(explicitFile).Sop, Assert.Single(a.Stored).Sop);

        // A declared transfer-syntax parameter that differs from the File Meta Information: C000.
        a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies",
            StowSupport.BodyOfParts([new StowSupport.Part(File.ReadAllBytes(explicitFile), "application/dicom; transfer-syntax=1.2.840.10008.1.2")])));
        Assert.Equal(409, a.Status);
        Assert.Equal(0xC000, Assert.Single(a.Failed).Reason);
    }

    [Fact]
    public async Task A_body_cut_before_its_closing_boundary_is_400_and_the_part_in_progress_is_never_visible()
    {
        var input = Support.NewTempDir("qcstow");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var ct = Support.MakeCtFiles(input, 2);
            using var http = svc.CreateHttpClient();
            // The first part is whole, the second is cut in the middle and the closing delimiter never comes.
            var body = StowSupport.BodyOfParts([new(File.ReadAllBytes(ct[0].Path)), new(File.ReadAllBytes(ct[1].Path)[..300_000])], close: false);
            foreach (bool chunked in new[] { false, true })
            {
                var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body, chunked: chunked));
                output.WriteLine($"{a.Status} {a.Warning} {a.Text}");
                Assert.Equal(400, a.Status);
                Assert.Contains("closing boundary", a.Warning);
                // What was stored before is listed as stored; the cut part is not listed as stored.
                Assert.Equal(ct[0].SopInstanceUid, Assert.Single(a.Stored).Sop);
            }
            Assert.Equal(ct[0].SopInstanceUid, Assert.Single(Support.Rows(svc.DbPath)).SopInstanceUid);
            Assert.Single(StowSupport.StoredFiles(svc.DataPath));
            Assert.Empty(StowSupport.TempFiles(svc.DataPath));
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    /// <summary>The client stops sending mid-part and closes the connection: the instance in progress is abandoned.</summary>
    [Fact]
    public async Task A_client_that_goes_away_mid_body_leaves_nothing_half_stored()
    {
        var input = Support.NewTempDir("qcstow");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var ct = Support.MakeCtFiles(input, 2);
            var body = StowSupport.Body(File.ReadAllBytes(ct[0].Path), File.ReadAllBytes(ct[1].Path));
            using (var tcp = new TcpClient())
            {
                await tcp.ConnectAsync(svc.HttpBase.Host, svc.HttpBase.Port);
                var stream = tcp.GetStream();
                var head = $"POST /dicom-web/studies HTTP/1.1\r\nHost: {svc.HttpBase.Authority}\r\nContent-Type: {StowSupport.ContentType}\r\nContent-Length: {body.Length}\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                int cut = body.Length - 200_000; // inside the second part's pixel data
                await stream.WriteAsync(body.AsMemory(0, cut));
                await stream.FlushAsync();
                // Wait until the first instance is stored and the second is being received, then vanish.
                var deadline = DateTime.UtcNow.AddSeconds(20);
                while (Support.Rows(svc.DbPath).Count < 1 && DateTime.UtcNow < deadline) await Task.Delay(50);
                tcp.Client.Close(0);
            }
            var until = DateTime.UtcNow.AddSeconds(20);
            while ((StowSupport.TempFiles(svc.DataPath).Length > 0 || svc.Metrics.StowRequestsTotal.WithLabels("aborted").Value + svc.Metrics.StowRequestsTotal.WithLabels("400").Value < 1)
                   && DateTime.UtcNow < until)
                await Task.Delay(50);
            Assert.Empty(StowSupport.TempFiles(svc.DataPath));
            Assert.Equal(ct[0].SopInstanceUid, Assert.Single(Support.Rows(svc.DbPath)).SopInstanceUid);
            Assert.Single(StowSupport.StoredFiles(svc.DataPath));
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    /// <summary>The whole-request limit is Kestrel's (Http:MaxRequestBodyBytes). The test reads the effective limit and sends a
    /// body just over it. Kestrel counts chunked bytes as they arrive, and it reads up to about 1 MB ahead of what the
    /// handler has consumed: with a limit of 8 MB several parts are surely complete before the limit is hit (with 1 MB, a
    /// slow first fsync let the limit strike inside the first part).</summary>
    [Fact]
    public async Task Over_the_request_body_limit_is_413_and_what_was_stored_before_is_listed()
    {
        var input = Support.NewTempDir("qcstow");
        await using var svc = await InProcessService.StartAsync(null, "--Http:MaxRequestBodyBytes=8000000");
        try
        {
            long limit = svc.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MaxRequestBodySize
                ?? throw new InvalidOperationException("no request body limit");
            Assert.True(limit <= 64 * 1024 * 1024, $"request body limit {limit} too large for this test");
            var one = Support.MakeCtFiles(input, 1)[0];
            int count = (int)(limit / new FileInfo(one.Path).Length) + 2;
            var ct = Support.MakeCtFiles(Path.Combine(input, "many"), count);
            using var http = svc.CreateHttpClient();
            var all = StowSupport.Body([.. ct.Select(f => File.ReadAllBytes(f.Path))]);
            Assert.True(all.Length > limit);

            // Content-Length over the limit: refused before anything is read (curl: it copes with an early answer).
            var bodyPath = Path.Combine(input, "body.bin");
            await File.WriteAllBytesAsync(bodyPath, all);
            var r = await Support.RunAsync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", $"Content-Type: {StowSupport.ContentType}",
                "--data-binary", $"@{bodyPath}", new Uri(svc.HttpBase, "dicom-web/studies").ToString()]);
            output.WriteLine(r.All);
            Assert.Equal("413", r.StdOut.Trim());
            Assert.Empty(Support.Rows(svc.DbPath));

            // Chunked: the limit is found while reading; the parts before it were stored and are listed.
            var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", all, chunked: true));
            output.WriteLine($"{a.Status} {a.Warning}");
            Assert.Equal(413, a.Status);
            Assert.Contains("larger than the limit", a.Warning);
            var stored = a.Stored;
            Assert.InRange(stored.Count, 1, count - 1);
            Assert.Equal(stored.Select(s => s.Sop).Order(), Support.Rows(svc.DbPath).Select(x => x.SopInstanceUid).Order());
            Assert.Equal(stored.Count, StowSupport.StoredFiles(svc.DataPath).Length);
            Assert.Empty(StowSupport.TempFiles(svc.DataPath));
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task More_parts_than_MaxParts_is_413_after_storing_the_allowed_ones()
    {
        await using var svc = await InProcessService.StartAsync(null, "--DicomWeb:MaxParts=2");
        using var http = svc.CreateHttpClient();
        var small = File.ReadAllBytes(Corpus("test_files/CT_small.dcm"));
        var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", StowSupport.Body(small, small, small)));
        Assert.Equal(413, a.Status);
        Assert.Contains("MaxParts", a.Warning);
        Assert.Equal(2, a.Stored.Count); // the same instance twice: stored, then a duplicate
        Assert.Single(Support.Rows(svc.DbPath));
    }

    [Fact]
    public async Task Accept_chooses_json_or_xml_and_an_unacceptable_type_is_406()
    {
        await using var svc = await InProcessService.StartAsync();
        using var http = svc.CreateHttpClient();
        var body = StowSupport.Body(File.ReadAllBytes(Corpus("test_files/CT_small.dcm")));
        var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body, accept: "text/html"));
        Assert.Equal(406, a.Status);
        Assert.Empty(Support.Rows(svc.DbPath));
        a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body, accept: "application/dicom+xml"));
        Assert.Equal(200, a.Status);
        Assert.Equal("application/dicom+xml", a.MediaType);
        Assert.StartsWith("<?xml", a.Text);
        a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body, accept: "application/dicom+xml;q=0.5, application/dicom+json"));
        Assert.Equal("application/dicom+json", a.MediaType);
        a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body, accept: "*/*, application/dicom+xml"));
        Assert.Equal("application/dicom+xml", a.MediaType); // a named type beats a wildcard of the same quality
        a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body, accept: "*/*"));
        Assert.Equal("application/dicom+json", a.MediaType);
        Assert.Single(a.Stored);
    }

    /// <summary>A part without Content-Type is the type the multipart/related "type" parameter declares (RFC 2387).</summary>
    [Fact]
    public async Task A_part_without_Content_Type_is_taken_as_application_dicom()
    {
        await using var svc = await InProcessService.StartAsync();
        using var http = svc.CreateHttpClient();
        var file = Corpus("test_files/CT_small.dcm");
        var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies",
            StowSupport.BodyOfParts([new StowSupport.Part(File.ReadAllBytes(file), null)])));
        Assert.Equal(200, a.Status);
        Assert.Equal(StowSupport.Uids(file).Sop, Assert.Single(a.Stored).Sop);
    }

    [Fact]
    public async Task A_configured_BaseUrl_is_used_in_every_Retrieve_URL()
    {
        await using var svc = await InProcessService.StartAsync(null, "--DicomWeb:BaseUrl=https://pacs.example.org/qc/");
        using var http = svc.CreateHttpClient();
        var file = Corpus("test_files/CT_small.dcm");
        var (_, sop, study, series) = StowSupport.Uids(file);
        var a = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", StowSupport.Body(File.ReadAllBytes(file))));
        Assert.Equal(200, a.Status);
        Assert.Equal($"https://pacs.example.org/qc/dicom-web/studies/{study}/series/{series}/instances/{sop}", Assert.Single(a.Stored).Url);
        Assert.Equal($"https://pacs.example.org/qc/dicom-web/studies/{study}", a.StudyUrl);

        // QIDO-RS and WADO-RS metadata hand out the same base (a viewer behind the proxy follows these URLs).
        using var qido = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"dicom-web/studies/{study}/series/{series}/instances"));
        Assert.Equal($"https://pacs.example.org/qc/dicom-web/studies/{study}/series/{series}/instances/{sop}",
            qido.RootElement[0].GetProperty("00081190").GetProperty("Value")[0].GetString());
        using var metadata = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"dicom-web/studies/{study}/series/{series}/instances/{sop}/metadata"));
        var bulk = metadata.RootElement[0].EnumerateObject().Select(p => p.Value).Where(v => v.TryGetProperty("BulkDataURI", out _))
            .Select(v => v.GetProperty("BulkDataURI").GetString()).ToList();
        Assert.NotEmpty(bulk);
        Assert.All(bulk, u => Assert.StartsWith("https://pacs.example.org/qc/dicom-web/studies/", u, StringComparison.Ordinal));
    }
}
