using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>A handler whose storage fails for chosen instances: in the middle of the data set (an I/O error) or at
/// completion (a specific status). Everything else goes to the wrapped <see cref="FileStoreHandler"/>.</summary>
internal sealed class FailingStoreHandler(FileStoreHandler inner, IReadOnlyDictionary<string, string> failures) : IStoreHandler
{
    public async ValueTask<IInstanceSink> OpenAsync(StoreRequest request, CancellationToken cancellationToken)
    {
        var sink = await inner.OpenAsync(request, cancellationToken);
        return failures.TryGetValue(request.SopInstanceUid, out var how) ? new Failing(sink, how) : sink;
    }

    private sealed class Failing(IInstanceSink inner, string how) : IInstanceSink
    {
        private long _written;

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            // Fail once part of the data set is on disk, so there is something to clean up.
            if (how == "write" && _written > 20_000) throw new IOException("No space left on device");
            _written += data.Length;
            await inner.WriteAsync(data, cancellationToken);
        }

        public ValueTask<StoreOutcome> CompleteAsync(CancellationToken cancellationToken) => how switch
        {
            "complete" => throw new StoreFailedException(DicomStatus.DataSetDoesNotMatchSopClass, "data set does not match SOP class"),
            "warning" => ValueTask.FromResult(new StoreOutcome(DicomStatus.CoercionOfDataElements, "coerced")),
            _ => inner.CompleteAsync(cancellationToken),
        };

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>Storage failures seen by DCMTK's storescu: the failing instance gets its failure status, the rest of
/// its data set is read and discarded, the association goes on, and nothing of the failed instance remains.</summary>
public sealed class StoreFailureTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qc-store-failure-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Failed_instances_get_their_status_and_the_association_goes_on()
    {
        var inputs = PeerInputs.Copies(PeerInputs.PhantomCt(1), Path.Combine(_dir, "in"), 4, "f");
        var files = new FileStoreHandler(Path.Combine(_dir, "store"));
        var handler = new FailingStoreHandler(files, new Dictionary<string, string>
        {
            [inputs[1].SopInstanceUid] = "write",
            [inputs[2].SopInstanceUid] = "complete",
        });
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" }, handler);

        // -nh: go on after an unsuccessful store (storescu halts by default).
        var r = await PeerTool.RunAsync("storescu", ["-v", "-nh", "-xr", "-aec", "QCPIPE", "127.0.0.1", server.PortText, .. inputs.Select(i => i.Path)]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode); // with -nh a failure status is reported, not fatal
        // storescu reports each response status; the A700 and A900 failures are DCMTK's "Refused: OutOfResources"
        // and "Error: DataSetDoesNotMatchSOPClass".
        Assert.Contains("Received Store Response (Refused: OutOfResources", r.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Received Store Response (Error: DataSetDoesNotMatchSOPClass", r.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, r.Text.Split('\n').Count(l => l.Contains("Received Store Response (Success)", StringComparison.OrdinalIgnoreCase)));

        var summary = Assert.Single(await server.WaitForSummaries(1));
        Assert.Equal(AssociationOutcome.Released, summary.Outcome);
        Assert.Equal(4, summary.StoreCount);
        Assert.Equal(2, summary.StoreFailures);

        Assert.Equal(new[] { inputs[0].SopInstanceUid, inputs[3].SopInstanceUid }.Order(), files.Stored.Select(s => s.Request.SopInstanceUid).Order());
        Assert.Equal(2, files.Abandoned);
        Assert.Empty(files.PartialFiles());
        Assert.Equal(2, files.FinalFiles().Length);
        await DcmdumpCompare.AssertSameDataset(inputs[3].Path, Path.Combine(files.Directory, inputs[3].SopInstanceUid + ".dcm"));
    }

    [Fact]
    public async Task A_warning_status_reaches_storescu_as_a_warning()
    {
        var input = PeerInputs.Copies(PeerInputs.PhantomCt(2), Path.Combine(_dir, "in"), 1, "w")[0];
        var files = new FileStoreHandler(Path.Combine(_dir, "store"));
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" },
            new FailingStoreHandler(files, new Dictionary<string, string> { [input.SopInstanceUid] = "warning" }));
        var r = await PeerTool.RunAsync("storescu", ["-v", "-xr", "-aec", "QCPIPE", "127.0.0.1", server.PortText, input.Path]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Warning: CoercionOfDataElements", r.Text, StringComparison.OrdinalIgnoreCase);
        var summary = Assert.Single(await server.WaitForSummaries(1));
        Assert.Equal(1, summary.StoreCount);
        Assert.Equal(0, summary.StoreFailures);
    }
}
