using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Service.Ingest;
using QcPipeline.Service.Metrics;

namespace QcPipeline.Service.Tests;

/// <summary>The service hosted in the test process: DICOM and HTTP on free ports, a temp data folder.</summary>
public sealed class InProcessService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsData;

    private InProcessService(WebApplication app, string dataPath, bool ownsData)
    {
        _app = app;
        DataPath = dataPath;
        _ownsData = ownsData;
    }

    public string DataPath { get; }
    public int DicomPort => _app.Services.GetRequiredService<DimseListenerState>().Port;
    public Uri HttpBase => new(_app.Urls.First());
    public QcMetrics Metrics => _app.Services.GetRequiredService<QcMetrics>();
    public IServiceProvider Services => _app.Services;
    public string DbPath => Path.Combine(DataPath, "qc.db");

    public static async Task<InProcessService> StartAsync(string? dataPath = null, params string[] extraArgs)
    {
        bool owns = dataPath is null;
        dataPath ??= Support.NewTempDir("qcsvc");
        string[] args =
        [
            "--Dicom:Port=0", "--Http:Urls=http://127.0.0.1:0", $"--Storage:DataPath={dataPath}",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
            // No background PDF warm-up in tests: it would take CPU from every test's start for nothing.
            "--Reports:WarmUp=false", .. extraArgs,
        ];
        var app = ServiceHost.Build(args);
        await app.StartAsync();
        return new InProcessService(app, dataPath, owns);
    }

    /// <summary>As <see cref="StartAsync(string?, string[])"/>, with <paramref name="configure"/> called on the built app before it
    /// starts (e.g. to map a test-only endpoint). If start-up fails the app is disposed and the exception propagates.</summary>
    public static async Task<InProcessService> StartAsync(string? dataPath, Action<WebApplication> configure, params string[] extraArgs)
    {
        bool owns = dataPath is null;
        dataPath ??= Support.NewTempDir("qcsvc");
        string[] args =
        [
            "--Dicom:Port=0", "--Http:Urls=http://127.0.0.1:0", $"--Storage:DataPath={dataPath}",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
            // No background PDF warm-up in tests: it would take CPU from every test's start for nothing.
            "--Reports:WarmUp=false", .. extraArgs,
        ];
        var app = ServiceHost.Build(args);
        try
        {
            configure(app);
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            if (owns) Support.TryDeleteDir(dataPath);
            throw;
        }
        return new InProcessService(app, dataPath, owns);
    }

    public HttpClient CreateHttpClient() => new() { BaseAddress = HttpBase, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_ownsData) Support.TryDeleteDir(DataPath);
    }
}
