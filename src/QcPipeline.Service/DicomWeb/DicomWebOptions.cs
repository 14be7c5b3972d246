using Microsoft.Extensions.Options;

namespace QcPipeline.Service.DicomWeb;

/// <summary>DICOMweb (configuration section <c>DicomWeb</c>). The limit of a whole request body is Kestrel's
/// (<c>Http:MaxRequestBodyBytes</c>); these limit what one request may hold inside it.</summary>
public sealed record DicomWebOptions
{
    public const string Section = "DicomWeb";

    /// <summary>Base of the Retrieve URLs we answer (<c>{BaseUrl}/dicom-web/studies/...</c>), e.g. the address a reverse
    /// proxy publishes. Empty: the request's own scheme, host and path base.</summary>
    public string? BaseUrl { get; init; }

    /// <summary>The base every URL we hand out starts with (STOW-RS RetrieveURLs, QIDO-RS and WADO-RS RetrieveURLs and
    /// BulkDataURIs), before <c>/dicom-web</c>: <see cref="BaseUrl"/> when set, else as <paramref name="request"/> reached us.</summary>
    public string PublicBase(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return BaseUrl is { Length: > 0 } configured ? configured.TrimEnd('/') : $"{request.Scheme}://{request.Host}{request.PathBase}";
    }

    /// <summary>Largest part (one instance) of a STOW-RS request; a larger one is refused (A700) and skipped.</summary>
    public long MaxPartBytes { get; init; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Largest header block of one part (and largest preamble before the first boundary).</summary>
    public int MaxPartHeaderBytes { get; init; } = 16 * 1024;

    /// <summary>Most parts in one STOW-RS request: the response lists each, so this bounds its size. Beyond it: 413.</summary>
    public int MaxParts { get; init; } = 50_000;
}

/// <summary>Checks <see cref="DicomWebOptions"/> at start; every message names its configuration key.</summary>
internal sealed class DicomWebOptionsValidator : IValidateOptions<DicomWebOptions>
{
    public ValidateOptionsResult Validate(string? name, DicomWebOptions o)
    {
        var errors = new List<string>();
        const string s = DicomWebOptions.Section;
        if (!string.IsNullOrEmpty(o.BaseUrl)
            && (!Uri.TryCreate(o.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.Query.Length > 0 || uri.Fragment.Length > 0))
            errors.Add($"{s}:BaseUrl '{o.BaseUrl}' must be an absolute http or https URL without query or fragment");
        if (o.MaxPartBytes is < 1024 or > 1L << 40) errors.Add($"{s}:MaxPartBytes must be 1024-1099511627776, not {o.MaxPartBytes}");
        if (o.MaxPartHeaderBytes is < 1024 or > 1024 * 1024) errors.Add($"{s}:MaxPartHeaderBytes must be 1024-1048576, not {o.MaxPartHeaderBytes}");
        if (o.MaxParts is < 1 or > 1_000_000) errors.Add($"{s}:MaxParts must be 1-1000000, not {o.MaxParts}");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
