using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Cli.Tests.Network;

public class EchoCommandTests
{
    [Fact]
    public void Echo_to_storescp_succeeds()
    {
        using var folder = new CliRunner.TempDir();
        using var scp = new Storescp(folder.Path);

        var r = CliRunner.Run("echo", "127.0.0.1", Peers.Port(scp.Port), "--aec", "QCPIPE", "--aet", "QCSCU");

        Assert.True(r.ExitCode == 0, r.Error + scp.Log);
        Assert.Matches(new Regex($@"^echo 127\.0\.0\.1:{scp.Port} QCPIPE: success \(0x0000\) in \d+ ms\r?\n$"), r.Out);
        Assert.Equal("", r.Error);
    }

    [Fact]
    public async Task A_wrong_called_AE_title_is_rejected_with_the_reason()
    {
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" }, new MemoryStoreHandler());

        var r = await Task.Run(() => CliRunner.Run("echo", "127.0.0.1", Peers.Port(server.Port), "--aec", "NOT-QCPIPE"));

        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Out);
        Assert.Equal("qc: association rejected: called AE title not recognized (permanent, source service user, reason 7)", r.Error.Trim());
    }

    [Fact]
    public void A_refused_connection_is_exit_1_with_one_line()
    {
        int port = Peers.FreePort();
        var r = CliRunner.Run("echo", "127.0.0.1", Peers.Port(port));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"qc: cannot connect to 127.0.0.1:{port}: connection refused", r.Error.Trim());
    }

    [Fact]
    public async Task User_identity_is_sent_as_name_and_passcode()
    {
        var policy = new DeviceAllowListPolicy([], [DicomUser.FromPlain("physicist", "s3cret")], requireUserIdentity: true);
        await using var server = new TestServer(new DicomServerOptions { Policy = policy });
        string port = Peers.Port(server.Port);

        var ok = await Task.Run(() => CliRunner.Run("echo", "127.0.0.1", port, "--user", "physicist", "--password", "s3cret"));
        var none = await Task.Run(() => CliRunner.Run("echo", "127.0.0.1", port));
        var wrong = await Task.Run(() => CliRunner.Run("echo", "127.0.0.1", port, "--user", "physicist", "--password", "guess"));

        Assert.True(ok.ExitCode == 0, ok.Error);
        Assert.Equal(1, none.ExitCode);
        Assert.StartsWith("qc: association rejected: ", none.Error, StringComparison.Ordinal);
        Assert.Equal(1, wrong.ExitCode);
        Assert.StartsWith("qc: association rejected: ", wrong.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_verifies_the_peer_against_the_given_CA_and_presents_a_client_certificate()
    {
        using var dir = new CliRunner.TempDir();
        using var pki = TestPki.Create();
        await File.WriteAllTextAsync(dir.File("ca.pem"), pki.Ca.ExportCertificatePem());
        await File.WriteAllTextAsync(dir.File("client.pem"), pki.Client.ExportCertificatePem());
        await File.WriteAllTextAsync(dir.File("client.key"), pki.Client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var tls = new SslServerAuthenticationOptions
        {
            ServerCertificate = pki.Server,
            ClientCertificateRequired = true,
            // The acceptor's own policy: a client certificate issued by our CA.
            RemoteCertificateValidationCallback = (_, cert, _, _) => cert is X509Certificate2 c && c.Issuer == pki.Ca.Subject,
        };
        await using var server = new TestServer(new DicomServerOptions { Tls = tls });
        string port = Peers.Port(server.Port);
        string[] client = ["--tls-cert", dir.File("client.pem"), "--tls-key", dir.File("client.key")];

        var trusted = await Task.Run(() => CliRunner.Run(["echo", "127.0.0.1", port, "--tls-ca", dir.File("ca.pem"), .. client]));
        var systemTrust = await Task.Run(() => CliRunner.Run(["echo", "127.0.0.1", port, "--tls", .. client]));
        var insecure = await Task.Run(() => CliRunner.Run(["echo", "127.0.0.1", port, "--tls-insecure", .. client]));
        var noClientCert = await Task.Run(() => CliRunner.Run("echo", "127.0.0.1", port, "--tls-ca", dir.File("ca.pem")));
        var plain = await Task.Run(() => CliRunner.Run("echo", "127.0.0.1", port, "--timeout", "3"));

        Assert.True(trusted.ExitCode == 0, trusted.Error);
        Assert.StartsWith($"echo 127.0.0.1:{port} QCPIPE: success", trusted.Out, StringComparison.Ordinal);
        Assert.Equal(1, systemTrust.ExitCode);
        Assert.StartsWith($"qc: TLS handshake with 127.0.0.1:{port} failed", systemTrust.Error, StringComparison.Ordinal);
        Assert.True(insecure.ExitCode == 0, insecure.Error);
        Assert.Equal(1, noClientCert.ExitCode);
        Assert.StartsWith("qc: ", noClientCert.Error, StringComparison.Ordinal);
        Assert.Equal(1, plain.ExitCode);
        Assert.StartsWith("qc: ", plain.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", plain.Error + noClientCert.Error + systemTrust.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreadable_CA_file_is_a_usage_error()
    {
        using var dir = new CliRunner.TempDir();
        File.WriteAllText(dir.File("ca.pem"), "not a certificate");
        var r = CliRunner.Run("echo", "127.0.0.1", "104", "--tls-ca", dir.File("ca.pem"));
        Assert.Equal(3, r.ExitCode);
        Assert.StartsWith($"qc: {dir.File("ca.pem")}: not a usable PEM file", r.Error, StringComparison.Ordinal);
    }

    /// <summary>A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made in memory.</summary>
    private sealed class TestPki : IDisposable
    {
        public required X509Certificate2 Ca { get; init; }
        public required X509Certificate2 Server { get; init; }
        public required X509Certificate2 Client { get; init; }

        public static TestPki Create()
        {
            using var caKey = RSA.Create(2048);
            var caRequest = new CertificateRequest("CN=QcPipeline Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            var now = DateTimeOffset.UtcNow;
            var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
            return new TestPki
            {
                Ca = ca,
                Server = Issue(ca, "CN=127.0.0.1", server: true, now),
                Client = Issue(ca, "CN=QCSCU", server: false, now),
            };
        }

        private static X509Certificate2 Issue(X509Certificate2 ca, string subject, bool server, DateTimeOffset now)
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            if (server)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                san.AddDnsName("localhost");
                request.CertificateExtensions.Add(san.Build());
            }
            using var issued = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(8));
            using var withKey = issued.CopyWithPrivateKey(key);
            // A round trip through PKCS#12 gives a certificate whose key SslStream can use on every platform.
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
        }

        public void Dispose()
        {
            Ca.Dispose();
            Server.Dispose();
            Client.Dispose();
        }
    }
}
