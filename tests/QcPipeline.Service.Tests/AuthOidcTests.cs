using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using QcPipeline.Service.Auth;

namespace QcPipeline.Service.Tests;

/// <summary>JWT keys from an OpenID Connect issuer's discovery document; defaults; what failed authentication logs.</summary>
public sealed partial class AuthOidcTests
{
    [Fact]
    public async Task Signing_keys_and_issuer_come_from_the_Authority_discovery_document()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        var idpBuilder = WebApplication.CreateSlimBuilder();
        idpBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        idpBuilder.Logging.ClearProviders();
        await using var idp = idpBuilder.Build();
        string authority = "";
        idp.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = authority,
            ["jwks_uri"] = authority + "/jwks",
        }));
        idp.MapGet("/jwks", () => Results.Json(new Dictionary<string, object>
        {
            ["keys"] = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA", ["use"] = "sig", ["kid"] = "k1", ["alg"] = "RS256",
                    ["n"] = Base64UrlEncoder.Encode(p.Modulus!), ["e"] = Base64UrlEncoder.Encode(p.Exponent!),
                },
            },
        }));
        await idp.StartAsync();
        authority = idp.Urls.First().TrimEnd('/');

        await using var svc = await AuthTests.StartAsync("--Http:Auth:Mode=Required", $"--Http:Auth:Jwt:Authority={authority}",
            "--Http:Auth:Jwt:Audience=qcpipeline", "--Http:Auth:Jwt:RequireHttpsMetadata=false");
        string Token(string issuer) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = "qcpipeline",
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = "oidc-client", ["scp"] = "qc.read" },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256),
        });

        using var http = svc.CreateHttpClient();
        using var ok = AuthTests.Request(HttpMethod.Get, "/test/read", bearer: Token(authority));
        using var okResp = await http.SendAsync(ok);
        Assert.Equal(HttpStatusCode.OK, okResp.StatusCode);
        Assert.Equal("oidc-client", await okResp.Content.ReadAsStringAsync());

        using var otherIssuer = AuthTests.Request(HttpMethod.Get, "/test/read", bearer: Token("https://elsewhere.example.org"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(otherIssuer)).StatusCode);
        await idp.StopAsync();
    }

    [Fact]
    public async Task An_http_Authority_needs_RequireHttpsMetadata_false()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => AuthTests.StartAsync(
            "--Http:Auth:Jwt:Authority=http://idp.example.org", "--Http:Auth:Jwt:Audience=qcpipeline"));
        Assert.Contains("Http:Auth:Jwt:Authority must be https://", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Defaults_are_the_documented_ones()
    {
        var app = ServiceHost.Build([]);
        await using (app)
        {
            var o = app.Services.GetRequiredService<IOptions<HttpOptions>>().Value;
            Assert.Equal((HttpAuthMode.Auto, false, 4L * 1024 * 1024 * 1024), (o.Auth.Mode, o.Auth.ProtectMetrics, o.MaxRequestBodyBytes));
            Assert.Empty(o.Auth.ApiKeys);
            Assert.False(o.Auth.Jwt.IsConfigured);
            Assert.Equal(60, o.Auth.Jwt.ClockSkewSeconds);
            Assert.True(o.Auth.Jwt.RequireHttpsMetadata);
            Assert.False(app.Services.GetRequiredService<QcAuthState>().Required);
            var kestrel = app.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>>().Value;
            Assert.Equal(4L * 1024 * 1024 * 1024, kestrel.Limits.MaxRequestBodySize);
        }
    }

    [Fact]
    public async Task Failed_authentication_is_logged_with_the_remote_address_and_never_the_key()
    {
        const string wrongKey = "WRONG-key-do-not-log-me-0123456789";
        var dir = Support.NewTempDir("qcauthlog");
        try
        {
            await using var svc = ChildService.Start(dir, ["--Dicom:Port=0", "--Http:Urls=http://127.0.0.1:0", .. AuthTests.KeyArgs, "--Http:Auth:Mode=Required"]);
            await svc.WaitBoundAsync();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            Match m;
            while (!(m = Listening().Match(svc.Output)).Success && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.True(m.Success, svc.Output);
            using var http = new HttpClient { BaseAddress = new Uri(m.Groups[1].Value) };
            using var wrong = AuthTests.Request(HttpMethod.Get, "/api/whoami", wrongKey);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
            using var forbidden = AuthTests.Request(HttpMethod.Get, "/metrics", "store-key-0123456789abcdef");
            await http.SendAsync(forbidden); // /metrics is anonymous by default: no log line expected for it
            while (!svc.Output.Contains("HTTP authentication failed", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(100);

            string output = svc.Output;
            Assert.Contains("HTTP authentication failed from 127.0.0.1: unknown API key (GET /api/whoami)", output, StringComparison.Ordinal);
            Assert.Single(output.Split('\n'), l => l.Contains("HTTP authentication failed", StringComparison.Ordinal));
            Assert.Contains("HTTP authentication required (Required; 3 API key(s), JWT not configured; /metrics anonymous)", output, StringComparison.Ordinal);
            Assert.DoesNotContain(wrongKey, output, StringComparison.Ordinal);
            Assert.DoesNotContain("0123456789abcdef", output, StringComparison.Ordinal);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
