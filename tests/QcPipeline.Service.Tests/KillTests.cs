using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>SIGKILL of the service in the middle of a transfer, then a restart on the same data folder.</summary>
public sealed class KillTests(ITestOutputHelper output)
{
    /// <summary>The default (information) level never logs a UID.</summary>
    private static void AssertNoUidsLogged(string log, List<Support.TestInstance> files)
    {
        Assert.Contains("DICOM listener bound", log, StringComparison.Ordinal);
        foreach (var f in files)
        {
            Assert.DoesNotContain(f.SopInstanceUid, log, StringComparison.Ordinal);
            Assert.DoesNotContain(f.SeriesUid, log, StringComparison.Ordinal);
            Assert.DoesNotContain(f.StudyUid, log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Killed_mid_transfer_every_acknowledged_instance_survives_and_tmp_is_cleaned()
    {
        var root = Support.NewTempDir("qckill");
        var data = Path.Combine(root, "data");
        var files = Support.MakeCtFiles(Path.Combine(root, "in"), 20);
        string[] args = ["--Dicom:Port=0", "--Http:Urls=http://127.0.0.1:0", $"--Storage:DataPath={data}"];
        try
        {
            string storeOutput;
            await using (var svc = ChildService.Start(root, args))
            {
                int port = await svc.WaitBoundAsync();
                using var scu = new StoreScuRun(port, files.Select(f => f.Path), actAfterSuccesses: 5);
                await scu.Reached;
                svc.Kill(); // while the transfer goes on
                storeOutput = await scu.FinishAsync();
                AssertNoUidsLogged(svc.Output, files);
            }
            var acknowledged = Support.StoreResponses(storeOutput).Where(kv => kv.Value == "Success").Select(kv => kv.Key).ToHashSet();
            output.WriteLine($"storescu got success for {acknowledged.Count} of {files.Count} before the kill");
            Assert.InRange(acknowledged.Count, 1, files.Count - 1);

            // What a crash can leave: a temp file, and a file renamed into place whose index commit never happened.
            Directory.CreateDirectory(Path.Combine(data, "tmp"));
            await File.WriteAllBytesAsync(Path.Combine(data, "tmp", "0123456789abcdef.part"), new byte[1000]);
            var orphanStudy = Support.NewUid();
            var orphanSeries = Support.NewUid();
            var orphanSop = Support.NewUid();
            var orphanDir = Path.Combine(data, "instances", orphanStudy, orphanSeries);
            Directory.CreateDirectory(orphanDir);
            Support.WriteVariant(Path.Combine(orphanDir, orphanSop + ".dcm"), orphanStudy, orphanSeries, orphanSop, 1, null);

            await using (var svc = ChildService.Start(root, args))
            {
                int port = await svc.WaitBoundAsync();
                Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(data, "tmp")));
                Assert.Empty(Directory.GetFiles(Path.Combine(data, "instances"), "*.part", SearchOption.AllDirectories));
                Assert.All(Directory.GetFiles(Path.Combine(data, "instances"), "*", SearchOption.AllDirectories), f => Assert.EndsWith(".dcm", f, StringComparison.Ordinal));

                var rows = Support.Rows(Path.Combine(data, "qc.db")).ToDictionary(r => r.SopInstanceUid);
                int compared = 0;
                foreach (var f in files.Where(f => acknowledged.Contains(f.Path)))
                {
                    Assert.True(rows.TryGetValue(f.SopInstanceUid, out var row), "acknowledged instance not indexed");
                    var stored = Path.Combine(data, row!.Path);
                    Assert.True(File.Exists(stored));
                    Assert.Equal(row.Sha256, Support.DatasetSha256(stored));
                    // dcmdump (a process each) on a few; the hash above covers the rest byte for byte.
                    if (compared++ < 3) Assert.Equal(await Support.DumpDatasetAsync(f.Path), await Support.DumpDatasetAsync(stored));
                }
                Assert.Equal("reconcile", rows[orphanSop].Source);
                // Every file under instances/ has its row, and every row its file.
                var onDisk = Directory.GetFiles(Path.Combine(data, "instances"), "*.dcm", SearchOption.AllDirectories);
                Assert.Equal(onDisk.Length, rows.Count);
                Assert.All(rows.Values, r => Assert.True(File.Exists(Path.Combine(data, r.Path))));

                // And it takes the whole set again: the rest stored, the acknowledged ones duplicates.
                var again = await Support.StoreScuAsync(port, files.Select(f => f.Path));
                Assert.True(again.ExitCode == 0, again.All);
                Assert.All(Support.StoreResponses(again.All).Values, v => Assert.Equal("Success", v));
                Assert.Equal(files.Count + 1, Support.Rows(Path.Combine(data, "qc.db")).Count);
                await Task.Delay(200); // the association's closing log line
                Assert.Contains("Association STORESCU -> QCPIPE", svc.Output, StringComparison.Ordinal);
                AssertNoUidsLogged(svc.Output, files);
            }
        }
        finally
        {
            Support.TryDeleteDir(root);
        }
    }
}
