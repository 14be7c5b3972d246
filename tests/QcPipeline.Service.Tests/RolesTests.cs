using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using QcPipeline.Service.Bus;
using QcPipeline.Service.Ingest;
using QcPipeline.Service.Workers;

namespace QcPipeline.Service.Tests;

/// <summary>What each role runs (<c>--roles</c>, <c>Service:Roles</c>), on the embedded defaults in the test process; the
/// multi-process proofs on RabbitMQ and PostgreSQL are in <see cref="PipelineProcessTests"/>.</summary>
public sealed class RolesTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetJsonAsync(HttpClient http, string path)
    {
        using var r = await http.GetAsync(path);
        var text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, text.Length > 0 && text[0] == '{' ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    private static HashSet<string> Checks(JsonElement health) =>
        health.GetProperty("checks").EnumerateObject().Select(p => p.Name).ToHashSet();

    private static List<Type> HostedServices(InProcessService svc) =>
        svc.Services.GetServices<IHostedService>().Select(h => h.GetType()).ToList();

    [Fact]
    public async Task By_default_one_process_runs_every_role()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:QuietPeriod=00:00:01");
        Assert.Equal(ServiceRoles.All, svc.Services.GetRequiredService<ServiceRoles>());
        var hosted = HostedServices(svc);
        Assert.Contains(typeof(SeriesSweeper), hosted);
        Assert.Contains(typeof(OutboxDispatcher), hosted);
        Assert.Contains(hosted, t => t.Name == "DimseListener");
        using var http = svc.CreateHttpClient();
        var (status, health) = await GetJsonAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Superset(new HashSet<string> { "database", "data_folder", "dicom_listener", "bus" }, Checks(health));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/dicom-web/studies")).StatusCode);
    }

    [Fact]
    public async Task A_worker_has_no_DICOM_listener_no_DICOMweb_and_no_sweeper_but_health_metrics_and_the_consumer()
    {
        await using var svc = await InProcessService.StartAsync(null, "--roles", "worker");
        Assert.Equal(new ServiceRoles(false, true, false), svc.Services.GetRequiredService<ServiceRoles>());
        var hosted = HostedServices(svc);
        Assert.DoesNotContain(typeof(SeriesSweeper), hosted);
        Assert.DoesNotContain(typeof(OutboxDispatcher), hosted);
        Assert.DoesNotContain(hosted, t => t.Name == "DimseListener");
        Assert.Null(svc.Services.GetService<DimseListenerState>());
        Assert.Null(svc.Services.GetService<IngestService>());
        Assert.NotNull(svc.Services.GetService<SeriesAnalyzer>());

        using var http = svc.CreateHttpClient();
        var (status, health) = await GetJsonAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(new HashSet<string> { "database", "data_folder", "bus" }, Checks(health));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/dicom-web/studies")).StatusCode);
        using var stow = await http.SendAsync(StowSupport.Request("/dicom-web/studies", StowSupport.Body([1, 2, 3])));
        Assert.Equal(HttpStatusCode.NotFound, stow.StatusCode);
    }

    [Fact]
    public async Task The_api_role_serves_QIDO_and_WADO_but_not_STOW_and_has_no_bus()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Service:Roles=api");
        Assert.Null(svc.Services.GetService<MassTransit.IBusControl>());
        Assert.DoesNotContain(typeof(SeriesSweeper), HostedServices(svc));
        using var http = svc.CreateHttpClient();
        var (status, health) = await GetJsonAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(new HashSet<string> { "database", "data_folder" }, Checks(health));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/dicom-web/studies")).StatusCode);
        using var stow = await http.SendAsync(StowSupport.Request("/dicom-web/studies", StowSupport.Body([1, 2, 3])));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, stow.StatusCode);
    }

    [Fact]
    public async Task A_receiver_stores_and_claims_but_analyses_nothing_and_serves_no_QIDO()
    {
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync(null, "--roles=receiver", "--Pipeline:QuietPeriod=00:00:01");
        try
        {
            var hosted = HostedServices(svc);
            Assert.Contains(typeof(SeriesSweeper), hosted);
            Assert.Contains(typeof(OutboxDispatcher), hosted);
            Assert.Null(svc.Services.GetService<SeriesAnalyzer>());
            using (var http = svc.CreateHttpClient())
                Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/dicom-web/series")).StatusCode); // GET /studies: 405 (STOW's route)
            var files = Support.MakeCtFiles(input, 2);
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path));
            Assert.True(store.ExitCode == 0, store.All);
            // Claimed and its command published, but no worker here: the series stays claimed and nothing is analysed.
            var series = await SeriesAssemblyScenarios.Eventually(() => SeriesAssemblyScenarios.SeriesAsync(svc, files[0].SeriesUid),
                s => s?.State == Index.SeriesRecord.Claimed, TimeSpan.FromSeconds(20));
            Assert.Equal(Index.SeriesRecord.Claimed, series?.State);
            await Task.Delay(1500);
            Assert.Empty(await SeriesAssemblyScenarios.ResultsAsync(svc, files[0].SeriesUid));
            Assert.Equal(Index.SeriesRecord.Claimed, (await SeriesAssemblyScenarios.SeriesAsync(svc, files[0].SeriesUid))?.State);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task The_sweeper_setting_overrides_the_role_default()
    {
        await using (var worker = await InProcessService.StartAsync(null, "--roles", "worker", "--Pipeline:SweeperEnabled=true"))
        {
            Assert.Contains(typeof(SeriesSweeper), HostedServices(worker));
            Assert.Contains(typeof(OutboxDispatcher), HostedServices(worker)); // it writes the outbox, so it dispatches it
        }
        await using var receiver = await InProcessService.StartAsync(null, "--roles", "receiver", "--Pipeline:SweeperEnabled=false");
        Assert.DoesNotContain(typeof(SeriesSweeper), HostedServices(receiver));
        Assert.Contains(typeof(OutboxDispatcher), HostedServices(receiver));
    }

    [Fact]
    public async Task An_unreachable_database_at_start_stops_with_exit_code_3_and_one_clear_line()
    {
        var dir = Support.NewTempDir("qcnodb");
        try
        {
            // A loopback port nobody listens on.
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            await using var svc = ChildService.Start(dir, ["--Http:Urls=http://127.0.0.1:0", "--Dicom:Port=0", "--Database:Provider=Postgres",
                $"--Database:ConnectionString=Host=127.0.0.1;Port={port};Username=qc;Password=qc;Database=qc;Timeout=3"]);
            Assert.Equal(3, await svc.WaitExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("start-up failed: the database is unreachable", svc.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", svc.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Service started", svc.Output, StringComparison.Ordinal);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }

    [Theory]
    [InlineData("--roles=receiver,bogus", "Service:Roles has an unknown role 'bogus'")]
    [InlineData("--Service:Roles=", "Service:Roles is empty")]
    [InlineData("--Pipeline:SweeperEnabled=maybe", "Pipeline:SweeperEnabled")]
    public async Task An_unknown_role_stops_start_up_with_exit_code_2_naming_the_key(string arg, string message)
    {
        var dir = Support.NewTempDir("qcroles");
        try
        {
            await using var svc = ChildService.Start(dir, ["--Http:Urls=http://127.0.0.1:0", "--Dicom:Port=0", arg]);
            Assert.Equal(2, await svc.WaitExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(message, svc.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Service started", svc.Output, StringComparison.Ordinal);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }
}
