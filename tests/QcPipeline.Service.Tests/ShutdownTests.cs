namespace QcPipeline.Service.Tests;

public sealed class ShutdownTests
{
    [Fact]
    public async Task Stopping_mid_transfer_leaves_only_complete_indexed_instances_and_an_empty_tmp()
    {
        var root = Support.NewTempDir("qcstop");
        var data = Path.Combine(root, "data");
        try
        {
            var files = Support.MakeCtFiles(Path.Combine(root, "in"), 30);
            var svc = await InProcessService.StartAsync(data);
            var instances = Path.Combine(data, "instances");
            using var scu = new StoreScuRun(svc.DicomPort, files.Select(f => f.Path), actAfterSuccesses: 4);
            await scu.Reached;
            await svc.DisposeAsync(); // graceful stop: the association in progress is cut, its instance abandoned
            var acknowledged = Support.StoreResponses(await scu.FinishAsync()).Where(kv => kv.Value == "Success").Select(kv => kv.Key).ToHashSet();

            Assert.InRange(acknowledged.Count, 1, files.Count - 1);
            Assert.Empty(Directory.GetFiles(Path.Combine(data, "tmp")));
            var rows = Support.Rows(Path.Combine(data, "qc.db")).ToDictionary(r => r.SopInstanceUid);
            Assert.All(files.Where(f => acknowledged.Contains(f.Path)), f => Assert.True(rows.ContainsKey(f.SopInstanceUid)));
            Assert.Equal(Directory.GetFiles(instances, "*", SearchOption.AllDirectories).Length, rows.Count);
        }
        finally
        {
            Support.TryDeleteDir(root);
        }
    }
}
