using Prometheus;
using QcPipeline.Service.Auth;
using QcPipeline.Service.Bus;
using QcPipeline.Service.DicomWeb;
using QcPipeline.Service.Health;
using QcPipeline.Service.Index;
using QcPipeline.Service.Ingest;
using QcPipeline.Service.Metrics;
using QcPipeline.Service.Reports;
using QcPipeline.Service.Workers;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service;

/// <summary>Builds the service. Configuration, lowest to highest precedence: appsettings.json (beside the executable),
/// ASPNETCORE_/DOTNET_ variables, variables with prefix <c>QC__</c> (<c>QC__Dicom__Port</c> = <c>Dicom:Port</c>), the command
/// line (<c>--Dicom:Port=11113</c>).</summary>
public static class ServiceHost
{
    public const string DefaultHttpUrls = HttpBindings.DefaultUrls;

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddEnvironmentVariables("QC__");
        builder.Configuration.AddCommandLine(args);
        builder.WebHost.UseUrls(HttpBindings.Resolve(builder.Configuration));
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(15));

        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, Http.LargeBlockMemoryPoolFactory>();
        builder.Services
            .AddMetrics(builder.Configuration)
            .AddIndex(builder.Configuration)
            .AddResults()
            .AddIngest(builder.Configuration)
            .AddWorkers(builder.Configuration)
            .AddPipeline(builder.Configuration)
            .AddBus(builder.Configuration, bus => bus.AddConsumer<AnalyzeSeriesConsumer>())
            .AddQcAuth(builder.Configuration)
            .AddDicomWeb(builder.Configuration)
            .AddReports(builder.Configuration)
            .AddHealth(builder.Configuration);

        var app = builder.Build();
        // Authentication and authorization run before every endpoint; /health/* has no policy (orchestrator probes),
        // /metrics has one that asks for the read scope only when Http:Auth:ProtectMetrics is true.
        app.UseQcAuth();
        app.MapHealth();
        app.MapDicomWeb();
        app.MapAuthEndpoints();
        app.MapReportsApi();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<QcMetrics>().Registry).RequireAuthorization(QcAuthPolicies.Metrics);
        return app;
    }
}
