using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Service.Ingest;

/// <summary>The DICOM listener: reconciles the store, binds the port (start-up fails when it cannot), and runs the toolkit's
/// <see cref="DicomServer"/> with the ingest store handler until shutdown, when it stops accepting and waits for the
/// associations in progress (their unfinished instances are abandoned, never half-stored).</summary>
internal sealed class DimseListener(IOptions<DicomOptions> options, DimseStoreHandler handler, DimseObserver observer, DimseListenerState state,
    InstanceStoreReconciler reconciler, ILogger<DimseListener> logger, Schedule.WorklistFindHandlerRegistration? worklist = null) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private TcpListener? _listener;
    private Task? _run;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await reconciler.RunAsync(cancellationToken).ConfigureAwait(false);
        var o = options.Value;
        var serverOptions = DicomServerConfiguration.Build(o);
        var listener = new TcpListener(IPAddress.Parse(o.BindAddress), o.Port);
        try
        {
            listener.Start(backlog: 128);
        }
        catch (SocketException ex)
        {
            throw new InvalidOperationException($"Dicom:Port {o.Port} on Dicom:BindAddress {o.BindAddress} cannot be bound: {ex.Message}", ex);
        }
        _listener = listener;
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        state.SetBound(port);
        logger.LogInformation("DICOM listener bound on {Address}:{Port} as AE {AeTitle} (TLS {Tls}, {Devices} allowed devices, max {MaxAssociations} associations)",
            o.BindAddress, port, serverOptions.AeTitle, o.Tls.Enabled ? "on" : "off", o.AllowedDevices.Length, o.MaxAssociations);
        var server = new DicomServer(serverOptions, handler, observer, worklist?.Handler);
        _run = Task.Run(() => server.RunAsync(listener, null, _stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        state.SetStopped();
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Stop();
        if (_run is { } run)
        {
            try
            {
                await run.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                logger.LogWarning("DICOM listener: shutdown timeout reached with associations still running");
            }
        }
        logger.LogInformation("DICOM listener stopped");
    }

    public void Dispose()
    {
        _listener?.Dispose();
        _stopping.Dispose();
    }
}
