using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Auth;

namespace QcPipeline.Service.Tests;

/// <summary>HTTP API authentication and authorization: API keys, bearer JWTs, the loopback rule, scopes (401 vs 403).</summary>
public sealed class AuthTests
{
    // Keys used in these tests. The store+read key is given by its SHA-256 (the production form), the others in plain text.
    private const string FullKey = "full-key-0123456789abcdef";
    private const string ReadKey = "read-key-0123456789abcdef";
    private const string StoreKey = "store-key-0123456789abcdef";

    internal static readonly string[] KeyArgs =
    [
        "--Http:Auth:ApiKeys:0:Name=pacs-router", $"--Http:Auth:ApiKeys:0:KeySha256={Sha256Hex(FullKey)}",
        "--Http:Auth:ApiKeys:1:Name=dashboard", $"--Http:Auth:ApiKeys:1:Key={ReadKey}", "--Http:Auth:ApiKeys:1:Scopes:0=read",
        "--Http:Auth:ApiKeys:2:Name=modality", $"--Http:Auth:ApiKeys:2:Key={StoreKey}", "--Http:Auth:ApiKeys:2:Scopes:0=store",
    ];

    internal static string Sha256Hex(string s) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s)));

    /// <summary>Maps test-only endpoints protected by the product's policies (the DICOMweb endpoints are built elsewhere).</summary>
    internal static void MapProbes(WebApplication app)
    {
        app.MapPost("/test/store", (HttpContext ctx) => Results.Text(ctx.User.Identity?.Name ?? "(anonymous)")).RequireAuthorization(QcAuthPolicies.Store);
        app.MapGet("/test/read", (HttpContext ctx) => Results.Text(ctx.User.Identity?.Name ?? "(anonymous)")).RequireAuthorization(QcAuthPolicies.Read);
    }

    internal static Task<InProcessService> StartAsync(params string[] args) => InProcessService.StartAsync(null, MapProbes, args);

    internal static HttpRequestMessage Request(HttpMethod method, string path, string? apiKey = null, string? bearer = null, bool xApiKey = false)
    {
        var req = new HttpRequestMessage(method, path);
        if (apiKey is not null)
        {
            if (xApiKey) req.Headers.Add("X-Api-Key", apiKey);
            else req.Headers.Authorization = new AuthenticationHeaderValue("ApiKey", apiKey);
        }
        if (bearer is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (method == HttpMethod.Post) req.Content = new ByteArrayContent([1, 2, 3]);
        return req;
    }

    private static async Task<HttpResponseMessage> SendAsync(InProcessService svc, HttpMethod method, string path, string? apiKey = null, bool xApiKey = false)
    {
        using var http = svc.CreateHttpClient();
        using var req = Request(method, path, apiKey, xApiKey: xApiKey);
        var resp = await http.SendAsync(req);
        await resp.Content.LoadIntoBufferAsync();
        return resp;
    }

    [Fact]
    public async Task Required_mode_answers_401_with_WWW_Authenticate_when_the_key_is_missing_or_wrong()
    {
        await using var svc = await StartAsync([.. KeyArgs, "--Http:Auth:Mode=Required"]);

        using var missing = await SendAsync(svc, HttpMethod.Get, "/api/whoami");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Contains(missing.Headers.WwwAuthenticate, h => h.Scheme == "ApiKey");

        using var wrong = await SendAsync(svc, HttpMethod.Get, "/api/whoami", "not-a-configured-key-at-all");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        var challenge = Assert.Single(wrong.Headers.WwwAuthenticate, h => h.Scheme == "ApiKey");
        Assert.Contains("invalid_key", challenge.Parameter, StringComparison.Ordinal);

        using var wrongStore = await SendAsync(svc, HttpMethod.Post, "/test/store", "not-a-configured-key-at-all", xApiKey: true);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongStore.StatusCode);

        using var basic = new HttpRequestMessage(HttpMethod.Get, "/api/whoami");
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("a:b"u8.ToArray()));
        using var http = svc.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(basic)).StatusCode);

        // Bearer tokens are not configured here: rejected, not ignored.
        using var bearer = new HttpRequestMessage(HttpMethod.Get, "/api/whoami");
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "x.y.z");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(bearer)).StatusCode);
    }

    [Fact]
    public async Task A_valid_key_in_either_header_gives_the_configured_name_and_scopes()
    {
        await using var svc = await StartAsync([.. KeyArgs, "--Http:Auth:Mode=Required"]);

        using var full = await SendAsync(svc, HttpMethod.Get, "/api/whoami", FullKey);
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        var who = await full.Content.ReadFromJsonAsync<AuthEndpoints.WhoAmI>();
        Assert.Equal(new[] { "read", "store" }, who!.Scopes);
        Assert.Equal(("pacs-router", "api-key"), (who.Name, who.Method));

        using var viaHeader = await SendAsync(svc, HttpMethod.Get, "/api/whoami", ReadKey, xApiKey: true);
        who = await viaHeader.Content.ReadFromJsonAsync<AuthEndpoints.WhoAmI>();
        Assert.Equal(("dashboard", "api-key"), (who!.Name, who.Method));
        Assert.Equal(new[] { "read" }, who.Scopes);

        using var stored = await SendAsync(svc, HttpMethod.Post, "/test/store", FullKey);
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal("pacs-router", await stored.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_authenticated_client_without_the_scope_gets_403()
    {
        await using var svc = await StartAsync([.. KeyArgs, "--Http:Auth:Mode=Required"]);

        using var readStore = await SendAsync(svc, HttpMethod.Post, "/test/store", ReadKey);
        Assert.Equal(HttpStatusCode.Forbidden, readStore.StatusCode);
        using var readRead = await SendAsync(svc, HttpMethod.Get, "/test/read", ReadKey);
        Assert.Equal(HttpStatusCode.OK, readRead.StatusCode);
        Assert.Equal("dashboard", await readRead.Content.ReadAsStringAsync());

        using var storeRead = await SendAsync(svc, HttpMethod.Get, "/test/read", StoreKey);
        Assert.Equal(HttpStatusCode.Forbidden, storeRead.StatusCode);
        using var storeStore = await SendAsync(svc, HttpMethod.Post, "/test/store", StoreKey);
        Assert.Equal(HttpStatusCode.OK, storeStore.StatusCode);
        Assert.Equal("modality", await storeStore.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task On_loopback_in_Auto_mode_anonymous_requests_pass_but_sent_credentials_are_still_checked()
    {
        // InProcessService binds http://127.0.0.1:0: loopback only, so Auto leaves authentication optional.
        await using var svc = await StartAsync(KeyArgs);

        using var anon = await SendAsync(svc, HttpMethod.Post, "/test/store");
        Assert.Equal(HttpStatusCode.OK, anon.StatusCode);
        Assert.Equal("(anonymous)", await anon.Content.ReadAsStringAsync());
        using var anonWho = await SendAsync(svc, HttpMethod.Get, "/api/whoami");
        var who = await anonWho.Content.ReadFromJsonAsync<AuthEndpoints.WhoAmI>();
        Assert.Equal((null, "anonymous"), (who!.Name, who.Method));

        using var named = await SendAsync(svc, HttpMethod.Post, "/test/store", FullKey);
        Assert.Equal("pacs-router", await named.Content.ReadAsStringAsync());

        using var wrong = await SendAsync(svc, HttpMethod.Post, "/test/store", "not-a-configured-key-at-all");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using var noScope = await SendAsync(svc, HttpMethod.Post, "/test/store", ReadKey);
        Assert.Equal(HttpStatusCode.Forbidden, noScope.StatusCode);
    }

    [Fact]
    public async Task Health_stays_anonymous_and_metrics_is_anonymous_unless_protected()
    {
        await using (var svc = await StartAsync([.. KeyArgs, "--Http:Auth:Mode=Required"]))
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(svc, HttpMethod.Get, "/health/live")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(svc, HttpMethod.Get, "/metrics")).StatusCode);
        }
        await using (var svc = await StartAsync([.. KeyArgs, "--Http:Auth:Mode=Required", "--Http:Auth:ProtectMetrics=true"]))
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(svc, HttpMethod.Get, "/health/live")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(svc, HttpMethod.Get, "/metrics")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(svc, HttpMethod.Get, "/metrics", ReadKey)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(svc, HttpMethod.Get, "/metrics", StoreKey)).StatusCode);
        }
    }

    [Fact]
    public async Task Binding_beyond_loopback_without_credentials_refuses_to_start()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync("--Http:Urls=http://0.0.0.0:0"));
        Assert.Contains("beyond loopback (http://0.0.0.0:0)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Http:Auth:ApiKeys", ex.Message, StringComparison.Ordinal);

        ex = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync("--Http:Urls=http://127.0.0.1:0;http://*:0"));
        Assert.Contains("beyond loopback (http://*:0)", ex.Message, StringComparison.Ordinal);

        ex = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync("--Http:Auth:Mode=Required"));
        Assert.Contains("Http:Auth:Mode is Required but neither", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binding_beyond_loopback_with_a_key_starts_and_requires_it()
    {
        await using var svc = await StartAsync([.. KeyArgs, "--Http:Urls=http://0.0.0.0:0"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{svc.HttpBase.Port}") };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/test/read", UriKind.Relative))).StatusCode);
        using var req = Request(HttpMethod.Get, "/test/read", ReadKey);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(req)).StatusCode);
    }

    [Theory]
    [InlineData("--Http:Auth:ApiKeys:0:Name=a", "give exactly one of KeySha256")]
    [InlineData("--Http:Auth:ApiKeys:0:KeySha256=abcd", "Http:Auth:ApiKeys:0:Name is empty")]
    [InlineData("--Http:Auth:ApiKeys:0:Key=short", "Key must be at least 16 characters")]
    [InlineData("--Http:Auth:ApiKeys:0:Scopes:0=admin", "'admin' is not a scope")]
    [InlineData("--Http:Auth:Jwt:Issuer=https://idp", "Http:Auth:Jwt:Audience is required")]
    [InlineData("--Http:Auth:Jwt:SymmetricKeys:0=c2hvcnQ=", "HMAC keys must be at least 32 bytes")]
    [InlineData("--Http:Urls=https://127.0.0.1:0", "Http:Https:CertificatePath is required")]
    [InlineData("--Http:MaxRequestBodyBytes=-1", "Http:MaxRequestBodyBytes must be >= 0")]
    public async Task Invalid_settings_stop_start_up_with_a_message_naming_the_key(string arg, string expected)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(arg));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_executable_exits_with_code_2_when_it_would_listen_beyond_loopback_without_credentials()
    {
        var dir = Support.NewTempDir("qcauth");
        try
        {
            await using var svc = ChildService.Start(dir, ["--Dicom:Port=0", "--Http:Urls=http://0.0.0.0:0"]);
            Assert.Equal(2, await svc.WaitExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("invalid configuration: the HTTP API listens beyond loopback", svc.Output, StringComparison.Ordinal);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://127.9.8.7:8080", true)]
    [InlineData("http://localhost:5000", true)]
    [InlineData("https://[::1]:8443", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://+:8080", false)]
    [InlineData("http://10.1.2.3:8080", false)]
    [InlineData("http://qc.example.org:8080", false)]
    [InlineData("http://unix:/run/qc.sock", false)]
    [InlineData("garbage", false)]
    public void Loopback_bindings_are_recognised(string url, bool loopback) => Assert.Equal(loopback, HttpBindings.IsLoopback(url));

    [Fact]
    public void Auto_requires_authentication_unless_every_binding_is_loopback()
    {
        Assert.False(HttpBindings.AuthRequired(HttpAuthMode.Auto, ["http://127.0.0.1:8080", "http://[::1]:8080"]));
        Assert.True(HttpBindings.AuthRequired(HttpAuthMode.Auto, ["http://127.0.0.1:8080", "http://0.0.0.0:8081"]));
        Assert.True(HttpBindings.AuthRequired(HttpAuthMode.Required, ["http://127.0.0.1:8080"]));
    }

    [Fact]
    public async Task The_request_body_limit_is_configurable()
    {
        static void Map(WebApplication app) => app.MapPost("/test/body", async (HttpContext ctx) =>
        {
            var n = 0L;
            var buffer = new byte[8192];
            int r;
            while ((r = await ctx.Request.Body.ReadAsync(buffer)) > 0) n += r;
            return Results.Text(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        await using var svc = await InProcessService.StartAsync(null, Map, "--Http:MaxRequestBodyBytes=1000");
        using var http = svc.CreateHttpClient();
        using var small = await http.PostAsync(new Uri("/test/body", UriKind.Relative), new ByteArrayContent(new byte[1000]));
        Assert.Equal("1000", await small.Content.ReadAsStringAsync());
        using var big = await http.PostAsync(new Uri("/test/body", UriKind.Relative), new ByteArrayContent(new byte[5000]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
    }
}
