using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using QcPipeline.Service.Auth;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Workers;
using Scalar.AspNetCore;

namespace QcPipeline.Service.Api;

/// <summary>The results REST API under <c>/api</c> (README "API"): devices and their edits, results by device, series and id,
/// ROI overlay PNGs, re-analysis requests; and its OpenAPI document (<c>/openapi/v1.json</c>) with a reference page
/// (<c>/api/docs</c>, Scalar, served from the package's bundled script: no CDN).</summary>
public static class ResultsApi
{
    public const string DocumentName = "v1";
    public const string DocsPath = "/api/docs";

    /// <summary>Options (<c>Api</c>), the queries, the device editor, the overlay renderer and the OpenAPI document.
    /// Call after AddResults and AddPipeline (it uses the results store and the series sweeper).</summary>
    public static IServiceCollection AddResultsApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ApiOptions>().Bind(configuration.GetSection(ApiOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        services.AddSingleton<ResultsQueries>();
        services.AddSingleton<DeviceEditor>();
        services.AddSingleton<DeviceBaselines>();
        services.AddSingleton<OverlayService>();
        services.AddProblemDetails();
        services.AddOpenApi(DocumentName, o => o.AddDocumentTransformer(ApiDocument.TransformAsync).AddOperationTransformer(ApiDocument.DescribeDicomWebAsync));
        return services;
    }

    public static WebApplication MapResultsApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api").AddEndpointFilter(Problems);

        var devices = api.MapGroup("/devices").WithTags("Devices");
        devices.MapGet("", ListDevices).WithName("ListDevices").WithSummary("Every registered device")
            .WithDescription("Each device with its identity, editable fields, whether a limits override is set, and the newest verdict per test.")
            .Produces<IReadOnlyList<DeviceView>>().RequireAuthorization(QcAuthPolicies.Read);
        devices.MapGet("/{id}", GetDevice).WithName("GetDevice").WithSummary("One device, with the limits its next analysis uses")
            .Produces<DeviceView>().ProducesProblem(400).ProducesProblem(404).RequireAuthorization(QcAuthPolicies.Read);
        devices.MapPatch("/{id}", PatchDevice).WithName("UpdateDevice").WithSummary("Edit a device's display name, site, modality or limits")
            .WithDescription("Fields that are absent stay; null clears. `limits` is a limit set as for `qc analyze --limits`; it is checked and a " +
                             "changed set under the same id needs a higher version. Every change is audited (who, when, old and new values, reason). Needs the manage scope.")
            .Accepts<DevicePatch>("application/json").Produces<DeviceView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415)
            .RequireAuthorization(QcAuthPolicies.Manage);
        devices.MapGet("/{id}/audit", DeviceAudit).WithName("GetDeviceAudit").WithSummary("The audit log of a device (edits, limits versions), newest first")
            .Produces<Page<AuditView>>().ProducesProblem(400).ProducesProblem(404).RequireAuthorization(QcAuthPolicies.Read);
        devices.MapPost("/{id}/baselines", SetBaselines).WithName("SetDeviceBaselines").WithSummary("Set the device's baselines from a chosen result")
            .WithDescription("Body {\"resultId\": N, \"metrics\": [optional subset], \"reason\": \"...\"}: the result's values of the metrics judged against a " +
                             "baseline (dr.dark_mean, dr.dark_sd ±50 %; mr.snr ±10 %) become limits around them in a new version of the device's limit set, " +
                             "used by its next analyses. Audited (device.baseline: who, when, why, which result). Needs the manage scope.")
            .Accepts<BaselineRequest>("application/json").Produces<BaselineSet>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415)
            .RequireAuthorization(QcAuthPolicies.Manage);
        devices.MapGet("/{id}/limits/history", LimitsHistory).WithName("GetDeviceLimitsHistory").WithSummary("Every limits version of a device, newest first")
            .WithDescription("From the audit log: each edit or baseline that changed the device's limit set, with who, when, why and the whole set; a null set means the defaults apply again.")
            .Produces<LimitsHistory>().ProducesProblem(400).ProducesProblem(404).RequireAuthorization(QcAuthPolicies.Read);
        devices.MapGet("/{id}/results", DeviceResults).WithName("ListDeviceResults").WithSummary("Results of a device, newest first")
            .WithDescription("Filter by `test` (profile), period `from`/`to` (ISO 8601 date or date-time; a date as `to` includes that day), page with `limit`/`offset`.")
            .Produces<Page<ResultView>>().ProducesProblem(400).ProducesProblem(404).RequireAuthorization(QcAuthPolicies.Read);

        var series = api.MapGroup("/series").WithTags("Series");
        series.MapGet("/{uid}/results", SeriesResults).WithName("GetSeriesResults").WithSummary("Every result of a series (all claims) and its label findings")
            .Produces<SeriesResults>().ProducesProblem(400).ProducesProblem(404).RequireAuthorization(QcAuthPolicies.Read);
        series.MapPost("/{uid}/reanalyze", Reanalyze).WithName("ReanalyzeSeries").WithSummary("Ask for a new analysis of a stored series")
            .WithDescription("Gives the series a new claim and queues an AnalyzeSeries command (reason `reanalyze`) in one transaction; the result is a new row " +
                             "(results are append-only). Optional body: {\"reason\": \"...\"} for the audit log. Needs the manage scope.")
            .Accepts<ReanalyzeRequest>("application/json").Produces<ReanalyzeAccepted>(StatusCodes.Status202Accepted).ProducesProblem(400).ProducesProblem(404)
            .RequireAuthorization(QcAuthPolicies.Manage);

        var results = api.MapGroup("/results").WithTags("Results");
        results.MapGet("/{id}", GetResult).WithName("GetResult").WithSummary("One result with its whole analysis output (warnings, ROI geometry)")
            .Produces<ResultDetail>().ProducesProblem(400).ProducesProblem(404).RequireAuthorization(QcAuthPolicies.Read);
        results.MapGet("/{id}/overlay.png", GetOverlay).WithName("GetResultOverlay").WithSummary("The analysed image with the ROIs drawn (PNG)")
            .WithDescription("`frame` picks the image of the analysed set (default: the first with ROIs). 404 when the result has no ROI geometry or its images are no longer stored.")
            .Produces<Stream>(StatusCodes.Status200OK, "image/png").ProducesProblem(400).ProducesProblem(404).RequireAuthorization(QcAuthPolicies.Read);

        if (app.Services.GetRequiredService<IOptions<ApiOptions>>().Value.Docs)
        {
            // The description of the API holds no data (like /health), so it is anonymous: a browser can open the page.
            app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous().ExcludeFromDescription();
            app.MapScalarApiReference(DocsPath, o => o
                    .WithTitle("QcPipeline API")
                    .WithOpenApiRoutePattern("/openapi/{documentName}.json")
                    .AddDocument(DocumentName)
                    // Offline: the bundled script is served by the package; no web fonts, telemetry or hosted AI/MCP services.
                    .DisableDefaultFonts()
                    .DisableTelemetry()
                    .DisableAgent()
                    .DisableMcp())
                .AllowAnonymous();
        }
        return app;
    }

    private static async ValueTask<object?> Problems(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (ApiProblemException ex)
        {
            return Results.Problem(detail: ex.Message, statusCode: ex.Status);
        }
    }

    private static IResult NotFound(string what) => Results.Problem(detail: what, statusCode: StatusCodes.Status404NotFound);

    /// <summary>Who made a change: the API key name or JWT subject; <c>loopback</c> for an anonymous request, which only a
    /// loopback-only configuration lets through.</summary>
    internal static string Actor(HttpContext http) =>
        http.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name : "loopback";

    private static async Task<IResult> ListDevices(ResultsQueries q, CancellationToken ct) =>
        Results.Ok(await q.DevicesAsync(ct).ConfigureAwait(false));

    private static async Task<IResult> GetDevice(string id, ResultsQueries q, CancellationToken ct) =>
        await q.DeviceAsync(ApiParameters.Id(id, "id"), ct).ConfigureAwait(false) is { } device ? Results.Ok(device) : NotFound("no such device");

    private static async Task<IResult> PatchDevice(string id, HttpContext http, DeviceEditor editor, ResultsQueries q, CancellationToken ct)
    {
        long deviceId = ApiParameters.Id(id, "id");
        using var body = await ApiParameters.JsonBodyAsync(http.Request, DeviceEditor.MaxBodyBytes, optional: false, ct).ConfigureAwait(false);
        var edit = DeviceEditor.ParsePatch(body!);
        if (await editor.ApplyAsync(deviceId, edit, Actor(http), ct).ConfigureAwait(false) is null) return NotFound("no such device");
        return Results.Ok(await q.DeviceAsync(deviceId, ct).ConfigureAwait(false));
    }

    private static async Task<IResult> SetBaselines(string id, HttpContext http, DeviceBaselines baselines, CancellationToken ct)
    {
        long deviceId = ApiParameters.Id(id, "id");
        using var body = await ApiParameters.JsonBodyAsync(http.Request, DeviceBaselines.MaxBodyBytes, optional: false, ct).ConfigureAwait(false);
        var request = DeviceBaselines.Parse(body!);
        return await baselines.SetAsync(deviceId, request, Actor(http), ct).ConfigureAwait(false) is { } set ? Results.Ok(set) : NotFound("no such device");
    }

    private static async Task<IResult> LimitsHistory(string id, DeviceBaselines baselines, CancellationToken ct) =>
        await baselines.HistoryAsync(ApiParameters.Id(id, "id"), ct).ConfigureAwait(false) is { } h ? Results.Ok(h) : NotFound("no such device");

    private static async Task<IResult> DeviceAudit(string id, string? limit, string? offset, ResultsQueries q, IOptions<ApiOptions> options, CancellationToken ct)
    {
        var device = await q.DeviceAsync(ApiParameters.Id(id, "id"), ct).ConfigureAwait(false);
        var (l, o) = ApiParameters.Paging(limit, offset, options.Value);
        if (device is null) return NotFound("no such device");
        return Results.Ok(await q.AuditAsync("device", device.Key, l, o, ct).ConfigureAwait(false));
    }

    private static async Task<IResult> DeviceResults(string id, string? test, string? from, string? to, string? limit, string? offset,
        ResultsQueries q, IOptions<ApiOptions> options, CancellationToken ct)
    {
        long deviceId = ApiParameters.Id(id, "id");
        var profile = ApiParameters.Test(test);
        var start = ApiParameters.Instant(from, "from", endOfPeriod: false);
        var end = ApiParameters.Instant(to, "to", endOfPeriod: true);
        if (start > end) throw new ApiProblemException("from is after to");
        var (l, o) = ApiParameters.Paging(limit, offset, options.Value);
        return await q.DeviceResultsAsync(deviceId, profile, start, end, l, o, ct).ConfigureAwait(false) is { } page
            ? Results.Ok(page) : NotFound("no such device");
    }

    private static async Task<IResult> SeriesResults(string uid, ResultsQueries q, CancellationToken ct) =>
        await q.SeriesAsync(ApiParameters.Uid(uid, "uid"), ct).ConfigureAwait(false) is { } s ? Results.Ok(s) : NotFound("no such series");

    private static async Task<IResult> GetResult(string id, HttpContext http, ResultsQueries q, CancellationToken ct)
    {
        var record = await q.ResultAsync(ApiParameters.Id(id, "id"), ct).ConfigureAwait(false);
        if (record is null) return NotFound("no such result");
        string? overlay = OverlayService.HasRois(record) ? $"{http.Request.PathBase}/api/results/{record.Id}/overlay.png" : null;
        return Results.Ok(ResultsQueries.Detail(record, ResultStore.ImagesOf(record), overlay));
    }

    private static async Task<IResult> GetOverlay(string id, string? frame, ResultsQueries q, OverlayService overlays, CancellationToken ct)
    {
        long resultId = ApiParameters.Id(id, "id");
        int? f = null;
        if (!string.IsNullOrEmpty(frame))
            f = int.TryParse(frame, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                ? n : throw new ApiProblemException("frame must be a non-negative integer");
        var record = await q.ResultAsync(resultId, ct).ConfigureAwait(false);
        if (record is null) return NotFound("no such result");
        var outcome = await overlays.RenderAsync(record, f, ct).ConfigureAwait(false);
        return outcome.Png is { } png ? Results.File(png, "image/png") : Results.Problem(detail: outcome.Problem, statusCode: outcome.Status);
    }

    private static async Task<IResult> Reanalyze(string uid, HttpContext http, SeriesSweeper sweeper, ResultStore store, CancellationToken ct)
    {
        var seriesUid = ApiParameters.Uid(uid, "uid");
        string? reason = null;
        using (var body = await ApiParameters.JsonBodyAsync(http.Request, 16 * 1024, optional: true, ct).ConfigureAwait(false))
        {
            if (body is not null)
            {
                if (body.RootElement.ValueKind != JsonValueKind.Object) throw new ApiProblemException("the body must be a JSON object");
                foreach (var p in body.RootElement.EnumerateObject())
                {
                    if (!string.Equals(p.Name, "reason", StringComparison.OrdinalIgnoreCase)) throw new ApiProblemException("unknown field (reason)");
                    if (p.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null)) throw new ApiProblemException("reason must be a string");
                    reason = p.Value.GetString() is { Length: > 500 } r ? r[..500] : p.Value.GetString();
                }
            }
        }
        var command = await sweeper.ClaimSeriesAsync(seriesUid, "reanalyze", ct).ConfigureAwait(false);
        if (command is null) return NotFound("no such series");
        await store.AuditAsync(Actor(http), "series.reanalyze", "series", seriesUid, new { claimId = command.ClaimId, reason }, ct).ConfigureAwait(false);
        var url = $"{http.Request.PathBase}/api/series/{seriesUid}/results";
        return Results.Accepted(url, new ReanalyzeAccepted(seriesUid, command.ClaimId, command.Reason, url));
    }
}
