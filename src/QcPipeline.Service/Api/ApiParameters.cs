using System.Globalization;
using System.Text.Json;
using QcPipeline.Analysis.Phantoms;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Api;

/// <summary>A request parameter or body that is not acceptable; answered 400 (or <see cref="Status"/>) as problem+json with
/// the message, which names the parameter and never echoes patient data.</summary>
internal sealed class ApiProblemException(string message, int status = StatusCodes.Status400BadRequest) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>Parsing of path and query parameters: ids, UIDs, ISO 8601 periods, paging.</summary>
internal static class ApiParameters
{
    private static readonly string[] DateTimeFormats =
    [
        "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>A positive database id (the route takes any text so that a bad id is a 400 with a reason, not a 404).</summary>
    public static long Id(string value, string name) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0
            ? id
            : throw new ApiProblemException($"{name} must be a positive integer");

    public static string Uid(string value, string name) =>
        UidRules.IsValid(value) ? value : throw new ApiProblemException($"{name} is not a valid DICOM UID (digits and dots, at most 64 characters)");

    /// <summary>An ISO 8601 date (<c>2026-03-01</c>) or date-time (<c>2026-03-01T08:00:00Z</c>, <c>…+08:00</c>; no offset = UTC).
    /// A date as the end of a period means the whole day (to the start of the next day, exclusive).</summary>
    public static DateTimeOffset? Instant(string? value, string name, bool endOfPeriod)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        // An unencoded '+' of an offset arrives as a space in a query string.
        var v = value.Trim().Replace(' ', '+');
        if (DateOnly.TryParseExact(v, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            var start = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return endOfPeriod ? start.AddDays(1) : start;
        }
        // In UTC: Npgsql writes only offset 0 to timestamptz (and the SQLite ticks are UTC).
        if (DateTimeOffset.TryParseExact(v, DateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
            return instant.ToUniversalTime();
        throw new ApiProblemException($"{name} must be an ISO 8601 date (2026-03-01) or date-time (2026-03-01T08:00:00Z)");
    }

    /// <summary>A test (profile) name: one the analyses know.</summary>
    public static string? Test(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        return ProfileRouter.Profiles.Contains(value, StringComparer.Ordinal)
            ? value
            : throw new ApiProblemException($"test must be one of {string.Join(", ", ProfileRouter.Profiles)}");
    }

    public static (int Limit, int Offset) Paging(string? limit, string? offset, ApiOptions options)
    {
        int l = options.DefaultPageSize, o = 0;
        if (!string.IsNullOrEmpty(limit) && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out l) || l < 1 || l > options.MaxPageSize))
            throw new ApiProblemException($"limit must be an integer from 1 to {options.MaxPageSize}");
        if (!string.IsNullOrEmpty(offset) && (!int.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out o) || o < 0))
            throw new ApiProblemException("offset must be a non-negative integer");
        return (l, o);
    }

    /// <summary>Reads a JSON body of at most <paramref name="maxBytes"/> (413 beyond, so a client cannot make us buffer
    /// gigabytes); an empty body is null when <paramref name="optional"/>.</summary>
    public static async Task<JsonDocument?> JsonBodyAsync(HttpRequest request, int maxBytes, bool optional, CancellationToken ct)
    {
        // Kestrel knows whether a body can follow (Content-Length, chunked, or an HTTP/2-3 stream that is not ended).
        bool canHaveBody = request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>()?.CanHaveBody
                           ?? request.ContentLength is not null || request.Headers.TransferEncoding.Count > 0;
        if (request.ContentLength is 0 || !canHaveBody)
            return optional ? null : throw new ApiProblemException("a JSON body is required");
        if (request.ContentType is not { } type || !(type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
                                                     || type.StartsWith("application/merge-patch+json", StringComparison.OrdinalIgnoreCase)))
            throw new ApiProblemException("the body must be application/json", StatusCodes.Status415UnsupportedMediaType);
        if (request.ContentLength > maxBytes)
            throw new ApiProblemException($"the body is larger than {maxBytes} bytes", StatusCodes.Status413PayloadTooLarge);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > maxBytes) throw new ApiProblemException($"the body is larger than {maxBytes} bytes", StatusCodes.Status413PayloadTooLarge);
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length == 0) return optional ? null : throw new ApiProblemException("a JSON body is required");
        try
        {
            return JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new ApiProblemException($"the body is not valid JSON: {ex.Message}");
        }
    }
}
