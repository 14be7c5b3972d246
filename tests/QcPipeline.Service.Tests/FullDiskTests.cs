using System.Diagnostics;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>A full disk (a 2 MB tmpfs as the data folder): failing instances get A700, nothing partial becomes visible,
/// the service keeps serving and stores again once space is freed. Needs root (mount), as the test machines run.</summary>
public sealed class FullDiskTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Full_disk_answers_A700_leaves_nothing_partial_and_recovers()
    {
        var root = Support.NewTempDir("qcdisk");
        var data = Path.Combine(root, "data");
        var input = Path.Combine(root, "in");
        Directory.CreateDirectory(data);
        var mount = await Support.RunAsync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", data]);
        Assert.True(mount.ExitCode == 0, "mount tmpfs (needs root): " + mount.All);
        try
        {
            // The index lives outside the small file system: only the instance store runs full.
            await using (var svc = await InProcessService.StartAsync(data, $"--Database:ConnectionString=Data Source={Path.Combine(root, "qc.db")}"))
            {
                var files = Support.MakeCtFiles(input, 3);
                long fileSize = new FileInfo(files[0].Path).Length;
                // Leave room for one instance and a half: the first is stored, the next two fail mid-stream.
                var ballast = Path.Combine(data, "ballast.bin");
                long free = new DriveInfo(data).AvailableFreeSpace;
                long ballastSize = free - (long)(fileSize * 1.5);
                Assert.True(ballastSize > 0, $"free {free}");
                await File.WriteAllBytesAsync(ballast, new byte[ballastSize]);

                // storescu stops an association after an out-of-resources answer, so the third goes on its own association.
                var store = await Support.StoreScuAsync(svc.DicomPort, [files[0].Path, files[1].Path]);
                output.WriteLine(store.All);
                var responses = Support.StoreResponses(store.All);
                Assert.Equal("Success", responses[files[0].Path]);
                Assert.Equal("Refused: OutOfResources", responses[files[1].Path]);
                store = await Support.StoreScuAsync(svc.DicomPort, [files[2].Path]);
                Assert.Equal("Refused: OutOfResources", Support.StoreResponses(store.All)[files[2].Path]);

                // Nothing partial is visible, nothing half-written is left in tmp, and only the stored one is indexed.
                var visible = Directory.GetFiles(Path.Combine(data, "instances"), "*", SearchOption.AllDirectories);
                var one = Assert.Single(visible);
                Assert.EndsWith(files[0].SopInstanceUid + ".dcm", one, StringComparison.Ordinal);
                Assert.Empty(Directory.GetFiles(Path.Combine(data, "tmp")));
                var dbPath = Path.Combine(root, "qc.db");
                Assert.Equal(files[0].SopInstanceUid, Assert.Single(Support.Rows(dbPath)).SopInstanceUid);
                Assert.True(svc.Metrics.IngestFailuresTotal.WithLabels("disk_full").Value >= 2);
                Assert.Equal(2, svc.Metrics.InstancesTotal.WithLabels("failure", "A700").Value);

                // Still serving; after space is freed, stores again.
                var echo = await Support.EchoScuAsync(svc.DicomPort);
                Assert.True(echo.ExitCode == 0, echo.All);
                File.Delete(ballast);
                store = await Support.StoreScuAsync(svc.DicomPort, [files[1].Path]);
                Assert.Equal("Success", Support.StoreResponses(store.All)[files[1].Path]);
                Assert.Equal(2, Support.Rows(dbPath).Count);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            var um = await Support.RunAsync("umount", [data]);
            if (um.ExitCode != 0) await Support.RunAsync("umount", ["-l", data]);
            Support.TryDeleteDir(root);
        }
    }
}
