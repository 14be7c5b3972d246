using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Service.Ingest;

/// <summary>Turns <see cref="DicomOptions"/> into the toolkit's <see cref="DicomServerOptions"/>: association policy and TLS.</summary>
internal static class DicomServerConfiguration
{
    public static DicomServerOptions Build(DicomOptions o) => new()
    {
        AeTitle = o.AeTitle.Trim(' '),
        MaxPduLength = (uint)o.MaxPduLength,
        ArtimTimeout = TimeSpan.FromSeconds(o.ArtimTimeoutSeconds),
        IdleTimeout = o.IdleTimeoutSeconds == 0 ? null : TimeSpan.FromSeconds(o.IdleTimeoutSeconds),
        MaxAssociations = o.MaxAssociations,
        MaxOperationsPerformed = (ushort)o.MaxOperationsPerformed,
        TransferSyntaxes = o.EffectiveTransferSyntaxes,
        Policy = new DeviceAllowListPolicy(
            [.. o.AllowedDevices.Select(d => new AllowedDevice(d.AeTitle.Trim(' '), [.. d.Hosts.Select(IPAddress.Parse)]))],
            [.. o.Users.Select(u => new DicomUser(u.Name, u.PasscodeSha256))],
            o.RequireUserIdentity),
        Tls = o.Tls.Enabled ? BuildTls(o.Tls) : null,
    };

    /// <summary>PS3.15 Annex B.1 (BCP 195 profile): TLS 1.2 or 1.3 only; an optional client certificate checked against our own CA list.</summary>
    public static SslServerAuthenticationOptions BuildTls(DicomTlsOptions t)
    {
        var path = t.CertificatePath!;
        X509Certificate2 cert = path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase)
            ? X509CertificateLoader.LoadPkcs12FromFile(path, t.Password)
            : X509Certificate2.CreateFromPemFile(path, string.IsNullOrEmpty(t.KeyPath) ? null : t.KeyPath);
        X509Certificate2Collection? cas = null;
        if (!string.IsNullOrEmpty(t.ClientCaPath))
        {
            cas = [];
            cas.ImportFromPemFile(t.ClientCaPath);
        }
        bool require = t.RequireClientCertificate;
        return new SslServerAuthenticationOptions
        {
            ServerCertificate = cert,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = require || cas is not null,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null) return !require;
                if (cas is null) return errors == SslPolicyErrors.None;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(cas);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                using var c2 = new X509Certificate2(certificate);
                return chain.Build(c2);
            },
        };
    }
}
