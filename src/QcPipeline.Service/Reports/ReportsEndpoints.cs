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
        // The font is looked for once at start, so a missing one is logged then, not first seen by an auditor.
        app.Lifetime.ApplicationStarted.Register(() => app.Services.GetRequiredService<CjkFont>());
        app.MapGet("/api/reports/trend", TrendAsync).RequireAuthorization(QcAuthPolicies.Read);
        return app;
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
