using System.Net;

namespace QcPipeline.Service.Auth;

/// <summary>Where the HTTP API listens, and whether that is loopback only (the one case where authentication may be off).</summary>
public static class HttpBindings
{
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>The URLs given to Kestrel: <c>Http:Urls</c>, else the standard <c>urls</c> (<c>ASPNETCORE_URLS</c>, <c>--urls</c>), else the default.</summary>
    public static string Resolve(IConfiguration configuration) =>
        configuration["Http:Urls"] is { Length: > 0 } urls ? urls : configuration["urls"] is { Length: > 0 } std ? std : DefaultUrls;

    /// <summary>Every binding: the resolved URLs plus any <c>Kestrel:Endpoints:*:Url</c> (which Kestrel uses instead of them).</summary>
    public static IReadOnlyList<string> All(IConfiguration configuration)
    {
        var list = Resolve(configuration).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        foreach (var ep in configuration.GetSection("Kestrel:Endpoints").GetChildren())
            if (ep["Url"] is { Length: > 0 } u) list.Add(u.Trim());
        return list;
    }

    /// <summary>True when authentication is required: always in <see cref="HttpAuthMode.Required"/>; in
    /// <see cref="HttpAuthMode.Auto"/> unless every binding is loopback. The exemption is by binding, never by the
    /// remote address of a request: behind a reverse proxy or a sidecar on the same host every request comes from
    /// 127.0.0.1, so a per-request exemption would open the API to whoever reaches the proxy.</summary>
    public static bool AuthRequired(HttpAuthMode mode, IReadOnlyList<string> bindings) =>
        mode == HttpAuthMode.Required || bindings.Count == 0 || !bindings.All(IsLoopback);

    /// <summary>Is this listen URL bound to loopback only? <c>localhost</c>, 127.0.0.0/8 and ::1 are; wildcards
    /// (<c>*</c>, <c>+</c>, 0.0.0.0, [::]), other host names (Kestrel binds them to every interface), Unix sockets and
    /// anything unparsable are not.</summary>
    public static bool IsLoopback(string url)
    {
        int schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0) return false;
        var rest = url.AsSpan(schemeEnd + 3);
        string host;
        if (rest.StartsWith("["))
        {
            int close = rest.IndexOf(']');
            if (close < 0) return false;
            host = rest[1..close].ToString();
        }
        else
        {
            int end = rest.IndexOfAny(':', '/');
            host = (end < 0 ? rest : rest[..end]).ToString();
        }
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }
}
