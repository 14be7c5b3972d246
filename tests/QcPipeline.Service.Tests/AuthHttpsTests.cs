using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Service.Auth;

namespace QcPipeline.Service.Tests;

/// <summary>HTTPS on the HTTP API with a configured certificate (PEM pair or PKCS#12), checked by a client that pins it.</summary>
public sealed class AuthHttpsTests : IDisposable
{
    private readonly string _dir = Support.NewTempDir("qchttps");
    private readonly X509Certificate2 _cert;

    public AuthHttpsTests()
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest("CN=qcpipeline-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        _cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    public void Dispose()
    {
        _cert.Dispose();
        Support.TryDeleteDir(_dir);
    }

    private HttpClient PinnedClient(Uri baseAddress, bool pin = true)
    {
        var handler = new HttpClientHandler();
        if (pin)
        {
            handler.ServerCertificateCustomValidationCallback = (_, presented, _, _) =>
                presented is not null && presented.RawData.AsSpan().SequenceEqual(_cert.RawData);
        }
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    [Fact]
    public async Task Https_serves_the_configured_PEM_certificate_and_carries_authentication()
    {
        string certPath = Path.Combine(_dir, "server.crt"), keyPath = Path.Combine(_dir, "server.key");
        File.WriteAllText(certPath, _cert.ExportCertificatePem());
        File.WriteAllText(keyPath, _cert.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());

        await using var svc = await AuthTests.StartAsync([.. AuthTests.KeyArgs, "--Http:Auth:Mode=Required",
            "--Http:Urls=https://127.0.0.1:0", $"--Http:Https:CertificatePath={certPath}", $"--Http:Https:KeyPath={keyPath}"]);
        Assert.Equal("https", svc.HttpBase.Scheme);

        using var http = PinnedClient(svc.HttpBase);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/api/whoami", UriKind.Relative))).StatusCode);
        using var req = AuthTests.Request(HttpMethod.Get, "/api/whoami", "read-key-0123456789abcdef");
        using var resp = await http.SendAsync(req);
        Assert.Equal("dashboard", (await resp.Content.ReadFromJsonAsync<AuthEndpoints.WhoAmI>())!.Name);

        // A client that does not trust the self-signed certificate fails the handshake: TLS is really on, with our certificate.
        using var untrusting = PinnedClient(svc.HttpBase, pin: false);
        await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync(new Uri("/health/live", UriKind.Relative)));
    }

    [Fact]
    public async Task Https_accepts_a_PKCS12_file_with_its_password_next_to_plain_http()
    {
        string pfx = Path.Combine(_dir, "server.pfx");
        File.WriteAllBytes(pfx, _cert.Export(X509ContentType.Pkcs12, "s3cret"));

        await using var svc = await AuthTests.StartAsync("--Http:Urls=https://127.0.0.1:0;http://127.0.0.1:0",
            $"--Http:Https:CertificatePath={pfx}", "--Http:Https:Password=s3cret");
        var addresses = svc.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
        var https = new Uri(addresses.Single(a => a.StartsWith("https://", StringComparison.Ordinal)));
        var plain = new Uri(addresses.Single(a => a.StartsWith("http://", StringComparison.Ordinal)));

        using var secure = PinnedClient(https);
        Assert.Equal(HttpStatusCode.OK, (await secure.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
        using var http = new HttpClient { BaseAddress = plain };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_wrong_PKCS12_password_stops_start_up_with_a_message_naming_the_key()
    {
        string pfx = Path.Combine(_dir, "server.pfx");
        File.WriteAllBytes(pfx, _cert.Export(X509ContentType.Pkcs12, "s3cret"));
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => AuthTests.StartAsync(
            "--Http:Urls=https://127.0.0.1:0", $"--Http:Https:CertificatePath={pfx}", "--Http:Https:Password=wrong"));
        Assert.Contains("Http:Https: cannot load the certificate", ex.Message, StringComparison.Ordinal);
    }
}
