namespace QcPipeline.Service.Auth;

/// <summary><c>GET /api/whoami</c>: who the server thinks the caller is. Lets operators check a key or token without
/// touching DICOM data.</summary>
public static class AuthEndpoints
{
    public sealed record WhoAmI(string? Name, IReadOnlyList<string> Scopes, string Method);

    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/whoami", (HttpContext ctx) =>
        {
            var user = ctx.User;
            string? method = user.FindFirst(QcClaimTypes.Method)?.Value;
            // Anonymous (auth optional on loopback): every scope, since every policy lets anonymous requests through.
            return method is null
                ? new WhoAmI(null, QcScopes.All, "anonymous")
                : new WhoAmI(user.Identity?.Name, QcClaimTypes.Scopes(user), method);
        }).RequireAuthorization(QcAuthPolicies.Authenticated).WithTags("Auth").WithName("WhoAmI").WithSummary("Who the server thinks the caller is");
        return app;
    }
}
