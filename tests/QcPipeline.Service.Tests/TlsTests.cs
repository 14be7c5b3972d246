using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace QcPipeline.Service.Tests;

public sealed class TlsTests
{
    [Fact]
    public async Task Tls_with_a_PEM_certificate_accepts_echoscu_over_TLS_and_refuses_plain_TCP()
    {
        var dir = Support.NewTempDir("qctls");
        try
        {
            using var rsa = RSA.Create(2048);
            var req = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var certPath = Path.Combine(dir, "cert.pem");
            var keyPath = Path.Combine(dir, "key.pem");
            await File.WriteAllTextAsync(certPath, cert.ExportCertificatePem());
            await File.WriteAllTextAsync(keyPath, rsa.ExportPkcs8PrivateKeyPem());

            await using var svc = await InProcessService.StartAsync(null, "--Dicom:Tls:Enabled=true", $"--Dicom:Tls:CertificatePath={certPath}", $"--Dicom:Tls:KeyPath={keyPath}");
            var port = svc.DicomPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
            // Anonymous TLS on the client side; the server certificate is verified against the file.
            var tls = await Support.RunAsync("echoscu", ["+tla", "+cf", certPath, "-aec", "QCPIPE", "localhost", port]);
            Assert.True(tls.ExitCode == 0, tls.All);
            var plain = await Support.EchoScuAsync(svc.DicomPort);
            Assert.NotEqual(0, plain.ExitCode);
            await Task.Delay(200);
            Assert.Equal(1, svc.Metrics.AssociationsTotal.WithLabels("failed").Value);
            Assert.Equal(1, svc.Metrics.AssociationsTotal.WithLabels("released").Value);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }
}
