using System.Net;
using System.Net.Sockets;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Benchmarks;

/// <summary>The toolkit's acceptor with a handler that writes each data set to a file in a folder (no fsync, no
/// index) or discards it: the floor of the network path, to compare the service's cost with. Runs until killed.</summary>
public static class ScpFloor
{
    public static async Task RunAsync(int port, string? folder)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        Console.WriteLine($"listening on {port}, {(folder is null ? "discarding" : "writing to " + folder)}");
        var server = new DicomServer(new DicomServerOptions(), new Handler(folder));
        await server.RunAsync(listener).ConfigureAwait(false);
    }

    private sealed class Handler(string? folder) : IStoreHandler
    {
        public ValueTask<IInstanceSink> OpenAsync(StoreRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IInstanceSink>(new Sink(folder is null ? Stream.Null
                : new FileStream(Path.Combine(folder, Guid.NewGuid().ToString("N") + ".dcm"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024)));
    }

    private sealed class Sink(Stream stream) : IInstanceSink
    {
        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
            await stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);

        public ValueTask<StoreOutcome> CompleteAsync(CancellationToken cancellationToken)
        {
            stream.Flush();
            return ValueTask.FromResult(StoreOutcome.Success);
        }

        public ValueTask DisposeAsync() => stream.DisposeAsync();
    }
}
