using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>A throwaway PKI made in the test: a self-signed CA, a server certificate for 127.0.0.1 and a client
/// certificate, written as PEM files for DCMTK.</summary>
public sealed class TestPki : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("qc-tls-").FullName;
    public X509Certificate2 Ca { get; }
    public X509Certificate2 Server { get; }
    public X509Certificate2 Client { get; }
    public string CaPem => Path.Combine(Directory, "ca.pem");
    public string ClientCertPem => Path.Combine(Directory, "client.pem");
    public string ClientKeyPem => Path.Combine(Directory, "client.key");
    public string ServerCertPem => Path.Combine(Directory, "server.pem");
    public string ServerKeyPem => Path.Combine(Directory, "server.key");

    public TestPki()
    {
        using var caKey = RSA.Create(2048);
        var caRq = new CertificateRequest("CN=QcPipeline test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRq.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRq.PublicKey, false));
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        Ca = caRq.CreateSelfSigned(now, now.AddDays(2));

        Server = Issue("CN=127.0.0.1", serverAuth: true, now);
        Client = Issue("CN=QCTEST", serverAuth: false, now);
        File.WriteAllText(CaPem, Ca.ExportCertificatePem());
        File.WriteAllText(ClientCertPem, Client.ExportCertificatePem());
        using (var key = Client.GetRSAPrivateKey()!) File.WriteAllText(ClientKeyPem, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(ServerCertPem, Server.ExportCertificatePem());
        using (var key = Server.GetRSAPrivateKey()!) File.WriteAllText(ServerKeyPem, key.ExportPkcs8PrivateKeyPem());
    }

    private X509Certificate2 Issue(string subject, bool serverAuth, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var rq = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        rq.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        rq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        rq.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [serverAuth ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            rq.CertificateExtensions.Add(san.Build());
        }
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using var issued = rq.Create(Ca, now, now.AddDays(1), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        // Through PKCS#12 so the private key is usable by the platform TLS stack.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>Chain validation against our CA only (no system roots, no revocation: the CA is ours and offline).</summary>
    public bool Validate(X509Certificate? certificate)
    {
        if (certificate is null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
        Client.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

/// <summary>DICOM over TLS (PS3.15 Annex B.1 / BCP 195) between <see cref="DicomServer"/> and DCMTK's storescu and
/// echoscu, with mutual authentication.</summary>
public sealed class TlsPeerTests(TestPki pki, ITestOutputHelper output) : IClassFixture<TestPki>
{
    private DicomServerOptions Options(bool requireClientCertificate) => new()
    {
        AeTitle = "QCPIPE",
        Tls = new SslServerAuthenticationOptions
        {
            ServerCertificate = pki.Server,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = requireClientCertificate,
            RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                cert is null ? !requireClientCertificate : pki.Validate(cert),
        },
        TlsHandshakeTimeout = TimeSpan.FromSeconds(5),
    };

    private string[] ClientTls => ["+tls", pki.ClientKeyPem, pki.ClientCertPem, "+cf", pki.CaPem];

    [Fact]
    public async Task Storescu_and_echoscu_with_mutual_TLS_succeed()
    {
        var handler = new FileStoreHandler(Path.Combine(pki.Directory, "store-" + Guid.NewGuid().ToString("N")));
        await using var server = new TestServer(Options(requireClientCertificate: true), handler);

        var store = await PeerTool.RunAsync("storescu", [.. ClientTls, "-xr", "-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", server.PortText, PeerInputs.PhantomCt(1)]);
        output.WriteLine(store.ToString());
        Assert.True(store.ExitCode == 0, store.ToString());
        var echo = await PeerTool.RunAsync("echoscu", [.. ClientTls, "-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", server.PortText]);
        output.WriteLine(echo.ToString());
        Assert.True(echo.ExitCode == 0, echo.ToString());

        var (request, path) = Assert.Single(handler.Stored);
        Assert.True(request.Association.Tls);
        await DcmdumpCompare.AssertSameDataset(PeerInputs.PhantomCt(1), path);

        var summaries = await server.WaitForSummaries(2);
        Assert.All(summaries, s => { Assert.Equal(AssociationOutcome.Released, s.Outcome); Assert.True(s.Tls); });

        // Our requestor over TLS, with its client certificate.
        PresentationContextRequest[] pcs = [new(1, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian])];
        await using var client = await DicomClient.ConnectAsync("127.0.0.1", server.Port, pcs, new DicomClientOptions
        {
            CalledAeTitle = "QCPIPE",
            Tls = new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                ClientCertificates = [pki.Client],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, cert, _, _) => pki.Validate(cert),
            },
        }, server.Token);
        Assert.True((await client.EchoAsync(1, server.Token)).IsSuccess);
        await client.ReleaseAsync(server.Token);
    }

    [Fact]
    public async Task A_missing_client_certificate_fails_the_handshake_and_the_server_keeps_running()
    {
        var handler = new FileStoreHandler(Path.Combine(pki.Directory, "store-" + Guid.NewGuid().ToString("N")));
        await using var server = new TestServer(Options(requireClientCertificate: true), handler);

        // Anonymous TLS: storescu verifies our certificate but has none to offer.
        var store = await PeerTool.RunAsync("storescu", ["+tla", "+cf", pki.CaPem, "-xr", "-aec", "QCPIPE", "127.0.0.1", server.PortText, PeerInputs.PhantomCt(1)]);
        output.WriteLine(store.ToString());
        Assert.NotEqual(0, store.ExitCode);
        var first = Assert.Single(await server.WaitForSummaries(1));
        Assert.Equal(AssociationOutcome.Failed, first.Outcome);
        Assert.StartsWith("TLS handshake failed", first.Problem);
        Assert.Empty(handler.FinalFiles());

        // Plain TCP to the TLS port: the A-ASSOCIATE-RQ is no TLS ClientHello.
        var plain = await PeerTool.RunAsync("echoscu", ["-to", "5", "-aec", "QCPIPE", "127.0.0.1", server.PortText]);
        output.WriteLine(plain.ToString());
        Assert.NotEqual(0, plain.ExitCode);
        var second = (await server.WaitForSummaries(2))[1];
        Assert.Equal(AssociationOutcome.Failed, second.Outcome);

        // A client whose certificate our CA did not issue (self-signed).
        using var strangerKey = RSA.Create(2048);
        var strangerRq = new CertificateRequest("CN=stranger", strangerKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var stranger = strangerRq.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var strangerPem = Path.Combine(pki.Directory, "stranger.pem");
        var strangerKeyPem = Path.Combine(pki.Directory, "stranger.key");
        File.WriteAllText(strangerPem, stranger.ExportCertificatePem());
        File.WriteAllText(strangerKeyPem, strangerKey.ExportPkcs8PrivateKeyPem());
        var foreign = await PeerTool.RunAsync("echoscu", ["+tls", strangerKeyPem, strangerPem, "+cf", pki.CaPem, "-aec", "QCPIPE", "127.0.0.1", server.PortText]);
        output.WriteLine(foreign.ToString());
        Assert.NotEqual(0, foreign.ExitCode);
        Assert.Equal(AssociationOutcome.Failed, (await server.WaitForSummaries(3))[2].Outcome);

        // Still serving.
        var echo = await PeerTool.RunAsync("echoscu", [.. ClientTls, "-aec", "QCPIPE", "127.0.0.1", server.PortText]);
        Assert.True(echo.ExitCode == 0, echo.ToString());
        Assert.Equal(AssociationOutcome.Released, (await server.WaitForSummaries(4))[3].Outcome);
    }

    /// <summary>OpenSSL's s_client as an independent TLS peer: TLS 1.2 and 1.3 handshakes succeed, TLS 1.1 is refused.</summary>
    [Theory]
    [InlineData("-tls1_3", "TLSv1.3", true)]
    [InlineData("-tls1_2", "TLSv1.2", true)]
    [InlineData("-tls1_1", "TLSv1.1", false)]
    public async Task Only_TLS_1_2_and_1_3_are_negotiated(string option, string protocol, bool succeeds)
    {
        if (!PeerTool.Exists("openssl")) Assert.Fail("openssl is not installed");
        await using var server = new TestServer(Options(requireClientCertificate: true));
        // SECLEVEL=0 so the client would offer TLS 1.1: the refusal must come from our server.
        string[] args = ["s_client", "-connect", $"127.0.0.1:{server.PortText}", option, "-CAfile", pki.CaPem,
            "-cert", pki.ClientCertPem, "-key", pki.ClientKeyPem, "-verify_return_error", "-brief", .. succeeds ? Array.Empty<string>() : ["-cipher", "DEFAULT@SECLEVEL=0"]];
        var r = await PeerTool.RunAsync("openssl", args, TimeSpan.FromSeconds(20));
        output.WriteLine(r.ToString());
        if (succeeds)
        {
            Assert.Equal(0, r.ExitCode);
            Assert.Contains($"Protocol version: {protocol}", r.Text, StringComparison.Ordinal);
            Assert.Contains("Verification: OK", r.Text, StringComparison.Ordinal);
        }
        else
        {
            Assert.NotEqual(0, r.ExitCode);
            Assert.DoesNotContain("Protocol version", r.Text, StringComparison.Ordinal);
        }
        // s_client sends no A-ASSOCIATE-RQ: a TLS session without one ends by ARTIM or close, never as Released.
        var summary = Assert.Single(await server.WaitForSummaries(1));
        Assert.NotEqual(AssociationOutcome.Released, summary.Outcome);
        if (!succeeds) Assert.Equal(AssociationOutcome.Failed, summary.Outcome);
    }

    /// <summary>Our requestor as a TLS client of DCMTK's storescp (which requires a client certificate by default).</summary>
    [Fact]
    public async Task Our_client_stores_over_mutual_TLS_into_storescp()
    {
        await using var scp = await DcmtkStoreScp.StartAsync(Path.Combine(pki.Directory, "scp-" + Guid.NewGuid().ToString("N")),
            ["+tls", pki.ServerKeyPem, pki.ServerCertPem, "+cf", pki.CaPem], ClientTls);
        var body = PeerInputs.DatasetBytes(PeerInputs.PhantomCt(1), out var sopClass, out var sop, out var ts);
        PresentationContextRequest[] pcs = [new(1, sopClass, [ts])];
        var tls = new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            ClientCertificates = [pki.Client],
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, cert, _, _) => pki.Validate(cert),
        };
        await using (var client = await DicomClient.ConnectAsync("127.0.0.1", scp.Port, pcs, new DicomClientOptions { CalledAeTitle = "STORESCP", Tls = tls }))
        {
            var rsp = await client.StoreAsync(1, sopClass, sop, new MemoryStream(body));
            Assert.True(rsp.IsSuccess, $"0x{rsp.Status:X4}");
            await client.ReleaseAsync();
        }
        var stored = Assert.Single(scp.Files());
        Assert.True(body.AsSpan().SequenceEqual(PeerInputs.DatasetBytes(stored, out _, out _, out _)));

        // Without a client certificate storescp refuses the handshake.
        await Assert.ThrowsAnyAsync<Exception>(() => DicomClient.ConnectAsync("127.0.0.1", scp.Port, pcs,
            new DicomClientOptions { CalledAeTitle = "STORESCP", Tls = new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, cert, _, _) => pki.Validate(cert),
            }, ArtimTimeout = TimeSpan.FromSeconds(5) }));
    }
}
