using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace QcPipeline.Service.Auth;

/// <summary>API keys: <c>Authorization: ApiKey KEY</c> or <c>X-Api-Key: KEY</c>. No credentials gives "no result" (the
/// authorization policy decides whether anonymous is enough); a wrong key, or an Authorization scheme we do not support,
/// fails. The key is never logged; failures are logged with the remote address.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiKeyStore keys, IOptions<HttpOptions> http)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    public const string Realm = "qcpipeline";

    private readonly ILogger _log = logger.CreateLogger("QcPipeline.Service.Auth");

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? key = null;
        string auth = Request.Headers.Authorization.ToString();
        if (auth.Length > 0)
        {
            if (!auth.StartsWith(SchemeName + " ", StringComparison.OrdinalIgnoreCase))
                return Task.FromResult(Reject(auth.StartsWith(JwtSetup.BearerPrefix, StringComparison.OrdinalIgnoreCase)
                    ? "bearer tokens are not configured on this server" : "unsupported Authorization scheme"));
            key = auth[(SchemeName.Length + 1)..].Trim();
        }
        else if (Request.Headers.TryGetValue(HeaderName, out var values))
        {
            key = values.ToString().Trim();
        }
        if (key is null) return Task.FromResult(AuthenticateResult.NoResult());
        if (key.Length == 0) return Task.FromResult(Reject("empty API key"));

        var entry = keys.Find(key);
        if (entry is null) return Task.FromResult(Reject("unknown API key"));

        var claims = new List<Claim> { new(QcClaimTypes.Name, entry.Name), new(QcClaimTypes.Method, "api-key") };
        claims.AddRange(entry.Scopes.Select(s => new Claim(QcClaimTypes.Scope, s)));
        var identity = new ClaimsIdentity(claims, SchemeName, QcClaimTypes.Name, ClaimTypes.Role);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    private AuthenticateResult Reject(string why)
    {
        _log.LogWarning("HTTP authentication failed from {RemoteAddress}: {Reason} ({Method} {Path})",
            Context.Connection.RemoteIpAddress, why, Request.Method, Request.Path.Value);
        return AuthenticateResult.Fail(why);
    }

    /// <summary>401 with one challenge per method the server accepts (RFC 9110 §11.6.1).</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        string apiKey = $"{SchemeName} realm=\"{Realm}\"";
        if (result.Failure is { } f) apiKey += $", error=\"invalid_key\", error_description=\"{f.Message}\"";
        Response.Headers.Append(HeaderNames.WWWAuthenticate, apiKey);
        if (http.Value.Auth.Jwt.IsConfigured) Response.Headers.Append(HeaderNames.WWWAuthenticate, $"Bearer realm=\"{Realm}\"");
    }
}
