using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;

namespace QcPipeline.Service.Auth;

/// <summary>Bearer JWTs (RFC 6750, RFC 7519): signature, <c>iss</c>, <c>aud</c> and lifetime are checked; the principal gets
/// our name and scope claims (<see cref="QcClaimTypes"/>).</summary>
internal static class JwtSetup
{
    public const string Scheme = JwtBearerDefaults.AuthenticationScheme;
    public const string BearerPrefix = "Bearer ";

    public static void Configure(JwtBearerOptions b, JwtOptions o, ILogger log)
    {
        // Keep claim names as they are in the token (sub, scope, scp, roles), not mapped to WS-* URIs.
        b.MapInboundClaims = false;
        b.IncludeErrorDetails = true;
        b.RequireHttpsMetadata = o.RequireHttpsMetadata;
        if (!string.IsNullOrEmpty(o.Authority)) b.Authority = o.Authority;
        b.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = string.IsNullOrEmpty(o.Issuer) ? null : o.Issuer,
            ValidateAudience = true,
            ValidAudience = o.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            IssuerSigningKeys = JwtKeys.Load(o),
            ClockSkew = TimeSpan.FromSeconds(o.ClockSkewSeconds),
            NameClaimType = QcClaimTypes.Name,
        };
        b.Events = new JwtBearerEvents
        {
            OnTokenValidated = ctx =>
            {
                var principal = ctx.Principal!;
                string? name = First(principal, "sub", "name", "client_id", "azp");
                if (name is null)
                {
                    ctx.Fail("the token has no sub, name or client_id claim to identify the client");
                    return Task.CompletedTask;
                }
                var scopes = new HashSet<string>(StringComparer.Ordinal);
                foreach (var c in principal.Claims.Where(c => c.Type is "scope" or "scp" or "roles" or "role"))
                    foreach (var v in c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                        if (QcScopes.FromJwtValue(v) is { } s) scopes.Add(s);
                var claims = principal.Claims.ToList();
                claims.Add(new Claim(QcClaimTypes.Name, name));
                claims.Add(new Claim(QcClaimTypes.Method, "jwt"));
                claims.AddRange(scopes.Select(s => new Claim(QcClaimTypes.Scope, s)));
                ctx.Principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme, QcClaimTypes.Name, ClaimTypes.Role));
                return Task.CompletedTask;
            },
            OnAuthenticationFailed = ctx =>
            {
                // The exception message names the check that failed (expired, issuer, audience, signature); IdentityModel
                // hides token contents in it unless PII logging is switched on, which we never do.
                log.LogWarning("HTTP authentication failed from {RemoteAddress}: bearer token rejected: {Reason} ({Method} {Path})",
                    ctx.HttpContext.Connection.RemoteIpAddress, ctx.Exception.GetType().Name, ctx.Request.Method, ctx.Request.Path.Value);
                return Task.CompletedTask;
            },
            OnChallenge = ctx =>
            {
                // The API-key alternative, so a client learns both accepted methods from one 401.
                ctx.Response.Headers.Append(HeaderNames.WWWAuthenticate, $"{ApiKeyAuthenticationHandler.SchemeName} realm=\"{ApiKeyAuthenticationHandler.Realm}\"");
                return Task.CompletedTask;
            },
        };
    }

    private static string? First(ClaimsPrincipal p, params string[] types)
    {
        foreach (var t in types)
            if (p.FindFirst(t)?.Value is { Length: > 0 } v) return v;
        return null;
    }

    public static IServiceCollection AddQcJwt(this IServiceCollection services)
    {
        services.AddOptions<JwtBearerOptions>(Scheme).Configure<IOptions<HttpOptions>, ILoggerFactory>((b, http, lf) =>
            Configure(b, http.Value.Auth.Jwt, lf.CreateLogger("QcPipeline.Service.Auth")));
        return services;
    }
}
