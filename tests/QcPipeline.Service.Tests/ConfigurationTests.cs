using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Index;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task Defaults_are_the_documented_ones()
    {
        var app = ServiceHost.Build([]);
        await using (app)
        {
            var dicom = app.Services.GetRequiredService<IOptions<DicomOptions>>().Value;
            Assert.Equal((11112, "0.0.0.0", "QCPIPE", 32, 262144, 10, 30, 8), (dicom.Port, dicom.BindAddress, dicom.AeTitle, dicom.MaxAssociations,
                dicom.MaxPduLength, dicom.ArtimTimeoutSeconds, dicom.IdleTimeoutSeconds, dicom.MaxOperationsPerformed));
            Assert.Equal(Dicom.Network.DicomServerOptions.DefaultTransferSyntaxes, dicom.EffectiveTransferSyntaxes);
            Assert.Empty(dicom.AllowedDevices);
            Assert.False(dicom.RequireUserIdentity);
            Assert.False(dicom.Tls.Enabled);
            var storage = app.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
            Assert.True(storage.Fsync);
            Assert.Equal(Path.Combine(Environment.CurrentDirectory, "data"), app.Services.GetRequiredService<StoragePaths>().Root);
            Assert.Equal(DatabaseProvider.Sqlite, app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value.Provider);
        }
    }

    [Fact]
    public async Task Command_line_overrides_the_AE_title()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Dicom:AeTitle=CLIAE");
        Assert.Equal(0, (await Support.EchoScuAsync(svc.DicomPort, calledAe: "CLIAE")).ExitCode);
        var wrong = await Support.EchoScuAsync(svc.DicomPort, calledAe: "QCPIPE");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("Association Rejected", wrong.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_variables_with_prefix_QC_override_defaults_and_the_command_line_overrides_them()
    {
        var dir = Support.NewTempDir("qccfg");
        try
        {
            var env = new Dictionary<string, string> { ["QC__Dicom__AeTitle"] = "ENVAE", ["QC__Dicom__Port"] = "0", ["QC__Http__Urls"] = "http://127.0.0.1:0" };
            await using (var svc = ChildService.Start(dir, [], env))
            {
                int port = await svc.WaitBoundAsync();
                Assert.Equal(0, (await Support.EchoScuAsync(port, calledAe: "ENVAE")).ExitCode);
                Assert.True(Directory.Exists(Path.Combine(dir, "data", "instances")), "data folder relative to the current directory");
            }
            await using (var svc = ChildService.Start(dir, ["--Dicom:AeTitle=CLIAE"], env))
            {
                int port = await svc.WaitBoundAsync();
                Assert.Equal(0, (await Support.EchoScuAsync(port, calledAe: "CLIAE")).ExitCode);
                Assert.NotEqual(0, (await Support.EchoScuAsync(port, calledAe: "ENVAE")).ExitCode);
            }
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }

    [Fact]
    public async Task Json_console_logging_is_selected_by_configuration()
    {
        var dir = Support.NewTempDir("qcjson");
        try
        {
            await using var svc = ChildService.Start(dir, ["--Dicom:Port=0", "--Http:Urls=http://127.0.0.1:0", "--Logging:Console:FormatterName=json"]);
            await svc.WaitBoundAsync();
            var line = svc.Output.Split('\n').First(l => l.Contains("DICOM listener bound", StringComparison.Ordinal));
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            Assert.Equal("Information", doc.RootElement.GetProperty("LogLevel").GetString());
            Assert.Equal("QCPIPE", doc.RootElement.GetProperty("State").GetProperty("AeTitle").GetString());
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }

    [Theory]
    [InlineData("--Dicom:Port=70000", "Dicom:Port")]
    [InlineData("--Dicom:Port=abc", "Dicom:Port")]
    [InlineData("--Dicom:AeTitle=THIS_IS_FAR_TOO_LONG", "Dicom:AeTitle")]
    [InlineData("--Dicom:AllowedDevices:0:Hosts:0=not-an-ip", "Dicom:AllowedDevices:0:Hosts:0")]
    [InlineData("--Database:Provider=Oracle", "Database:Provider")]
    [InlineData("--Dicom:Tls:Enabled=true", "Dicom:Tls:CertificatePath")]
    public async Task An_invalid_value_stops_start_up_with_a_message_naming_the_key(string arg, string key)
    {
        var dir = Support.NewTempDir("qcbad");
        try
        {
            await using var svc = ChildService.Start(dir, ["--Http:Urls=http://127.0.0.1:0", "--Dicom:Port=0", arg]);
            int code = await svc.WaitExitAsync(TimeSpan.FromSeconds(30));
            Assert.NotEqual(0, code);
            Assert.Contains(key, svc.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("DICOM listener bound", svc.Output, StringComparison.Ordinal);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }
}

public sealed class IndexProviderTests
{
    [Theory]
    [InlineData("Sqlite", "Microsoft.EntityFrameworkCore.Sqlite", typeof(Index.SqliteIndexDbContext))]
    [InlineData("Postgres", "Npgsql.EntityFrameworkCore.PostgreSQL", typeof(Index.PostgresIndexDbContext))]
    public async Task Each_provider_is_selectable_and_its_migrations_match_the_model(string provider, string providerName, Type contextType)
    {
        var app = ServiceHost.Build([$"--Database:Provider={provider}", "--Database:ConnectionString=" + (provider == "Sqlite" ? "Data Source=unused.db" : "Host=127.0.0.1;Database=qc")]);
        await using (app)
        {
            var factory = app.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Index.IndexDbContext>>();
            await using var db = factory.CreateDbContext();
            Assert.IsType(contextType, db);
            Assert.Equal(providerName, db.Database.ProviderName);
            Assert.NotEmpty(Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.GetMigrations(db.Database));
            Assert.False(Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.HasPendingModelChanges(db.Database), "the model changed: add a migration");
        }
    }

    [Fact]
    public async Task An_HTTP_port_already_in_use_ends_start_up_with_a_clear_line_and_exit_code_2()
    {
        var dir = Support.NewTempDir("qcport");
        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
            await using var svc = ChildService.Start(dir, ["--Dicom:Port=0", $"--Http:Urls=http://127.0.0.1:{port}"]);
            Assert.Equal(2, await svc.WaitExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("start-up failed: Failed to bind to address", svc.Output, StringComparison.Ordinal);
            // The host logs the failure itself (with its exception); what must not happen is an unhandled exception and an abort.
            Assert.DoesNotContain("Unhandled exception", svc.Output, StringComparison.Ordinal);
        }
        finally
        {
            taken.Stop();
            Support.TryDeleteDir(dir);
        }
    }
}
