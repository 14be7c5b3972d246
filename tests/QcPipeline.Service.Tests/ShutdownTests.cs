using System.Diagnostics;

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
            var psi = new ProcessStartInfo("storescu") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in (string[])["-v", "-aec", "QCPIPE", "127.0.0.1", svc.DicomPort.ToString(System.Globalization.CultureInfo.InvariantCulture), .. files.Select(f => f.Path)])
                psi.ArgumentList.Add(a);
            psi.Environment["TCP_NODELAY"] = "1";
            using var scu = Process.Start(psi)!;
            var so = scu.StandardOutput.ReadToEndAsync();
            var se = scu.StandardError.ReadToEndAsync();
            var instances = Path.Combine(data, "instances");
            var until = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < until && Directory.GetFiles(instances, "*.dcm", SearchOption.AllDirectories).Length < 4)
                await Task.Delay(5);
            await svc.DisposeAsync(); // graceful stop: the association in progress is cut, its instance abandoned
            await scu.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var acknowledged = Support.StoreResponses(await so + await se).Where(kv => kv.Value == "Success").Select(kv => kv.Key).ToHashSet();

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
