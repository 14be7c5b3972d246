using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Auth;

/// <summary>Kestrel: request body limit and the certificate for <c>https://</c> URLs (TLS 1.2 and 1.3 only).</summary>
internal static class HttpsSetup
{
    public static X509Certificate2 LoadCertificate(HttpsOptions h)
    {
        string path = h.CertificatePath!;
        if (path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase))
            return X509CertificateLoader.LoadPkcs12FromFile(path, h.Password);
        using var pem = X509Certificate2.CreateFromPemFile(path, string.IsNullOrEmpty(h.KeyPath) ? null : h.KeyPath);
        // A key imported from PEM is ephemeral; SslStream on Windows cannot use it, a PKCS#12 round trip makes it usable everywhere.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    public static IServiceCollection AddQcKestrel(this IServiceCollection services)
    {
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<HttpOptions>>((k, http) =>
        {
            var o = http.Value;
            k.Limits.MaxRequestBodySize = o.MaxRequestBodyBytes == 0 ? null : o.MaxRequestBodyBytes;
            if (!string.IsNullOrEmpty(o.Https.CertificatePath))
            {
                var cert = LoadCertificate(o.Https);
                k.ConfigureHttpsDefaults(s =>
                {
                    s.ServerCertificate = cert;
                    s.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                });
            }
        });
        return services;
    }
}
