using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Tests;

public sealed class DirectorySyncGroupTests
{
    [Fact]
    public async Task Callers_during_a_running_fsync_share_the_next_one_and_none_returns_before_an_fsync_that_started_after_it()
    {
        int started = 0;
        var gates = new[] { new SemaphoreSlim(0), new SemaphoreSlim(0), new SemaphoreSlim(0) };
        var group = new DirectorySyncGroup(_ => gates[Interlocked.Increment(ref started) - 1].Wait());

        var a = group.SyncAsync("/d");
        await WaitFor(() => Volatile.Read(ref started) == 1);
        var others = Enumerable.Range(0, 10).Select(_ => group.SyncAsync("/d")).ToArray(); // asked while fsync #1 runs
        var elsewhere = group.SyncAsync("/e");                                               // another folder: its own fsync
        await WaitFor(() => Volatile.Read(ref started) == 2);
        Assert.False(a.IsCompleted);

        gates[0].Release(); // fsync #1 (of /d, or of /e: whichever started first) ends
        gates[1].Release();
        await WaitFor(() => Volatile.Read(ref started) == 3); // the second round for the 10 callers of /d
        await a;
        await elsewhere;
        Assert.All(others, t => Assert.False(t.IsCompleted)); // #1 may have started before their renames: not enough
        gates[2].Release();
        await Task.WhenAll(others);
        Assert.Equal(3, Volatile.Read(ref started)); // 12 callers, 3 fsyncs
    }

    [Fact]
    public async Task A_failed_fsync_fails_its_callers_and_the_next_round_starts_afresh()
    {
        int calls = 0;
        var group = new DirectorySyncGroup(_ =>
        {
            if (Interlocked.Increment(ref calls) == 1) throw new IOException("fsync of a directory failed (errno 5)");
        });
        await Assert.ThrowsAsync<IOException>(() => group.SyncAsync("/d"));
        await group.SyncAsync("/d");
        Assert.Equal(2, calls);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException();
            await Task.Delay(5);
        }
    }
}
