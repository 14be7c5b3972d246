using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Auth;

/// <summary>Authorization policy names for the HTTP API. STOW-RS endpoints require <see cref="Store"/>; QIDO-RS and
/// WADO-RS require <see cref="Read"/>; <see cref="Authenticated"/> needs any client (no particular scope);
/// <see cref="Metrics"/> guards <c>/metrics</c> (the read scope when <c>Http:Auth:ProtectMetrics</c> is true, else nobody).
/// See README "HTTP authentication and HTTPS".</summary>
public static class QcAuthPolicies
{
    public const string Store = "qc-store";
    public const string Read = "qc-read";
    /// <summary>Device edits, re-analysis requests, test plans and scheduled scans (the <c>manage</c> scope).</summary>
    public const string Manage = "qc-manage";
    public const string Authenticated = "qc-authenticated";
    public const string Metrics = "qc-metrics";

    /// <summary>The default authentication scheme: forwards to the bearer (JWT) handler for <c>Authorization: Bearer</c>
    /// when JWTs are configured, else to the API key handler.</summary>
    public const string Scheme = "qc";

    /// <summary><c>Http</c> options (validated at start), Kestrel limits and HTTPS, API key and JWT authentication, and the policies.</summary>
    public static IServiceCollection AddQcAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HttpOptions>().Bind(configuration.GetSection(HttpOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HttpOptions>>(new HttpOptionsValidator(configuration));
        services.AddSingleton(sp => new QcAuthState(sp.GetRequiredService<IOptions<HttpOptions>>().Value, HttpBindings.All(configuration)));
        services.AddSingleton<ApiKeyStore>();
        services.AddQcKestrel();
        services.AddQcJwt();

        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "API key or bearer JWT", p => p.ForwardDefaultSelector = ctx =>
                ctx.Request.Headers.Authorization.ToString().StartsWith(JwtSetup.BearerPrefix, StringComparison.OrdinalIgnoreCase)
                && ctx.RequestServices.GetRequiredService<IOptions<HttpOptions>>().Value.Auth.Jwt.IsConfigured
                    ? JwtSetup.Scheme : ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddJwtBearer(JwtSetup.Scheme, _ => { });

        services.AddSingleton<IAuthorizationHandler, QcScopeHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(Store, p => p.AddRequirements(new QcScopeRequirement(QcScopes.Store)))
            .AddPolicy(Read, p => p.AddRequirements(new QcScopeRequirement(QcScopes.Read)))
            .AddPolicy(Manage, p => p.AddRequirements(new QcScopeRequirement(QcScopes.Manage)))
            .AddPolicy(Authenticated, p => p.AddRequirements(new QcScopeRequirement(null)))
            .AddPolicy(Metrics, p => p.AddRequirements(new QcScopeRequirement(QcScopes.Read, OnlyWhenMetricsProtected: true)));
        return services;
    }

    /// <summary>Authentication then authorization, before any endpoint. Logs once at start whether authentication is required.</summary>
    public static WebApplication UseQcAuth(this WebApplication app)
    {
        // Resolved once started: the options are validated at start (exit code 2), not while the app is being built.
        app.Lifetime.ApplicationStarted.Register(() => LogState(app));
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    private static void LogState(WebApplication app)
    {
        var state = app.Services.GetRequiredService<QcAuthState>();
        app.Logger.LogInformation(
            "HTTP authentication {Requirement} ({Mode}; {KeyCount} API key(s), JWT {Jwt}; /metrics {Metrics})",
            state.Required ? "required" : "optional (loopback only)", state.Mode, state.ApiKeyCount,
            state.JwtConfigured ? "configured" : "not configured", state.ProtectMetrics ? "needs the read scope" : "anonymous");
    }
}

/// <summary>Whether authentication is required, decided once from the options and the bindings.</summary>
public sealed class QcAuthState(HttpOptions options, IReadOnlyList<string> bindings)
{
    public bool Required { get; } = HttpBindings.AuthRequired(options.Auth.Mode, bindings);
    public HttpAuthMode Mode { get; } = options.Auth.Mode;
    public bool ProtectMetrics { get; } = options.Auth.ProtectMetrics;
    public int ApiKeyCount { get; } = options.Auth.ApiKeys.Length;
    public bool JwtConfigured { get; } = options.Auth.Jwt.IsConfigured;
}

/// <summary>A client with <see cref="Scope"/> (null: any authenticated client). When authentication is optional
/// (loopback only), an anonymous request passes, but one that sent credentials must have valid ones with the scope.</summary>
internal sealed record QcScopeRequirement(string? Scope, bool OnlyWhenMetricsProtected = false) : IAuthorizationRequirement;

internal sealed class QcScopeHandler(QcAuthState state, ILoggerFactory loggerFactory) : AuthorizationHandler<QcScopeRequirement>
{
    private readonly ILogger _log = loggerFactory.CreateLogger("QcPipeline.Service.Auth");

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, QcScopeRequirement requirement)
    {
        if (requirement.OnlyWhenMetricsProtected && !state.ProtectMetrics)
        {
            context.Succeed(requirement);
            return Task.CompletedTask;
        }
        var user = context.User;
        bool authenticated = user.Identities.Any(i => i.IsAuthenticated && i.HasClaim(c => c.Type == QcClaimTypes.Method));
        if (!authenticated)
        {
            // Not authenticated: fails (401 and a challenge) when required, or when credentials were sent and rejected.
            var http = context.Resource as HttpContext;
            bool sentCredentials = http is not null && (http.Request.Headers.Authorization.Count > 0 || http.Request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName));
            if (!state.Required && !sentCredentials) context.Succeed(requirement);
            return Task.CompletedTask;
        }
        if (requirement.Scope is null || user.HasClaim(QcClaimTypes.Scope, requirement.Scope))
        {
            context.Succeed(requirement);
            return Task.CompletedTask;
        }
        var http2 = context.Resource as HttpContext;
        _log.LogWarning("HTTP request forbidden from {RemoteAddress}: client {Client} lacks the {Scope} scope ({Method} {Path})",
            http2?.Connection.RemoteIpAddress, user.Identity?.Name, requirement.Scope, http2?.Request.Method, http2?.Request.Path.Value);
        context.Fail(new AuthorizationFailureReason(this, $"the {requirement.Scope} scope is required"));
        return Task.CompletedTask;
    }
}
