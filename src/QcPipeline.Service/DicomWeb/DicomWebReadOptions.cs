using Microsoft.Extensions.Options;

namespace QcPipeline.Service.DicomWeb;

/// <summary>QIDO-RS / WADO-RS settings (configuration section <c>DicomWeb</c>).</summary>
public sealed record DicomWebReadOptions
{
    public const string Section = "DicomWeb";

    /// <summary>Origins allowed to call /dicom-web from a browser (CORS), e.g. the origin a viewer such as OHIF is served
    /// from. Empty (default): no CORS headers, browsers on other origins are refused by their own same-origin rule.
    /// "*" allows any origin.</summary>
    public string[] CorsOrigins { get; init; } = [];

    /// <summary>Most results of one QIDO-RS response; a larger <c>limit</c> is lowered to this (with a Warning header), and
    /// it is the page size when the client gives no limit.</summary>
    public int QidoMaxResults { get; init; } = 1000;

    /// <summary>Most frame numbers in one WADO-RS frames request.</summary>
    public int MaxFramesPerRequest { get; init; } = 10_000;
}

internal sealed class DicomWebReadOptionsValidator : IValidateOptions<DicomWebReadOptions>
{
    public ValidateOptionsResult Validate(string? name, DicomWebReadOptions o)
    {
        const string s = DicomWebReadOptions.Section;
        var errors = new List<string>();
        if (o.QidoMaxResults is < 1 or > 100_000) errors.Add($"{s}:QidoMaxResults must be 1-100000, not {o.QidoMaxResults}");
        if (o.MaxFramesPerRequest is < 1 or > 1_000_000) errors.Add($"{s}:MaxFramesPerRequest must be 1-1000000, not {o.MaxFramesPerRequest}");
        foreach (var origin in o.CorsOrigins ?? [])
        {
            if (origin == "*") continue;
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.AbsolutePath != "/" || origin.EndsWith('/'))
                errors.Add($"{s}:CorsOrigins entries are origins such as https://viewer.example:3000 (scheme, host, optional port, no path), not '{origin}'");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
