using System.Security.Claims;

namespace QcPipeline.Service.Auth;

/// <summary>What a client may do. API keys list them as <c>store</c>/<c>read</c>/<c>manage</c>; JWTs carry them as
/// <c>qc.store</c>/<c>qc.read</c>/<c>qc.manage</c> in <c>scope</c>/<c>scp</c> or as roles, prefixed so that a token issued for
/// another API cannot grant them by accident.</summary>
public static class QcScopes
{
    public const string Store = "store";
    public const string Read = "read";
    /// <summary>Change what the QC judges by and re-run it: device edits (names, limits), re-analysis requests, test plans and scheduled phantom scans.</summary>
    public const string Manage = "manage";
    public const string JwtPrefix = "qc.";

    public static readonly IReadOnlyList<string> All = [Store, Read, Manage];

    /// <summary>What an API key without a scope list gets: sending and reading; <see cref="Manage"/> only when listed, since
    /// it changes the limits results are judged by.</summary>
    public static readonly IReadOnlyList<string> Defaults = [Store, Read];

    public static bool IsKnown(string scope) => scope is Store or Read or Manage;

    /// <summary>The scope named by a JWT scope or role value (<c>qc.store</c> → <c>store</c>), or null.</summary>
    public static string? FromJwtValue(string value) =>
        value.StartsWith(JwtPrefix, StringComparison.Ordinal) && IsKnown(value[JwtPrefix.Length..]) ? value[JwtPrefix.Length..] : null;
}

/// <summary>Claims our authentication handlers add to the principal.</summary>
public static class QcClaimTypes
{
    /// <summary>The client's name: the API key's configured name, or the JWT's <c>sub</c> (else <c>name</c>, <c>client_id</c>, <c>azp</c>).
    /// It is the identity's name claim, so <c>HttpContext.User.Identity.Name</c> returns it.</summary>
    public const string Name = "qc_name";
    public const string Scope = "qc_scope";
    /// <summary><c>api-key</c> or <c>jwt</c>.</summary>
    public const string Method = "qc_method";

    public static IReadOnlyList<string> Scopes(ClaimsPrincipal user) =>
        user.FindAll(Scope).Select(c => c.Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
}
