using System.Net;
using System.Net.Http.Headers;
using Microsoft.Data.Sqlite;

namespace QcPipeline.Service.Tests;

/// <summary>STOW-RS, QIDO-RS and WADO-RS behind authentication (the real endpoints, not probes): no key, a wrong key or a
/// bad token 401, a read-only key 403 on STOW, a store key stores and its name (cut to the index column) is recorded with
/// each instance it sent.</summary>
public sealed class StowAuthTests
{
    private const string StoreKey = "modality-key-0123456789abcdef";
    private const string ReadKey = "viewer-key-0123456789abcdef";
    // A key name longer than the index's Client column (128): recorded cut, never a failed commit. (Declared before Args,
    // which reads it.)
    private static readonly string LongName = "archive-forwarder-" + new string('x', 200);
    private const string LongNameKey = "archive-key-0123456789abcdef";

    private static readonly string[] Args =
    [
        "--Http:Auth:Mode=Required",
        "--Http:Auth:ApiKeys:0:Name=ct-scanner-7", $"--Http:Auth:ApiKeys:0:Key={StoreKey}", "--Http:Auth:ApiKeys:0:Scopes:0=store",
        "--Http:Auth:ApiKeys:1:Name=viewer", $"--Http:Auth:ApiKeys:1:Key={ReadKey}", "--Http:Auth:ApiKeys:1:Scopes:0=read",
        $"--Http:Auth:ApiKeys:2:Name={LongName}", $"--Http:Auth:ApiKeys:2:Key={LongNameKey}", "--Http:Auth:ApiKeys:2:Scopes:0=store",
    ];


    private static string? ClientOf(string dbPath, string sop)
    {
        using var c = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT Client FROM Instances WHERE SopInstanceUid = $s";
        cmd.Parameters.AddWithValue("$s", sop);
        return cmd.ExecuteScalar() as string;
    }

    [Fact]
    public async Task Stow_needs_a_store_key_and_records_the_key_name_with_each_instance()
    {
        var input = Support.NewTempDir("qcstowauth");
        await using var svc = await InProcessService.StartAsync(null, Args);
        try
        {
            var files = Support.MakeCtFiles(input, 2);
            var body = StowSupport.Body([.. files.Select(f => File.ReadAllBytes(f.Path))]);
            using var http = svc.CreateHttpClient();

            var none = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", body));
            Assert.Equal(401, none.Status);

            var readOnly = StowSupport.Request("dicom-web/studies", body);
            readOnly.Headers.Authorization = new AuthenticationHeaderValue("ApiKey", ReadKey);
            Assert.Equal(403, (await StowSupport.SendAsync(http, readOnly)).Status);
            var wrongKey = StowSupport.Request("dicom-web/studies", body);
            wrongKey.Headers.Add("X-Api-Key", "not-a-key-0123456789abcdef");
            Assert.Equal(401, (await StowSupport.SendAsync(http, wrongKey)).Status);
            var badToken = StowSupport.Request("dicom-web/studies", body);
            badToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl");
            Assert.Equal(401, (await StowSupport.SendAsync(http, badToken)).Status);
            Assert.Empty(Support.Rows(svc.DbPath));

            var ok = StowSupport.Request("dicom-web/studies", body);
            ok.Headers.Add("X-Api-Key", StoreKey);
            var answer = await StowSupport.SendAsync(http, ok);
            Assert.Equal(200, answer.Status);
            Assert.All(files, f => Assert.Equal("ct-scanner-7", ClientOf(svc.DbPath, f.SopInstanceUid)));

            var more = Support.MakeCtFiles(Path.Combine(input, "more"), 1);
            var longNamed = StowSupport.Request("dicom-web/studies", StowSupport.Body(File.ReadAllBytes(more[0].Path)));
            longNamed.Headers.Add("X-Api-Key", LongNameKey);
            Assert.Equal(200, (await StowSupport.SendAsync(http, longNamed)).Status);
            Assert.Equal(LongName[..128], ClientOf(svc.DbPath, more[0].SopInstanceUid));

            // Reading: the store-only key may not, the read key may.
            using var q1 = new HttpRequestMessage(HttpMethod.Get, $"dicom-web/studies?StudyInstanceUID={files[0].StudyUid}");
            q1.Headers.Add("X-Api-Key", StoreKey);
            Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(q1)).StatusCode);
            using var q2 = new HttpRequestMessage(HttpMethod.Get, $"dicom-web/studies?StudyInstanceUID={files[0].StudyUid}");
            q2.Headers.Add("X-Api-Key", ReadKey);
            using var r2 = await http.SendAsync(q2);
            Assert.Equal(HttpStatusCode.OK, r2.StatusCode);
            Assert.Contains(files[0].StudyUid, await r2.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var q3 = new HttpRequestMessage(HttpMethod.Get, $"dicom-web/studies/{files[0].StudyUid}/metadata");
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(q3)).StatusCode);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
