using System.Text.Json;
using Microsoft.Extensions.Options;
using QcPipeline.Dicom.Json;
using QcPipeline.Service.Auth;

namespace QcPipeline.Service.DicomWeb;

/// <summary>QIDO-RS (PS3.18 §10.6) and WADO-RS (§10.4) over the index and the instance store. Every endpoint requires
/// the <see cref="QcAuthPolicies.Read"/> policy.</summary>
public static class QidoWadoEndpoints
{
    public static IServiceCollection AddQidoWado(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DicomWebReadOptions>().Bind(configuration.GetSection(DicomWebReadOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DicomWebReadOptions>, DicomWebReadOptionsValidator>();
        services.AddSingleton<QidoService>();
        services.AddSingleton<WadoService>();
        CorsStartupFilter.AddPolicy(services, configuration);
        services.AddTransient<IStartupFilter, CorsStartupFilter>();
        return services;
    }

    public static RouteGroupBuilder MapQidoWado(this RouteGroupBuilder group)
    {
        RouteHandlerBuilder[] endpoints =
        [
            // QIDO-RS
            group.MapGet("/studies", (HttpContext h, CancellationToken ct) => Search(h, QidoLevel.Study, null, null, ct)),
            group.MapGet("/series", (HttpContext h, CancellationToken ct) => Search(h, QidoLevel.Series, null, null, ct)),
            group.MapGet("/instances", (HttpContext h, CancellationToken ct) => Search(h, QidoLevel.Instance, null, null, ct)),
            group.MapGet("/studies/{study}/series", (HttpContext h, string study, CancellationToken ct) => Search(h, QidoLevel.Series, study, null, ct)),
            group.MapGet("/studies/{study}/instances", (HttpContext h, string study, CancellationToken ct) => Search(h, QidoLevel.Instance, study, null, ct)),
            group.MapGet("/studies/{study}/series/{series}/instances", (HttpContext h, string study, string series, CancellationToken ct) => Search(h, QidoLevel.Instance, study, series, ct)),
            // WADO-RS
            group.MapGet("/studies/{study}", (HttpContext h, string study, CancellationToken ct) => Retrieve(h, study, null, null, ct)),
            group.MapGet("/studies/{study}/series/{series}", (HttpContext h, string study, string series, CancellationToken ct) => Retrieve(h, study, series, null, ct)),
            group.MapGet("/studies/{study}/series/{series}/instances/{instance}", (HttpContext h, string study, string series, string instance, CancellationToken ct) => Retrieve(h, study, series, instance, ct)),
            group.MapGet("/studies/{study}/metadata", (HttpContext h, string study, CancellationToken ct) => Metadata(h, study, null, null, ct)),
            group.MapGet("/studies/{study}/series/{series}/metadata", (HttpContext h, string study, string series, CancellationToken ct) => Metadata(h, study, series, null, ct)),
            group.MapGet("/studies/{study}/series/{series}/instances/{instance}/metadata", (HttpContext h, string study, string series, string instance, CancellationToken ct) => Metadata(h, study, series, instance, ct)),
            group.MapGet("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}", Frames),
            group.MapGet("/studies/{study}/series/{series}/instances/{instance}/bulkdata/{**path}", BulkData),
        ];
        foreach (var e in endpoints) e.RequireAuthorization(QcAuthPolicies.Read);
        return group;
    }

    /// <summary>The base of the URLs we hand out (RetrieveURL, BulkDataURI), as STOW-RS answers build it
    /// (<see cref="DicomWebOptions.PublicBase"/>).</summary>
    private static string BaseUrl(HttpRequest r) =>
        r.HttpContext.RequestServices.GetRequiredService<IOptions<DicomWebOptions>>().Value.PublicBase(r) + DicomWebEndpoints.Prefix;

    private static IResult BadRequest(string message) => Results.Text(message, "text/plain", statusCode: 400);

    private static bool IsUid(string? s) => s is { Length: > 0 and <= 64 } && s.All(c => c is '.' or (>= '0' and <= '9'));

    private static IResult? CheckUids(params string?[] uids)
    {
        foreach (var u in uids) if (u is not null && !IsUid(u)) return BadRequest("a UID in the path is not a valid UID");
        return null;
    }

    // ------------------------------------------------------------------ QIDO-RS

    private static async Task<IResult> Search(HttpContext http, QidoLevel level, string? study, string? series, CancellationToken ct)
    {
        if (CheckUids(study, series) is { } bad) return bad;
        if (!AcceptsJson(WadoAccept.Parse(http.Request.Headers.Accept))) return Results.Text("QIDO-RS results are application/dicom+json", "text/plain", statusCode: 406);
        var options = http.RequestServices.GetRequiredService<IOptions<DicomWebReadOptions>>().Value;
        DicomWebQuery query;
        try
        {
            query = DicomWebQueryParser.Parse(level, http.Request.Query.Select(kv => new KeyValuePair<string, string?[]>(kv.Key, kv.Value.ToArray())), options.QidoMaxResults);
        }
        catch (DicomWebBadRequestException ex)
        {
            return BadRequest(ex.Message);
        }
        var qido = http.RequestServices.GetRequiredService<QidoService>();
        var result = await qido.SearchAsync(query, new QidoService.Scope(study, series), BaseUrl(http.Request), ct).ConfigureAwait(false);
        var warnings = new List<string>();
        if (query.Ignored.Count > 0) warnings.Add($"299 qcpipeline \"The following query parameters were not applied: {string.Join(", ", query.Ignored.Select(Shorten))}\"");
        if (result.MoreAvailable) warnings.Add("299 qcpipeline \"There are additional results that can be requested (use offset)\"");
        if (warnings.Count > 0) http.Response.Headers.Warning = warnings.ToArray();
        // No match is 200 with an empty array (CP-2473 aligns PS3.18 with RFC 9110: 204 must carry no content; Orthanc and OHIF take []).
        return new DicomJsonResult(result.Datasets);
    }

    private static string Shorten(string s) => s.Length <= 64 ? s : s[..64];

    private static bool AcceptsJson(List<WadoAcceptEntry> accept) =>
        accept.Any(e => e.MediaType is "*/*" or "application/*" or "application/dicom+json" or "application/json");

    private sealed class DicomJsonResult(List<QcPipeline.Dicom.DicomDataset> datasets) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/dicom+json";
            var writer = new Utf8JsonWriter(http.Response.Body, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            await using (writer.ConfigureAwait(false))
            {
                DicomJson.WriteArray(writer, datasets);
                await writer.FlushAsync(http.RequestAborted).ConfigureAwait(false);
            }
        }
    }

    // ------------------------------------------------------------------ WADO-RS

    private static async Task<IResult> Run(HttpContext http, Func<WadoService, Task> action)
    {
        try
        {
            await action(http.RequestServices.GetRequiredService<WadoService>()).ConfigureAwait(false);
            return Results.Empty;
        }
        catch (DicomWebBadRequestException ex) when (!http.Response.HasStarted)
        {
            return BadRequest(ex.Message);
        }
        catch (WadoException ex) when (!http.Response.HasStarted)
        {
            return Results.Text(ex.Message, "text/plain", statusCode: ex.Status);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException && !http.Response.HasStarted)
        {
            return Results.Text("the instance file is missing from the store", "text/plain", statusCode: 404);
        }
        catch (QcPipeline.Dicom.DicomFormatException ex) when (!http.Response.HasStarted)
        {
            // The message names a tag and an offset, never a value; still, detail only at debug.
            var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(QidoWadoEndpoints));
            logger.LogWarning("WADO-RS: a stored instance cannot be parsed");
            logger.LogDebug(ex, "stored instance parse failure");
            return Results.Text("the stored instance is damaged", "text/plain", statusCode: 500);
        }
    }

    private static Task<IResult> Retrieve(HttpContext http, string study, string? series, string? instance, CancellationToken ct) =>
        CheckUids(study, series, instance) is { } bad ? Task.FromResult(bad) : Run(http, async wado =>
        {
            var rows = await wado.FindAsync(study, series, instance, ct).ConfigureAwait(false);
            WadoService.NegotiateInstances(WadoAccept.Parse(http.Request.Headers.Accept), rows);
            await wado.WriteInstancesAsync(http, rows, ct).ConfigureAwait(false);
        });

    private static Task<IResult> Metadata(HttpContext http, string study, string? series, string? instance, CancellationToken ct) =>
        CheckUids(study, series, instance) is { } bad ? Task.FromResult(bad) : Run(http, async wado =>
        {
            var rows = await wado.FindAsync(study, series, instance, ct).ConfigureAwait(false);
            if (!AcceptsJson(WadoAccept.Parse(http.Request.Headers.Accept))) throw new WadoException(406, "metadata is served as application/dicom+json");
            await wado.WriteMetadataAsync(http, rows, BaseUrl(http.Request), ct).ConfigureAwait(false);
        });

    private static Task<IResult> Frames(HttpContext http, string study, string series, string instance, string frames, CancellationToken ct) =>
        CheckUids(study, series, instance) is { } bad ? Task.FromResult(bad) : Run(http, async wado =>
        {
            var max = http.RequestServices.GetRequiredService<IOptions<DicomWebReadOptions>>().Value.MaxFramesPerRequest;
            var list = WadoService.ParseFrameList(frames, max);
            var rows = await wado.FindAsync(study, series, instance, ct).ConfigureAwait(false);
            await wado.WriteFramesAsync(http, rows[0], list, WadoAccept.Parse(http.Request.Headers.Accept), ct).ConfigureAwait(false);
        });

    private static Task<IResult> BulkData(HttpContext http, string study, string series, string instance, string path, CancellationToken ct) =>
        CheckUids(study, series, instance) is { } bad ? Task.FromResult(bad) : Run(http, async wado =>
        {
            var rows = await wado.FindAsync(study, series, instance, ct).ConfigureAwait(false);
            await wado.WriteBulkDataAsync(http, rows[0], path, WadoAccept.Parse(http.Request.Headers.Accept), ct).ConfigureAwait(false);
        });
}
