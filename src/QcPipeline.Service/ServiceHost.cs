using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Prometheus;
using QcPipeline.Service.Api;
using QcPipeline.Service.Auth;
using QcPipeline.Service.Bus;
using QcPipeline.Service.DicomWeb;
using QcPipeline.Service.Health;
using QcPipeline.Service.Index;
using QcPipeline.Service.Ingest;
using QcPipeline.Service.Metrics;
using QcPipeline.Service.Retention;
using QcPipeline.Service.Schedule;
using QcPipeline.Service.Reports;
using QcPipeline.Service.Workers;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service;

/// <summary>Builds the service. Configuration, lowest to highest precedence: appsettings.json (beside the executable),
/// ASPNETCORE_/DOTNET_ variables, variables with prefix <c>QC__</c> (<c>QC__Dicom__Port</c> = <c>Dicom:Port</c>), the command
/// line (<c>--Dicom:Port=11113</c>; <c>--roles receiver,worker</c> = <c>Service:Roles</c>). What is registered depends on the
/// roles (<see cref="ServiceRoles"/>).</summary>
public static class ServiceHost
{
    public const string DefaultHttpUrls = HttpBindings.DefaultUrls;

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddEnvironmentVariables("QC__");
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { [ServiceRoles.CommandLineSwitch] = ServiceRoles.Key });
        builder.WebHost.UseUrls(HttpBindings.Resolve(builder.Configuration));
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(15));
        var config = builder.Configuration;
        var roles = ServiceRoles.FromConfiguration(config);

        // Every role: metrics, the database (each role migrates at start, one process at a time), the store, auth, health.
        builder.Services.AddSingleton(roles);
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, Http.LargeBlockMemoryPoolFactory>();
        builder.Services
            .AddMetrics(config)
            .AddIndex(config)
            .AddResults()
            .AddIngest(config, roles)      // store for all; ingest, reconciliation, DICOM listener: receiver
            .AddPipeline(config, roles)    // outbox dispatcher: receiver; sweeper: receiver unless Pipeline:SweeperEnabled
            .AddQcAuth(config)
            .AddDicomWeb(config, roles)    // STOW-RS: receiver; QIDO-RS, WADO-RS: api
            .AddHealth(config, roles)
            .AddSchedule(config);          // test plans, due status, the worklist (receiver), scheduled-scan links (worker)
        if (roles.Receiver) builder.Services.AddRetention(config); // deletes files under the ingest path's per-UID locks
        if (roles.Worker) builder.Services.AddWorkers(config);
        if (roles.UsesBus) builder.Services.AddBus(config, bus => { if (roles.Worker) bus.AddConsumer<AnalyzeSeriesConsumer>(); });
        if (roles.Api)
        {
            // The API role's services (/api/* feature folders register here). The QC gauges come from the API role only: they
            // are rebuilt from the shared database, and every receiver and worker would otherwise export the same series again.
            builder.Services.AddQcGauges(config).AddResultsApi(config).AddReports(config);
        }

        var app = builder.Build();
        // Authentication and authorization run before every endpoint; /health/* has no policy (orchestrator probes),
        // /metrics has one that asks for the read scope only when Http:Auth:ProtectMetrics is true.
        app.UseQcAuth();
        app.MapHealth();
        app.MapDicomWeb(roles);
        app.MapAuthEndpoints();
        if (roles.Api)
        {
            // The API role's endpoint groups (/api/*) are mapped here.
            app.MapResultsApi();
            app.MapScheduleApi();
            app.MapReportsApi();
        }
        app.MapMetrics("/metrics", app.Services.GetRequiredService<QcMetrics>().Registry).RequireAuthorization(QcAuthPolicies.Metrics);
        LogStarted(app, roles);
        return app;
    }

    /// <summary>One line when everything has started: the roles and the HTTP addresses actually bound (a port 0 resolved).
    /// Scripts and tests wait for it; a worker has no DICOM port to wait for.</summary>
    private static void LogStarted(WebApplication app, ServiceRoles roles)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var urls = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServiceHost).FullName!)
                .LogInformation("Service started: roles {Roles}; HTTP {Urls}", roles.ToString(), string.Join(';', urls));
        });
    }
}
