using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Api;

/// <summary>The results API (configuration section <c>Api</c>).</summary>
public sealed record ApiOptions
{
    public const string Section = "Api";

    /// <summary>Results per page when a request gives no <c>limit</c>.</summary>
    public int DefaultPageSize { get; init; } = 100;

    /// <summary>Largest <c>limit</c> a request may ask for (a larger one is 400).</summary>
    public int MaxPageSize { get; init; } = 1000;

    /// <summary>Overlay PNGs rendered at once: each decodes a whole image and draws it (CPU and tens of MB for a large DR
    /// image), so more requests wait their turn instead of growing memory without bound.</summary>
    public int MaxConcurrentOverlays { get; init; } = 2;

    /// <summary>Serve the OpenAPI document (<c>/openapi/v1.json</c>) and the reference page (<c>/api/docs</c>). They describe
    /// the API and hold no data, so they are anonymous like the health probes.</summary>
    public bool Docs { get; init; } = true;
}

internal sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions o)
    {
        const string s = ApiOptions.Section;
        var errors = new List<string>();
        if (o.MaxPageSize is < 1 or > 100_000) errors.Add($"{s}:MaxPageSize must be 1-100000, not {o.MaxPageSize}");
        if (o.DefaultPageSize < 1 || o.DefaultPageSize > o.MaxPageSize) errors.Add($"{s}:DefaultPageSize must be 1 to {s}:MaxPageSize ({o.MaxPageSize}), not {o.DefaultPageSize}");
        if (o.MaxConcurrentOverlays is < 1 or > 64) errors.Add($"{s}:MaxConcurrentOverlays must be 1-64, not {o.MaxConcurrentOverlays}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
