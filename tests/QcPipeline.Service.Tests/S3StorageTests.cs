using System.Net;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Dicom;
using QcPipeline.Service.Storage;

namespace QcPipeline.Service.Tests;

/// <summary>A private S3-compatible server (s3rver, from npm) for one test collection, started by
/// <c>scripts/services.sh start s3</c> in a temp state folder and stopped with its data on dispose. Private so that a test
/// may halt and resume it (a store outage). Tests keep apart by a key prefix (or a bucket) of their own.</summary>
public sealed class S3Fixture : IAsyncLifetime
{
    private readonly string _dir = Support.NewTempDir("qc-s3");
    private readonly ServicesScript _script;
    private Dictionary<string, string> _env = [];

    public S3Fixture() => _script = new ServicesScript(_dir);

    public string Url => _env["S3_URL"];
    public string Bucket => _env["S3_BUCKET"];
    public AmazonS3Client Client { get; private set; } = null!;

    /// <summary>Service arguments that keep the instances in this store under <paramref name="prefix"/>.</summary>
    public string[] StoreArgs(string prefix, params string[] more) =>
    [
        "--Storage:Backend=S3", $"--Storage:S3:ServiceUrl={Url}", $"--Storage:S3:Bucket={Bucket}", $"--Storage:S3:AccessKey={_env["S3_ACCESS_KEY"]}",
        $"--Storage:S3:SecretKey={_env["S3_SECRET_KEY"]}", $"--Storage:S3:Prefix={prefix}", .. more,
    ];

    public async Task InitializeAsync()
    {
        await _script.RunAsync(TimeSpan.FromSeconds(180), "start", "s3"); // npm ci of tools/s3rver on first use
        _env = _script.Env();
        Client = new AmazonS3Client(new BasicAWSCredentials(_env["S3_ACCESS_KEY"], _env["S3_SECRET_KEY"]), new AmazonS3Config
        {
            ServiceURL = Url, ForcePathStyle = true, AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED, ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
    }

    /// <summary>The object's bytes, or null when there is none.</summary>
    public async Task<byte[]?> GetAsync(string key, string? bucket = null)
    {
        try
        {
            using var r = await Client.GetObjectAsync(bucket ?? Bucket, key);
            using var ms = new MemoryStream();
            await r.ResponseStream.CopyToAsync(ms);
            return ms.ToArray();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<List<string>> KeysAsync(string prefix, string? bucket = null)
    {
        var r = await Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket ?? Bucket, Prefix = prefix });
        return (r.S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
    }

    public Task HaltAsync() => _script.RunAsync(TimeSpan.FromSeconds(60), "halt", "s3");

    public Task ResumeAsync() => _script.RunAsync(TimeSpan.FromSeconds(120), "resume", "s3");

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        try { await _script.RunAsync(TimeSpan.FromSeconds(60), "stop", "s3"); }
        catch (InvalidOperationException) { /* best effort; its folder goes below */ }
        Support.TryDeleteDir(_dir);
    }
}

[CollectionDefinition(Name)]
public sealed class S3Collection : ICollectionFixture<S3Fixture>
{
    public const string Name = "S3";
}

/// <summary>The S3 instance store (<c>Storage:Backend=S3</c>) against a real S3-compatible server: C-STORE and STOW-RS
/// store objects byte for byte and index them; the worker analyses a series read from the store with no local
/// instances folder; WADO-RS and the overlay read objects; retention deletes them; an outage refuses instances with
/// A700 / a FailedSOPSequence entry and indexes nothing, and storing works again after it; a resent instance with new
/// content replaces its object.</summary>
[Collection(S3Collection.Name)]
public sealed class S3StorageTests(S3Fixture s3)
{
    private static string Prefix() => "t-" + Guid.NewGuid().ToString("N")[..12] + "/";

    private static string Key(string prefix, Support.TestInstance f) => $"{prefix}instances/{f.StudyUid}/{f.SeriesUid}/{f.SopInstanceUid}.dcm";

    private static string[] LocalInstanceFiles(InProcessService svc) =>
        Directory.Exists(Path.Combine(svc.DataPath, "instances")) ? Directory.GetFiles(Path.Combine(svc.DataPath, "instances"), "*", SearchOption.AllDirectories) : [];

    private static async Task<string> DatasetShaAsync(byte[] bytes)
    {
        var tmp = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(tmp, bytes);
            return Support.DatasetSha256(tmp);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    [Fact]
    public async Task Cstore_and_stow_store_byte_identical_objects_and_index_them_with_nothing_local()
    {
        var prefix = Prefix();
        var input = Support.NewTempDir("qcs3in");
        await using var svc = await InProcessService.StartAsync(null, s3.StoreArgs(prefix, "--Pipeline:SweeperEnabled=false"));
        try
        {
            var files = Support.MakeCtFiles(input, 3);
            var store = await Support.StoreScuAsync(svc.DicomPort, [files[0].Path, files[1].Path], callingAe: "CTSCANNER");
            Assert.True(store.ExitCode == 0, store.All);
            Assert.All(Support.StoreResponses(store.All).Values, v => Assert.Equal("Success", v));

            using var http = svc.CreateHttpClient();
            var stowBytes = await File.ReadAllBytesAsync(files[2].Path);
            Assert.True(stowBytes.AsSpan(0, 128).IndexOfAnyExcept((byte)0) < 0, "the test file has an empty preamble, so the stored file equals it");
            var answer = await StowSupport.SendAsync(http, StowSupport.Request("/dicom-web/studies", StowSupport.Body(stowBytes)));
            Assert.Equal(200, answer.Status);

            var rows = Support.Rows(svc.DbPath).ToDictionary(r => r.SopInstanceUid);
            Assert.Equal(3, rows.Count);
            foreach (var f in files)
            {
                var row = rows[f.SopInstanceUid];
                Assert.Equal($"instances/{f.StudyUid}/{f.SeriesUid}/{f.SopInstanceUid}.dcm", row.Path);
                var obj = await s3.GetAsync(Key(prefix, f));
                Assert.NotNull(obj);
                Assert.Equal(row.Size, obj.Length);
                // The data set is byte for byte what was sent, and the row's hash is the object's.
                Assert.Equal(Support.DatasetSha256(f.Path), await DatasetShaAsync(obj));
                Assert.Equal(row.Sha256, await DatasetShaAsync(obj));
            }
            Assert.Equal(stowBytes, await s3.GetAsync(Key(prefix, files[2])));
            Assert.Equal("stow", rows[files[2].SopInstanceUid].Source);
            Assert.Equal("CTSCANNER", rows[files[0].SopInstanceUid].CallingAe);

            // Nothing under the local folder: no instances/, an empty spool.
            Assert.Empty(LocalInstanceFiles(svc));
            Assert.Empty(Directory.GetFiles(Path.Combine(svc.DataPath, "tmp")));
            Assert.Equal(3, (await s3.KeysAsync(prefix)).Count);

            // Readiness names the object store.
            using var ready = await http.GetAsync("/health/ready");
            var health = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("Healthy", (string?)health["checks"]!["instance_store"]!["status"]);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task Worker_analyses_a_series_read_from_the_store_and_wado_and_overlay_read_objects()
    {
        var prefix = Prefix();
        var input = Support.NewTempDir("qcs3pipe");
        await using var svc = await InProcessService.StartAsync(null, s3.StoreArgs(prefix, ResultsApiContract.FastPipeline));
        try
        {
            var files = Support.MakeCtFiles(input, 3);
            var study = files[0].StudyUid;
            var series = files[0].SeriesUid;
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
            Assert.True(store.ExitCode == 0, store.All);
            using var http = svc.CreateHttpClient();

            var analysed = await ResultsApiContract.Eventually(() => ResultsApiContract.GetAsync(http, $"/api/series/{series}/results"),
                r => r.Status == HttpStatusCode.OK && (string?)r.Json!["state"] == "analyzed"
                     && r.Json!["results"]!.AsArray().Any(x => (string?)x!["profile"] == "ct-water"),
                TimeSpan.FromSeconds(120), "the series to be analysed");
            var water = analysed.Json!["results"]!.AsArray().First(x => (string?)x!["profile"] == "ct-water")!;
            // The phantom's known truth: the water analysis passes on all three images, read from the object store.
            Assert.Equal(3, (int)water["instanceCount"]!);
            Assert.Equal("pass", (string?)water["verdict"]);
            Assert.Empty(LocalInstanceFiles(svc));
            Assert.False(Directory.Exists(Path.Combine(svc.DataPath, "instances")), "no local instances folder with the S3 store");

            // WADO-RS instance: the object's bytes.
            using (var req = new HttpRequestMessage(HttpMethod.Get, $"/dicom-web/studies/{study}/series/{series}/instances/{files[1].SopInstanceUid}"))
            {
                req.Headers.TryAddWithoutValidation("Accept", "multipart/related; type=\"application/dicom\"");
                using var resp = await http.SendAsync(req);
                Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
                var part = Assert.Single(DicomWebReadClient.ParseMultipart(resp, await resp.Content.ReadAsByteArrayAsync()));
                Assert.Equal(await s3.GetAsync(Key(prefix, files[1])), part.Body);
            }
            // The whole series, metadata and a frame (read by path from a copy of the object).
            using (var req = new HttpRequestMessage(HttpMethod.Get, $"/dicom-web/studies/{study}/series/{series}"))
            {
                req.Headers.TryAddWithoutValidation("Accept", "multipart/related; type=\"application/dicom\"");
                using var resp = await http.SendAsync(req);
                Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
                Assert.Equal(3, DicomWebReadClient.ParseMultipart(resp, await resp.Content.ReadAsByteArrayAsync()).Count);
            }
            using (var meta = await http.GetAsync($"/dicom-web/studies/{study}/series/{series}/instances/{files[0].SopInstanceUid}/metadata"))
            {
                Assert.Equal(HttpStatusCode.OK, meta.StatusCode);
                var json = JsonNode.Parse(await meta.Content.ReadAsStringAsync())!;
                Assert.Equal(files[0].SopInstanceUid, (string?)json[0]!["00080018"]!["Value"]![0]);
            }
            using (var req = new HttpRequestMessage(HttpMethod.Get, $"/dicom-web/studies/{study}/series/{series}/instances/{files[0].SopInstanceUid}/frames/1"))
            {
                req.Headers.TryAddWithoutValidation("Accept", "multipart/related; type=\"application/octet-stream\"");
                using var resp = await http.SendAsync(req);
                Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
                var frame = Assert.Single(DicomWebReadClient.ParseMultipart(resp, await resp.Content.ReadAsByteArrayAsync()));
                Assert.Equal(512 * 512 * 2, frame.Body.Length);
            }

            // The overlay PNG of the result: the analysed image read again from the store.
            long id = (long)water["id"]!;
            using (var png = await http.GetAsync($"/api/results/{id}/overlay.png"))
            {
                Assert.Equal(HttpStatusCode.OK, png.StatusCode);
                var bytes = await png.Content.ReadAsByteArrayAsync();
                Assert.Equal((byte)0x89, bytes[0]);
                Assert.Equal("PNG"u8.ToArray(), bytes[1..4]);
            }
            // Read copies are gone once used.
            var cache = Path.Combine(svc.DataPath, "cache");
            Assert.True(!Directory.Exists(cache) || Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Length == 0);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task Retention_deletes_the_objects_and_their_rows()
    {
        var prefix = Prefix();
        var input = Support.NewTempDir("qcs3ret");
        await using var svc = await InProcessService.StartAsync(null, s3.StoreArgs(prefix, RetentionScenarios.Manual));
        try
        {
            var clinical = RetentionScenarios.MakeSeries(input, 2, clinical: true);
            var qc = RetentionScenarios.MakeSeries(input, 2, clinical: false);
            await RetentionScenarios.SendAsync(svc, clinical, qc);
            await RetentionScenarios.AnalysedAsync(svc, clinical);
            await RetentionScenarios.AnalysedAsync(svc, qc);
            Assert.Equal(4, (await s3.KeysAsync(prefix)).Count);

            await RetentionScenarios.AgeAsync(svc, clinical, TimeSpan.FromDays(8));
            await RetentionScenarios.AgeAsync(svc, qc, TimeSpan.FromDays(8));
            var report = await RetentionScenarios.Retention(svc).RunOnceAsync();
            Assert.Equal((1, 2, 0), (report.NonQcSeries, report.NonQcInstances, report.FileFailures));

            // The clinical series' objects and rows are gone; the QC series (kept forever by default) is untouched.
            foreach (var f in clinical.Files) Assert.Null(await s3.GetAsync(Key(prefix, f)));
            foreach (var f in qc.Files) Assert.NotNull(await s3.GetAsync(Key(prefix, f)));
            Assert.Empty(await RetentionScenarios.InstancesAsync(svc, clinical));
            Assert.Equal(2, (await RetentionScenarios.InstancesAsync(svc, qc)).Count);
            var (_, wado) = await RetentionScenarios.DicomWebAsync(svc, clinical, clinical.Files[0]);
            Assert.Equal(HttpStatusCode.NotFound, wado);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task An_outage_refuses_with_A700_and_a_failed_STOW_entry_indexes_nothing_and_storing_resumes()
    {
        var prefix = Prefix();
        var input = Support.NewTempDir("qcs3out");
        await using var svc = await InProcessService.StartAsync(null, s3.StoreArgs(prefix, "--Pipeline:SweeperEnabled=false"));
        try
        {
            var files = Support.MakeCtFiles(input, 3);
            using var http = svc.CreateHttpClient();
            await s3.HaltAsync();
            try
            {
                var store = await Support.StoreScuAsync(svc.DicomPort, [files[0].Path]);
                Assert.Equal("Refused: OutOfResources", Support.StoreResponses(store.All)[files[0].Path]);

                var answer = await StowSupport.SendAsync(http, StowSupport.Request("/dicom-web/studies", StowSupport.Body(await File.ReadAllBytesAsync(files[1].Path))));
                Assert.Equal(409, answer.Status);
                var failed = Assert.Single(answer.Failed);
                Assert.Equal(files[1].SopInstanceUid, failed.Sop);
                Assert.Equal(0xA700, failed.Reason);
                Assert.Empty(answer.Stored);

                // Nothing indexed, nothing left in the spool, nothing local; readiness reports the store.
                Assert.Empty(Support.Rows(svc.DbPath));
                Assert.Empty(Directory.GetFiles(Path.Combine(svc.DataPath, "tmp")));
                Assert.Empty(LocalInstanceFiles(svc));
                Assert.True(svc.Metrics.IngestFailuresTotal.WithLabels("io_error").Value >= 2);
                using var ready = await http.GetAsync("/health/ready");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                var health = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
                Assert.Equal("Unhealthy", (string?)health["checks"]!["instance_store"]!["status"]);
            }
            finally
            {
                await s3.ResumeAsync();
            }

            // The store is back: the same instances are stored.
            var again = await Support.StoreScuAsync(svc.DicomPort, [files[0].Path, files[2].Path]);
            Assert.All(Support.StoreResponses(again.All).Values, v => Assert.Equal("Success", v));
            var stow = await StowSupport.SendAsync(http, StowSupport.Request("/dicom-web/studies", StowSupport.Body(await File.ReadAllBytesAsync(files[1].Path))));
            Assert.Equal(200, stow.Status);
            Assert.Equal(3, Support.Rows(svc.DbPath).Count);
            Assert.Equal(3, (await s3.KeysAsync(prefix)).Count);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task A_resent_instance_with_new_content_replaces_its_object_and_a_same_one_is_a_duplicate()
    {
        var prefix = Prefix();
        var input = Support.NewTempDir("qcs3rep");
        await using var svc = await InProcessService.StartAsync(null, s3.StoreArgs(prefix, "--Pipeline:SweeperEnabled=false"));
        try
        {
            var f = Support.MakeCtFiles(input, 1)[0];
            var first = await Support.StoreScuAsync(svc.DicomPort, [f.Path]);
            Assert.Equal("Success", Support.StoreResponses(first.All)[f.Path]);
            var oldSha = Support.DatasetSha256(f.Path);

            // Same UIDs, other content.
            var changed = Path.Combine(input, "changed.dcm");
            Support.WriteVariant(changed, f.StudyUid, f.SeriesUid, f.SopInstanceUid, 1, "CHANGED");
            var newSha = Support.DatasetSha256(changed);
            Assert.NotEqual(oldSha, newSha);
            var second = await Support.StoreScuAsync(svc.DicomPort, [changed]);
            Assert.Equal("Success", Support.StoreResponses(second.All)[changed]);

            var row = Assert.Single(Support.Rows(svc.DbPath));
            Assert.Equal((newSha, 2), (row.Sha256, row.Version));
            Assert.Equal(newSha, await DatasetShaAsync((await s3.GetAsync(Key(prefix, f)))!));
            Assert.Contains(Support.Events(svc.DbPath), e => e.Sop == f.SopInstanceUid && e.Kind == "replaced" && e.Old == oldSha && e.New == newSha);

            // The same content again: a duplicate, nothing written.
            int events = Support.Events(svc.DbPath).Count;
            var third = await Support.StoreScuAsync(svc.DicomPort, [changed]);
            Assert.Equal("Success", Support.StoreResponses(third.All)[changed]);
            Assert.Equal(2, Assert.Single(Support.Rows(svc.DbPath)).Version);
            Assert.Equal(events, Support.Events(svc.DbPath).Count);
            Assert.Equal(1, svc.Metrics.IngestTotal.WithLabels("duplicate").Value);

            // Same SOP Instance UID under another series: the object moves, the old one is deleted.
            var moved = Path.Combine(input, "moved.dcm");
            var otherSeries = Support.NewUid();
            Support.WriteVariant(moved, f.StudyUid, otherSeries, f.SopInstanceUid, 1, "MOVED");
            var fourth = await Support.StoreScuAsync(svc.DicomPort, [moved]);
            Assert.Equal("Success", Support.StoreResponses(fourth.All)[moved]);
            Assert.Null(await s3.GetAsync(Key(prefix, f)));
            Assert.NotNull(await s3.GetAsync(Key(prefix, f with { SeriesUid = otherSeries })));
            Assert.Equal($"instances/{f.StudyUid}/{otherSeries}/{f.SopInstanceUid}.dcm", Assert.Single(Support.Rows(svc.DbPath)).Path);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task CreateBucket_makes_a_missing_bucket_at_start()
    {
        var bucket = "qc-made-" + Guid.NewGuid().ToString("N")[..10];
        var input = Support.NewTempDir("qcs3bkt");
        var args = s3.StoreArgs("", "--Pipeline:SweeperEnabled=false", "--Storage:S3:CreateBucket=true").Select(a => a.StartsWith("--Storage:S3:Bucket=", StringComparison.Ordinal) ? $"--Storage:S3:Bucket={bucket}" : a).ToArray();
        await using var svc = await InProcessService.StartAsync(null, args);
        try
        {
            var f = Support.MakeCtFiles(input, 1)[0];
            var store = await Support.StoreScuAsync(svc.DicomPort, [f.Path]);
            Assert.Equal("Success", Support.StoreResponses(store.All)[f.Path]);
            Assert.NotNull(await s3.GetAsync(Key("", f), bucket));
            Assert.IsType<S3InstanceStore>(svc.Services.GetRequiredService<IInstanceStore>());
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}

/// <summary>Bad <c>Storage</c> values stop the start with exit code 2 and a line naming the key (no store needed).</summary>
public sealed class S3StorageOptionsTests
{
    [Theory]
    [InlineData("--Storage:Backend=Azure", "Storage:Backend")]
    [InlineData("--Storage:Backend=S3", "Storage:S3:Bucket")]
    [InlineData("--Storage:Backend=S3|--Storage:S3:Bucket=Bad_Bucket", "Storage:S3:Bucket")]
    [InlineData("--Storage:Backend=S3|--Storage:S3:Bucket=qc|--Storage:S3:ServiceUrl=ftp://x", "Storage:S3:ServiceUrl")]
    [InlineData("--Storage:Backend=S3|--Storage:S3:Bucket=qc-i|--Storage:S3:ServiceUrl=http://127.0.0.1:9", "Storage:S3:AccessKey")]
    [InlineData("--Storage:Backend=S3|--Storage:S3:Bucket=qc-i|--Storage:S3:AccessKey=a", "Storage:S3:SecretKey")]
    [InlineData("--Storage:Backend=S3|--Storage:S3:Bucket=qc-i|--Storage:S3:AccessKey=a|--Storage:S3:SecretKey=b|--Storage:S3:Prefix=/abs", "Storage:S3:Prefix")]
    [InlineData("--Storage:Backend=S3|--Storage:S3:Bucket=qc-i|--Storage:S3:AccessKey=a|--Storage:S3:SecretKey=b|--Storage:S3:Region=", "Storage:S3:Region")]
    public async Task An_invalid_storage_value_stops_start_up_with_exit_code_2_naming_the_key(string args, string key)
    {
        var dir = Support.NewTempDir("qcbads3");
        try
        {
            await using var svc = ChildService.Start(dir, ["--Http:Urls=http://127.0.0.1:0", "--Dicom:Port=0", .. args.Split('|')]);
            int code = await svc.WaitExitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(2, code);
            Assert.Contains(key, svc.Output, StringComparison.Ordinal);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }
}
