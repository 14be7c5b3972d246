using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>Many instances over one association, and several storescu processes at once: every instance is stored
/// exactly once and the association summaries count what happened.</summary>
public sealed class StorescuLoadTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qc-storescu-load-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private List<(string Path, string SopInstanceUid)> MakeInputs(int count, string prefix)
    {
        // The phantom's RLE slice (about 200 KB encoded): small enough that 50+ copies stay fast.
        return PeerInputs.Copies(PeerInputs.PhantomCt(1), Path.Combine(_dir, "in"), count, prefix);
    }

    [Fact]
    public async Task Fifty_instances_over_one_association_are_each_stored_once()
    {
        var inputs = MakeInputs(50, "one");
        var handler = new FileStoreHandler(Path.Combine(_dir, "store"));
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" }, handler);

        var r = await PeerTool.RunAsync("storescu", ["-xr", "-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", server.PortText, .. inputs.Select(i => i.Path)]);
        output.WriteLine(r.ToString());
        Assert.True(r.ExitCode == 0, r.ToString());

        var summary = Assert.Single(await server.WaitForSummaries(1));
        Assert.Equal(AssociationOutcome.Released, summary.Outcome);
        Assert.Equal(50, summary.StoreCount);
        Assert.Equal(0, summary.StoreFailures);
        Assert.True(summary.BytesReceived > 50 * 100_000, $"bytes received {summary.BytesReceived}");

        Assert.Equal(inputs.Select(i => i.SopInstanceUid).Order(), handler.Stored.Select(s => s.Request.SopInstanceUid).Order());
        Assert.Equal(50, handler.FinalFiles().Length);
        Assert.Equal(0, handler.Duplicates);
        Assert.Equal(0, handler.Abandoned);
        Assert.Empty(handler.PartialFiles());
        // Spot-check content: first and last.
        foreach (var (path, uid) in new[] { inputs[0], inputs[^1] })
            await DcmdumpCompare.AssertSameDataset(path, Path.Combine(handler.Directory, uid + ".dcm"));
    }

    [Fact]
    public async Task Four_storescu_processes_at_once_all_instances_stored_none_twice()
    {
        const int processes = 4, each = 12;
        var batches = Enumerable.Range(0, processes).Select(p => MakeInputs(each, $"p{p}-")).ToList();
        var handler = new FileStoreHandler(Path.Combine(_dir, "store"));
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" }, handler);

        var runs = batches.Select((b, p) => PeerTool.RunAsync("storescu",
            ["-xr", "-aet", $"QCTEST{p}", "-aec", "QCPIPE", "127.0.0.1", server.PortText, .. b.Select(i => i.Path)])).ToList();
        var results = await Task.WhenAll(runs);
        foreach (var r in results) Assert.True(r.ExitCode == 0, r.ToString());

        var summaries = await server.WaitForSummaries(processes);
        Assert.Equal(processes, summaries.Length);
        Assert.All(summaries, s =>
        {
            Assert.Equal(AssociationOutcome.Released, s.Outcome);
            Assert.Equal(each, s.StoreCount);
            Assert.Equal(0, s.StoreFailures);
        });
        Assert.Equal(Enumerable.Range(0, processes).Select(p => $"QCTEST{p}").Order(), summaries.Select(s => s.CallingAeTitle).Order());

        var expected = batches.SelectMany(b => b).Select(i => i.SopInstanceUid).Order().ToList();
        var stored = handler.Stored.Select(s => s.Request.SopInstanceUid).Order().ToList();
        Assert.Equal(expected, stored);
        Assert.Equal(processes * each, handler.FinalFiles().Length);
        Assert.Equal(0, handler.Duplicates);
        Assert.Empty(handler.PartialFiles());
        // Each instance arrived on the association of the process that sent it.
        foreach (var (req, _) in handler.Stored)
        {
            int p = batches.FindIndex(b => b.Any(i => i.SopInstanceUid == req.SopInstanceUid));
            Assert.Equal($"QCTEST{p}", req.Association.CallingAeTitle);
        }
    }
}
