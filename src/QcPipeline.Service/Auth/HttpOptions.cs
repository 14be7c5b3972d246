using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Auth;

/// <summary>The HTTP API (configuration section <c>Http</c>): listen URLs, request size limit, HTTPS and authentication.
/// Lists default to empty because the configuration binder appends to a non-empty default instead of replacing it.</summary>
public sealed record HttpOptions
{
    public const string Section = "Http";

    /// <summary>Listen URLs, <c>;</c>-separated (see <see cref="HttpBindings.Resolve"/> for the fallbacks).</summary>
    public string? Urls { get; init; }

    /// <summary>Largest request body Kestrel accepts, in bytes; <c>0</c> = no limit. 4 GiB by default: a STOW-RS request
    /// carries a whole study (a CT study is hundreds of MB, a breast tomosynthesis series a few GB) and is streamed to disk,
    /// never held in memory, so the limit bounds disk use by one request rather than memory.</summary>
    public long MaxRequestBodyBytes { get; init; } = DefaultMaxRequestBodyBytes;

    public const long DefaultMaxRequestBodyBytes = 4L * 1024 * 1024 * 1024;

    public HttpsOptions Https { get; init; } = new();
    public HttpAuthOptions Auth { get; init; } = new();
}

/// <summary>The server certificate for <c>https://</c> URLs: a PEM pair (<see cref="CertificatePath"/> +
/// <see cref="KeyPath"/>, or the key in the certificate file) or a PKCS#12 file (<c>.pfx</c>/<c>.p12</c>, with <see cref="Password"/>).</summary>
public sealed record HttpsOptions
{
    public string? CertificatePath { get; init; }
    public string? KeyPath { get; init; }
    public string? Password { get; init; }
}

public enum HttpAuthMode
{
    /// <summary>Authentication is required unless every HTTP binding is a loopback address.</summary>
    Auto,
    /// <summary>Authentication is required on every binding, loopback included.</summary>
    Required,
}

/// <summary>Authentication of the HTTP API (section <c>Http:Auth</c>). There is deliberately no "disabled" mode: off is
/// only possible on loopback, which <see cref="HttpAuthMode.Auto"/> already gives.</summary>
public sealed record HttpAuthOptions
{
    public HttpAuthMode Mode { get; init; } = HttpAuthMode.Auto;
    /// <summary>Require the read scope on <c>/metrics</c> (anonymous by default so Prometheus needs no secret).</summary>
    public bool ProtectMetrics { get; init; }
    public ApiKeyOptions[] ApiKeys { get; init; } = [];
    public JwtOptions Jwt { get; init; } = new();
}

/// <summary>An API key. Give <see cref="KeySha256"/> (SHA-256 of the key, hex) in production; <see cref="Key"/> (the key
/// itself) is for development.</summary>
public sealed record ApiKeyOptions
{
    public string Name { get; init; } = "";
    public string? KeySha256 { get; init; }
    public string? Key { get; init; }
    /// <summary><c>store</c> and/or <c>read</c>; empty = both.</summary>
    public string[] Scopes { get; init; } = [];
}

/// <summary>Bearer JWTs. Signature keys come from <see cref="SymmetricKeys"/> (HMAC secrets, base64), from
/// <see cref="PublicKeyFiles"/> (PEM RSA/EC public keys or certificates) and/or from the OIDC discovery document of
/// <see cref="Authority"/>.</summary>
public sealed record JwtOptions
{
    /// <summary>Required <c>iss</c>; may be omitted when <see cref="Authority"/> is set (then the discovery document's issuer).</summary>
    public string? Issuer { get; init; }
    /// <summary>Required <c>aud</c>.</summary>
    public string? Audience { get; init; }
    public string? Authority { get; init; }
    /// <summary>Fetch the discovery document only over https (keep true outside tests).</summary>
    public bool RequireHttpsMetadata { get; init; } = true;
    public string[] SymmetricKeys { get; init; } = [];
    public string[] PublicKeyFiles { get; init; } = [];
    /// <summary>Tolerance on <c>exp</c>/<c>nbf</c>.</summary>
    public int ClockSkewSeconds { get; init; } = 60;

    public bool IsConfigured => !string.IsNullOrEmpty(Issuer) || !string.IsNullOrEmpty(Audience) || !string.IsNullOrEmpty(Authority)
        || SymmetricKeys.Length > 0 || PublicKeyFiles.Length > 0;
}

/// <summary>Checks <see cref="HttpOptions"/> at start; every message names its configuration key. It also enforces the
/// project rule "the HTTP API needs authentication except on loopback".</summary>
internal sealed class HttpOptionsValidator(IConfiguration configuration) : IValidateOptions<HttpOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpOptions o)
    {
        var errors = new List<string>();
        const string s = HttpOptions.Section;
        var bindings = HttpBindings.All(configuration);
        if (o.MaxRequestBodyBytes < 0) errors.Add($"{s}:MaxRequestBodyBytes must be >= 0 (0 = no limit), not {o.MaxRequestBodyBytes}");

        // Only Http:Urls gets our certificate; a Kestrel:Endpoints entry brings its own (Kestrel:Endpoints:NAME:Certificate).
        ValidateHttps(o.Https, HttpBindings.Resolve(configuration).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), errors);
        ValidateApiKeys(o.Auth.ApiKeys, errors);
        if (o.Auth.Jwt.IsConfigured) ValidateJwt(o.Auth.Jwt, errors);

        bool required = HttpBindings.AuthRequired(o.Auth.Mode, bindings);
        bool anyCredentials = o.Auth.ApiKeys.Length > 0 || o.Auth.Jwt.IsConfigured;
        if (required && !anyCredentials)
        {
            errors.Add(o.Auth.Mode == HttpAuthMode.Required
                ? $"{s}:Auth:Mode is Required but neither {s}:Auth:ApiKeys nor {s}:Auth:Jwt is configured, so no client could use the HTTP API"
                : $"the HTTP API listens beyond loopback ({string.Join(", ", bindings.Where(b => !HttpBindings.IsLoopback(b)))}) and needs authentication there, "
                  + $"but neither {s}:Auth:ApiKeys nor {s}:Auth:Jwt is configured; configure one, or listen on loopback only (e.g. {s}:Urls=http://127.0.0.1:8080)");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateHttps(HttpsOptions h, IReadOnlyList<string> bindings, List<string> errors)
    {
        const string s = HttpOptions.Section + ":Https";
        bool httpsBound = bindings.Any(b => b.StartsWith("https://", StringComparison.OrdinalIgnoreCase));
        if (string.IsNullOrEmpty(h.CertificatePath))
        {
            if (httpsBound) errors.Add($"{s}:CertificatePath is required for the https:// URL(s) in {HttpOptions.Section}:Urls");
            return;
        }
        if (!File.Exists(h.CertificatePath)) { errors.Add($"{s}:CertificatePath '{h.CertificatePath}' does not exist"); return; }
        if (!string.IsNullOrEmpty(h.KeyPath) && !File.Exists(h.KeyPath)) { errors.Add($"{s}:KeyPath '{h.KeyPath}' does not exist"); return; }
        try
        {
            using var cert = HttpsSetup.LoadCertificate(h);
            if (!cert.HasPrivateKey) errors.Add($"{s}:CertificatePath '{h.CertificatePath}' has no private key (give {s}:KeyPath)");
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or IOException)
        {
            errors.Add($"{s}: cannot load the certificate '{h.CertificatePath}': {ex.Message}");
        }
    }

    private static void ValidateApiKeys(ApiKeyOptions[] keys, List<string> errors)
    {
        const string s = HttpOptions.Section + ":Auth:ApiKeys";
        var names = new HashSet<string>(StringComparer.Ordinal);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < keys.Length; i++)
        {
            var k = keys[i];
            if (string.IsNullOrWhiteSpace(k.Name)) errors.Add($"{s}:{i}:Name is empty");
            else if (!names.Add(k.Name)) errors.Add($"{s}:{i}:Name '{k.Name}' is used twice");
            bool hasHash = !string.IsNullOrEmpty(k.KeySha256), hasKey = !string.IsNullOrEmpty(k.Key);
            if (hasHash == hasKey) errors.Add($"{s}:{i}: give exactly one of KeySha256 (SHA-256 of the key, hex) or Key");
            else if (hasHash && !ApiKeyStore.IsSha256Hex(k.KeySha256!)) errors.Add($"{s}:{i}:KeySha256 must be 64 hex digits (printf %s KEY | sha256sum)");
            else if (hasKey && k.Key!.Length < ApiKeyStore.MinKeyLength) errors.Add($"{s}:{i}:Key must be at least {ApiKeyStore.MinKeyLength} characters");
            else if (!hashes.Add(hasHash ? k.KeySha256! : ApiKeyStore.HashHex(k.Key!))) errors.Add($"{s}:{i}: the same key is configured twice");
            for (int j = 0; j < k.Scopes.Length; j++)
                if (!QcScopes.IsKnown(k.Scopes[j])) errors.Add($"{s}:{i}:Scopes:{j} '{k.Scopes[j]}' is not a scope (store, read, manage)");
        }
    }

    private static void ValidateJwt(JwtOptions j, List<string> errors)
    {
        const string s = HttpOptions.Section + ":Auth:Jwt";
        bool hasAuthority = !string.IsNullOrEmpty(j.Authority);
        if (string.IsNullOrEmpty(j.Issuer) && !hasAuthority) errors.Add($"{s}:Issuer is required (or {s}:Authority, whose discovery document names the issuer)");
        if (string.IsNullOrEmpty(j.Audience)) errors.Add($"{s}:Audience is required");
        if (!hasAuthority && j.SymmetricKeys.Length == 0 && j.PublicKeyFiles.Length == 0)
            errors.Add($"{s}: no signature keys: give {s}:SymmetricKeys, {s}:PublicKeyFiles or {s}:Authority");
        if (hasAuthority)
        {
            if (!Uri.TryCreate(j.Authority, UriKind.Absolute, out var a) || (a.Scheme != Uri.UriSchemeHttps && a.Scheme != Uri.UriSchemeHttp))
                errors.Add($"{s}:Authority '{j.Authority}' is not an absolute http(s) URL");
            else if (a.Scheme == Uri.UriSchemeHttp && j.RequireHttpsMetadata)
                errors.Add($"{s}:Authority must be https:// (or set {s}:RequireHttpsMetadata=false, for tests only)");
        }
        if (j.ClockSkewSeconds is < 0 or > 3600) errors.Add($"{s}:ClockSkewSeconds must be 0-3600, not {j.ClockSkewSeconds}");
        for (int i = 0; i < j.SymmetricKeys.Length; i++)
        {
            // Never echo the secret in the message.
            if (!JwtKeys.TryDecodeSymmetric(j.SymmetricKeys[i], out var bytes)) errors.Add($"{s}:SymmetricKeys:{i} is not base64");
            else if (bytes.Length < 32) errors.Add($"{s}:SymmetricKeys:{i} is {bytes.Length} bytes; HMAC keys must be at least 32 bytes (256 bits)");
        }
        for (int i = 0; i < j.PublicKeyFiles.Length; i++)
        {
            var p = j.PublicKeyFiles[i];
            if (!File.Exists(p)) { errors.Add($"{s}:PublicKeyFiles:{i} '{p}' does not exist"); continue; }
            try { JwtKeys.LoadPublicKey(p); }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException or IOException)
            {
                errors.Add($"{s}:PublicKeyFiles:{i} '{p}' is not a PEM RSA/EC public key or certificate: {ex.Message}");
            }
        }
    }
}
