using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Auth;

namespace QcPipeline.Service.Reports;

public static class ReportsServiceCollectionExtensions
{
    /// <summary>Trend reports (<see cref="ReportOptions"/>, validated at start): the report builder (results database and, when
    /// registered, <see cref="Schedule.ITestDueStatus"/>), the CSV and PDF writers, the CJK font and the ROI image renderer.
    /// Needs AddIndex, AddResults and AddIngest (instance store paths) before it.</summary>
    public static IServiceCollection AddReports(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ReportOptions>().Bind(configuration.GetSection(ReportOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReportOptions>, ReportOptionsValidator>();
        services.AddSingleton<CjkFont>();
        services.AddSingleton<TrendReportBuilder>();
        services.AddSingleton<RoiImageRenderer>();
        services.AddSingleton<ReportPdfWriter>();
        return services;
    }

    /// <summary><c>GET /api/reports/trend?device=&amp;test=&amp;from=&amp;to=&amp;format=json|csv|pdf&amp;lang=zh|en</c> (read scope).
    /// 400 for a bad value or a report over the bounds, 404 for an unknown device, 503 for a PDF without a CJK font.</summary>
    public static IEndpointRouteBuilder MapReportsApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The font is looked for once at start, so a missing one is logged then, not first seen by an auditor. With a font, one
        // small PDF is made in the background: the first report's cold start (font load, JIT, Skia) is ~2 s, a warm one ~0.3 s.
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var font = app.Services.GetRequiredService<CjkFont>();
            if (font.FamilyName is not null && app.Services.GetRequiredService<IOptions<ReportOptions>>().Value.WarmUp)
                _ = Task.Run(() => WarmUpAsync(app.Services.GetRequiredService<ReportPdfWriter>(), app.Services.GetRequiredService<ILogger<ReportPdfWriter>>(), app.Lifetime.ApplicationStopping));
        });
        app.MapGet("/api/reports/trend", TrendAsync).RequireAuthorization(QcAuthPolicies.Read)
            .WithTags("Reports").WithName("GetTrendReport").WithSummary("Trend report of a device or the fleet over a period: JSON, CSV or PDF (zh/en)");
        return app;
    }

    private static async Task WarmUpAsync(ReportPdfWriter pdf, ILogger logger, CancellationToken ct)
    {
        try
        {
            var now = DateTimeOffset.UtcNow;
            var points = new[] { new TrendPoint(now.AddDays(-30), 0, 1, -6, 6, "pass"), new TrendPoint(now, 0, 7, -6, 6, "fail") };
            var device = new DeviceReport(new ReportDevice(0, "warm-up", null, null, null, null, null, null, null, null), new RunSummary(0, 0, 0, 0),
                [new MetricTrend("ct-water", "ct.water_hu", "HU", points)], [], new DueSection(false, now, 0, []), new LabelCompliance(0, 0, null), null);
            await pdf.WriteAsync(new TrendReport(TrendReport.CurrentSchemaVersion, now, now.AddDays(-31), now, "UTC", null, "zh", TrendReport.ClauseIds, [device]), ct)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Only a warm-up: a real request reports the same problem to its caller.
            logger.LogWarning("Reports: the PDF warm-up failed ({ExceptionType}: {Message})", ex.GetType().Name, ex.Message);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    private static async Task<IResult> TrendAsync(HttpContext http, TrendReportBuilder builder, ReportPdfWriter pdf,
        string? device, string? test, string? from, string? to, string? format, string? lang)
    {
        var ct = http.RequestAborted;
        try
        {
            var request = builder.Parse(device, test, from, to, format, lang);
            var report = await builder.BuildAsync(request, ct).ConfigureAwait(false);
            string name = string.Create(CultureInfo.InvariantCulture,
                $"qc-trend-{(request.Device is null ? "fleet" : "device-" + report.Devices[0].Device.Id)}-{report.From:yyyyMMdd}-{report.To.AddTicks(-1):yyyyMMdd}");
            switch (request.Format)
            {
                case ReportFormat.Csv:
                    return Results.Stream(s => ReportCsv.WriteAsync(report, s, ct), "text/csv; charset=utf-8", name + ".csv");
                case ReportFormat.Pdf:
                    var bytes = await pdf.WriteAsync(report, ct).ConfigureAwait(false);
                    return Results.File(bytes, "application/pdf", name + ".pdf");
                default:
                    return Results.Json(report, Json);
            }
        }
        catch (ReportRequestException ex)
        {
            return Results.Text(ex.Message, "text/plain", statusCode: StatusCodes.Status400BadRequest);
        }
        catch (ReportDeviceNotFoundException ex)
        {
            return Results.Text(ex.Message, "text/plain", statusCode: StatusCodes.Status404NotFound);
        }
        catch (ReportFontMissingException ex)
        {
            return Results.Text(ex.Message, "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
