using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Cli.Tests.Network;

/// <summary>Real peers on 127.0.0.1 for the <c>qc echo</c> and <c>qc send</c> tests.</summary>
public static class Peers
{
    public static string Phantoms => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "phantoms"));

    /// <summary>The committed RLE CT sample series.</summary>
    public static string[] CtSeries => Directory.GetFiles(Path.Combine(Phantoms, "ct-water-200mm"), "*.dcm").Order(StringComparer.Ordinal).ToArray();

    /// <summary>A TCP port that was free a moment ago (for a peer that binds it itself).</summary>
    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
}

/// <summary>DCMTK's <c>storescp</c> as a child process on a free port, writing into <see cref="Folder"/>; killed on dispose.</summary>
public sealed class Storescp : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _log = new();

    public Storescp(string folder, params string[] options)
    {
        Folder = folder;
        Port = Peers.FreePort();
        var psi = new ProcessStartInfo("storescp") { RedirectStandardOutput = true, RedirectStandardError = true };
        // DCMTK's DIMSE traffic is request/response: without TCP_NODELAY delayed ACKs add ~40 ms per message.
        psi.Environment["TCP_NODELAY"] = "1";
        foreach (var o in options) psi.ArgumentList.Add(o);
        foreach (var a in new[] { "-aet", "QCPIPE", "-od", folder, Peers.Port(Port) }) psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("storescp did not start");
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitUntilListening();
    }

    public int Port { get; }
    public string Folder { get; }

    public string Log { get { lock (_log) return _log.ToString(); } }

    private void WaitUntilListening()
    {
        // Poll with a real association (C-ECHO) rather than a bare connect, which storescp would log as a failed association.
        var deadline = Stopwatch.StartNew();
        PresentationContextRequest[] pcs = [new(1, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian])];
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"storescp exited with {_process.ExitCode}: {Log}");
            try
            {
                var client = DicomClient.ConnectAsync("127.0.0.1", Port, pcs, new DicomClientOptions { CalledAeTitle = "QCPIPE", ConnectTimeout = TimeSpan.FromSeconds(1) })
                    .GetAwaiter().GetResult();
                client.ReleaseAsync().GetAwaiter().GetResult();
                client.DisposeAsync().AsTask().GetAwaiter().GetResult();
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>The received files by SOP Instance UID (storescp names them MODALITY.SOPINSTANCEUID).</summary>
    public Dictionary<string, string> Received()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.GetFiles(Folder))
        {
            using var file = DicomFile.Open(f, Dicom.IO.DicomReadOptions.HeaderOnly);
            map[file.Dataset.GetString(DicomTags.SOPInstanceUID)!] = f;
        }
        return map;
    }

    public void Dispose()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* already gone */ }
        _process.WaitForExit(5000);
        _process.Dispose();
    }
}

/// <summary>A C-STORE SCP handler that keeps each data set in memory and can answer chosen instances with another status.</summary>
public sealed class MemoryStoreHandler : IStoreHandler
{
    public List<(StoreRequest Request, byte[] Data)> Stored { get; } = [];

    /// <summary>Called when a data set has arrived; may throw <see cref="StoreFailedException"/> or return a warning.</summary>
    public Func<StoreRequest, CancellationToken, Task<StoreOutcome>>? Decide { get; init; }

    public ValueTask<IInstanceSink> OpenAsync(StoreRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IInstanceSink>(new Sink(this, request));

    private sealed class Sink(MemoryStoreHandler owner, StoreRequest request) : IInstanceSink
    {
        private readonly MemoryStream _data = new();

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            _data.Write(data.Span);
            return ValueTask.CompletedTask;
        }

        public async ValueTask<StoreOutcome> CompleteAsync(CancellationToken cancellationToken)
        {
            var outcome = owner.Decide is { } decide ? await decide(request, cancellationToken) : StoreOutcome.Success;
            if (DicomStatus.Category(outcome.Status) != "failure") lock (owner.Stored) owner.Stored.Add((request, _data.ToArray()));
            return outcome;
        }

        public ValueTask DisposeAsync()
        {
            _data.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>The toolkit's <see cref="DicomServer"/> on 127.0.0.1 with an ephemeral port, stopped on dispose.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private CancellationTokenSource _cts = new();
    private Task _loop;

    public TestServer(DicomServerOptions options, IStoreHandler? handler = null)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = new DicomServer(options, handler).RunAsync(_listener, Summaries.Enqueue, _cts.Token);
    }

    public int Port { get; }

    /// <summary>How each association ended, as the server saw it.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<AssociationSummary> Summaries { get; } = new();

    /// <summary>Stops the accept loop (aborting every association in progress) and starts a new one on the same
    /// listener: to the client, the peer dropped its associations and is back.</summary>
    public async Task RestartAsync(DicomServerOptions options, IStoreHandler? handler)
    {
        await _cts.CancelAsync();
        await _loop;
        _cts.Dispose();
        _cts = new CancellationTokenSource();
        _loop = new DicomServer(options, handler).RunAsync(_listener, Summaries.Enqueue, _cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        await _loop;
        _listener.Stop();
        _cts.Dispose();
    }
}
