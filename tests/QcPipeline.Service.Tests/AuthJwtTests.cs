using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using QcPipeline.Service.Auth;

namespace QcPipeline.Service.Tests;

/// <summary>Bearer JWTs: HS256 with a configured secret, RS256/ES256 with PEM public key files; issuer, audience,
/// lifetime and signature are enforced; identity is <c>sub</c> (else <c>name</c>, <c>client_id</c>).</summary>
public sealed class AuthJwtTests : IDisposable
{
    private const string Issuer = "https://idp.example.org/realms/qc";
    private const string Audience = "qcpipeline";
    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);
    private readonly string _dir = Support.NewTempDir("qcjwt");
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ECDsa _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose()
    {
        _rsa.Dispose();
        _ec.Dispose();
        Support.TryDeleteDir(_dir);
    }

    private string[] JwtArgs()
    {
        string rsaPem = Path.Combine(_dir, "rsa.pub.pem"), ecPem = Path.Combine(_dir, "ec.pub.pem");
        File.WriteAllText(rsaPem, _rsa.ExportSubjectPublicKeyInfoPem());
        File.WriteAllText(ecPem, _ec.ExportSubjectPublicKeyInfoPem());
        return
        [
            "--Http:Auth:Mode=Required", $"--Http:Auth:Jwt:Issuer={Issuer}", $"--Http:Auth:Jwt:Audience={Audience}",
            $"--Http:Auth:Jwt:SymmetricKeys:0={Convert.ToBase64String(Secret)}",
            $"--Http:Auth:Jwt:PublicKeyFiles:0={rsaPem}", $"--Http:Auth:Jwt:PublicKeyFiles:1={ecPem}",
        ];
    }

    private static SigningCredentials Hs256(byte[]? secret = null) => new(new SymmetricSecurityKey(secret ?? Secret), SecurityAlgorithms.HmacSha256);

    private static string Token(SigningCredentials creds, Dictionary<string, object> claims, string issuer = Issuer, string audience = Audience,
        DateTime? expires = null, DateTime? notBefore = null)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = notBefore ?? now,
            NotBefore = notBefore ?? now,
            Expires = expires ?? now.AddMinutes(10),
            Claims = claims,
            SigningCredentials = creds,
        });
    }

    private static Dictionary<string, object> Claims(string? sub, string scope, params (string Key, object Value)[] more)
    {
        var d = new Dictionary<string, object> { ["scope"] = scope };
        if (sub is not null) d["sub"] = sub;
        foreach (var (k, v) in more) d[k] = v;
        return d;
    }

    private static async Task<HttpResponseMessage> SendAsync(InProcessService svc, HttpMethod method, string path, string token)
    {
        using var http = svc.CreateHttpClient();
        using var req = AuthTests.Request(method, path, bearer: token);
        var resp = await http.SendAsync(req);
        await resp.Content.LoadIntoBufferAsync();
        return resp;
    }

    [Fact]
    public async Task A_valid_HS256_token_authenticates_as_its_sub_with_its_qc_scopes()
    {
        await using var svc = await AuthTests.StartAsync(JwtArgs());
        var token = Token(Hs256(), Claims("svc-pacs-01", "openid qc.store qc.read other.scope"));

        using var who = await SendAsync(svc, HttpMethod.Get, "/api/whoami", token);
        Assert.Equal(HttpStatusCode.OK, who.StatusCode);
        var me = await who.Content.ReadFromJsonAsync<AuthEndpoints.WhoAmI>();
        Assert.Equal(("svc-pacs-01", "jwt"), (me!.Name, me.Method));
        Assert.Equal(new[] { "read", "store" }, me.Scopes);

        using var stored = await SendAsync(svc, HttpMethod.Post, "/test/store", token);
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal("svc-pacs-01", await stored.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_qc_manage_scope_lets_a_token_edit_a_device_and_the_audit_names_its_subject()
    {
        await using var svc = await AuthTests.StartAsync(JwtArgs());
        var device = await svc.Services.GetRequiredService<QcPipeline.Service.ResultsStore.ResultStore>()
            .ResolveDeviceAsync(new QcPipeline.Service.ResultsStore.DeviceIdentity(null, "MR1", null));
        async Task<HttpStatusCode> Patch(string token)
        {
            using var http = svc.CreateHttpClient();
            using var req = new HttpRequestMessage(HttpMethod.Patch, $"/api/devices/{device.Id}")
            {
                Content = new StringContent("""{"displayName":"MR 1.5 T"}""", System.Text.Encoding.UTF8, "application/json"),
            };
            req.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var resp = await http.SendAsync(req);
            return resp.StatusCode;
        }
        Assert.Equal(HttpStatusCode.Forbidden, await Patch(Token(Hs256(), Claims("viewer", "qc.read"))));
        Assert.Equal(HttpStatusCode.OK, await Patch(Token(Hs256(), Claims("dr-li", "qc.read qc.manage"))));
        var audit = Assert.Single(await ResultsApiContract.AuditRowsAsync(svc, "device", device.Key));
        Assert.Equal("dr-li", audit.Actor);
    }

    [Fact]
    public async Task A_token_without_the_store_scope_gets_403_on_store_and_its_roles_count_as_scopes()
    {
        await using var svc = await AuthTests.StartAsync(JwtArgs());
        var readOnly = Token(Hs256(), Claims("viewer", "qc.read"));
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(svc, HttpMethod.Post, "/test/store", readOnly)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(svc, HttpMethod.Get, "/test/read", readOnly)).StatusCode);

        // Unprefixed "store" is not ours: a token for another API must not grant it.
        var foreign = Token(Hs256(), Claims("other", "store read"));
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(svc, HttpMethod.Get, "/test/read", foreign)).StatusCode);

        var withRoles = Token(Hs256(), Claims("router", "", ("roles", new[] { "qc.store" })));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(svc, HttpMethod.Post, "/test/store", withRoles)).StatusCode);
    }

    [Fact]
    public async Task Without_sub_the_identity_is_name_then_client_id_and_a_token_with_neither_is_rejected()
    {
        await using var svc = await AuthTests.StartAsync(JwtArgs());
        var byName = Token(Hs256(), Claims(null, "qc.read", ("name", "Night Physicist"), ("client_id", "cli")));
        Assert.Equal("Night Physicist", await (await SendAsync(svc, HttpMethod.Get, "/test/read", byName)).Content.ReadAsStringAsync());
        var byClient = Token(Hs256(), Claims(null, "qc.read", ("client_id", "ingest-bot")));
        Assert.Equal("ingest-bot", await (await SendAsync(svc, HttpMethod.Get, "/test/read", byClient)).Content.ReadAsStringAsync());
        var nobody = Token(Hs256(), Claims(null, "qc.read"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(svc, HttpMethod.Get, "/test/read", nobody)).StatusCode);
    }

    [Fact]
    public async Task RS256_and_ES256_tokens_are_checked_against_the_PEM_public_key_files()
    {
        await using var svc = await AuthTests.StartAsync(JwtArgs());
        var rs = Token(new SigningCredentials(new RsaSecurityKey(_rsa), SecurityAlgorithms.RsaSha256), Claims("rsa-client", "qc.read"));
        using var rsResp = await SendAsync(svc, HttpMethod.Get, "/test/read", rs);
        Assert.Equal(HttpStatusCode.OK, rsResp.StatusCode);
        Assert.Equal("rsa-client", await rsResp.Content.ReadAsStringAsync());

        var es = Token(new SigningCredentials(new ECDsaSecurityKey(_ec), SecurityAlgorithms.EcdsaSha256), Claims("ec-client", "qc.read"));
        using var esResp = await SendAsync(svc, HttpMethod.Get, "/test/read", es);
        Assert.Equal("ec-client", await esResp.Content.ReadAsStringAsync());

        using var otherRsa = RSA.Create(2048);
        var forged = Token(new SigningCredentials(new RsaSecurityKey(otherRsa), SecurityAlgorithms.RsaSha256), Claims("rsa-client", "qc.read"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(svc, HttpMethod.Get, "/test/read", forged)).StatusCode);
    }

    public static TheoryData<string> BadTokens => ["expired", "not-yet-valid", "wrong-issuer", "wrong-audience", "wrong-secret", "unsigned", "garbage"];

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Invalid_tokens_get_401_with_a_Bearer_challenge(string kind)
    {
        await using var svc = await AuthTests.StartAsync(JwtArgs());
        var now = DateTime.UtcNow;
        var c = Claims("svc", "qc.read qc.store");
        string token = kind switch
        {
            // Beyond the default 60 s clock skew.
            "expired" => Token(Hs256(), c, notBefore: now.AddHours(-2), expires: now.AddMinutes(-5)),
            "not-yet-valid" => Token(Hs256(), c, notBefore: now.AddMinutes(5), expires: now.AddMinutes(30)),
            "wrong-issuer" => Token(Hs256(), c, issuer: "https://evil.example.org"),
            "wrong-audience" => Token(Hs256(), c, audience: "some-other-api"),
            "wrong-secret" => Token(Hs256(RandomNumberGenerator.GetBytes(32)), c),
            "unsigned" => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor { Issuer = Issuer, Audience = Audience, Claims = c, Expires = now.AddMinutes(5) }),
            _ => "not.a.jwt",
        };
        using var resp = await SendAsync(svc, HttpMethod.Get, "/test/read", token);
        Assert.Equal(HttpStatusCode.Unauthorized, resp.StatusCode);
        var bearer = Assert.Single(resp.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Contains("invalid_token", bearer.Parameter, StringComparison.Ordinal);
        Assert.Contains(resp.Headers.WwwAuthenticate, h => h.Scheme == "ApiKey");
    }

    [Fact]
    public async Task Api_keys_and_JWTs_work_side_by_side_and_a_missing_credential_lists_both_methods()
    {
        await using var svc = await AuthTests.StartAsync([.. JwtArgs(), .. AuthTests.KeyArgs]);
        using var http = svc.CreateHttpClient();
        using var none = await http.GetAsync(new Uri("/api/whoami", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(new[] { "ApiKey", "Bearer" }, none.Headers.WwwAuthenticate.Select(h => h.Scheme).Order(StringComparer.Ordinal));

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(svc, HttpMethod.Get, "/test/read", Token(Hs256(), Claims("a", "qc.read")))).StatusCode);
        using var req = AuthTests.Request(HttpMethod.Get, "/test/read", "read-key-0123456789abcdef", xApiKey: true);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(req)).StatusCode);
    }

    [Fact]
    public async Task A_private_key_file_is_refused_as_a_public_key()
    {
        string path = Path.Combine(_dir, "private.pem");
        File.WriteAllText(path, _rsa.ExportPkcs8PrivateKeyPem());
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => AuthTests.StartAsync(
            $"--Http:Auth:Jwt:Issuer={Issuer}", $"--Http:Auth:Jwt:Audience={Audience}", $"--Http:Auth:Jwt:PublicKeyFiles:0={path}"));
        Assert.Contains("Http:Auth:Jwt:PublicKeyFiles:0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("private key", ex.Message, StringComparison.Ordinal);
    }
}
