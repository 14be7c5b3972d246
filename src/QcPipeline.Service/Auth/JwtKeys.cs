using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.Tokens;

namespace QcPipeline.Service.Auth;

/// <summary>Signature keys for JWT validation, from configuration.</summary>
internal static class JwtKeys
{
    public static bool TryDecodeSymmetric(string base64, out byte[] bytes)
    {
        bytes = [];
        var buffer = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64.Trim(), buffer, out int n)) return false;
        bytes = buffer[..n];
        return true;
    }

    /// <summary>A PEM public key (SubjectPublicKeyInfo "PUBLIC KEY", or "RSA PUBLIC KEY") of an RSA or EC key, or a PEM certificate.</summary>
    public static SecurityKey LoadPublicKey(string path)
    {
        string pem = File.ReadAllText(path);
        if (pem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            return new X509SecurityKey(X509Certificate2.CreateFromPem(pem));
        if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw new ArgumentException("the file holds a private key; give the public key only");
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return new RsaSecurityKey(rsa) { KeyId = Path.GetFileNameWithoutExtension(path) };
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            rsa.Dispose();
        }
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return new ECDsaSecurityKey(ec) { KeyId = Path.GetFileNameWithoutExtension(path) };
        }
        catch
        {
            ec.Dispose();
            throw;
        }
    }

    public static IReadOnlyList<SecurityKey> Load(JwtOptions o)
    {
        var keys = new List<SecurityKey>();
        foreach (var s in o.SymmetricKeys)
            if (TryDecodeSymmetric(s, out var bytes)) keys.Add(new SymmetricSecurityKey(bytes));
        foreach (var p in o.PublicKeyFiles) keys.Add(LoadPublicKey(p));
        return keys;
    }
}
