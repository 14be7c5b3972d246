using System.Net;
using System.Net.Sockets;
using QcPipeline.Dicom.Network;
using QcPipeline.Dicom.Tests.Corpus;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>A C-STORE SCP that keeps each received data set in memory; enough to check the acceptor's DIMSE flow.</summary>
internal sealed class MemoryStoreHandler : IStoreHandler
{
    public readonly List<(StoreRequest Request, byte[] Data)> Stored = [];
    public Func<StoreRequest, StoreOutcome>? Decide { get; init; }

    public ValueTask<IInstanceSink> OpenAsync(StoreRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IInstanceSink>(new Sink(this, request));

    private sealed class Sink(MemoryStoreHandler owner, StoreRequest request) : IInstanceSink
    {
        private readonly MemoryStream _data = new();
        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) { _data.Write(data.Span); return ValueTask.CompletedTask; }
        public ValueTask<StoreOutcome> CompleteAsync(CancellationToken cancellationToken)
        {
            var outcome = owner.Decide?.Invoke(request) ?? StoreOutcome.Success;
            if (outcome.Status == DicomStatus.Success) lock (owner.Stored) owner.Stored.Add((request, _data.ToArray()));
            return ValueTask.FromResult(outcome);
        }
        public ValueTask DisposeAsync() { _data.Dispose(); return ValueTask.CompletedTask; }
    }
}

public class StoreScpSmokeTests
{
    private static string Sample => Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "phantoms", "ct-water-200mm", "CT0001.dcm");

    [Fact]
    public async Task Our_client_stores_into_our_server_and_the_data_set_arrives_byte_for_byte()
    {
        var handler = new MemoryStoreHandler();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var server = new DicomServer(new DicomServerOptions { MaxPduLength = 16384 }, handler);
        var loop = server.RunAsync(listener, null, cts.Token);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        using var file = DicomFile.Open(Sample);
        var bytes = File.ReadAllBytes(Sample);
        var body = bytes.AsMemory((int)file.DatasetOffset);
        string sopClass = file.Dataset.GetString(DicomTags.SOPClassUID)!, sop = file.Dataset.GetString(DicomTags.SOPInstanceUID)!;
        PresentationContextRequest[] pcs =
        [
            new(1, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian]),
            new(3, sopClass, [file.TransferSyntax.Uid]),
        ];
        await using (var client = await DicomClient.ConnectAsync("127.0.0.1", port, pcs, new DicomClientOptions { CalledAeTitle = "QCPIPE" }, cts.Token))
        {
            Assert.True((await client.EchoAsync(1, cts.Token)).IsSuccess);
            var ctx = client.FindContext(pcs, sopClass);
            Assert.NotNull(ctx);
            var rsp = await client.StoreAsync(ctx.Id, sopClass, sop, new MemoryStream(body.ToArray()), cancellationToken: cts.Token);
            Assert.Equal(DicomStatus.Success, rsp.Status);
            await client.ReleaseAsync(cts.Token);
        }
        var stored = Assert.Single(handler.Stored);
        Assert.Equal(sop, stored.Request.SopInstanceUid);
        Assert.Equal(file.TransferSyntax.Uid, stored.Request.TransferSyntaxUid);
        Assert.True(body.Span.SequenceEqual(stored.Data));
        await cts.CancelAsync();
        listener.Stop();
        await loop;
    }

    [Fact]
    public async Task Storescu_sends_to_our_server()
    {
        if (!Dcmtk.IsAvailable) Assert.Fail("DCMTK is not installed (scripts/test.sh installs it)");
        var handler = new MemoryStoreHandler();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var server = new DicomServer(new DicomServerOptions(), handler);
        var loop = server.RunAsync(listener, null, cts.Token);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var r = Dcmtk.Run("storescu", "-xr", "-aec", "QCPIPE", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture), Sample);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Single(handler.Stored);
        await cts.CancelAsync();
        listener.Stop();
        await loop;
    }
}
