using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Tests;

/// <summary>The dedicated fsync threads of the ingest path.</summary>
public sealed class SyncThreadsTests
{
    [Fact]
    public async Task Work_runs_on_its_own_threads_not_the_thread_pool()
    {
        using var threads = new SyncThreads(2);
        bool pool = true;
        string? name = null;
        await threads.RunAsync(() => { pool = Thread.CurrentThread.IsThreadPoolThread; name = Thread.CurrentThread.Name; });
        Assert.False(pool);
        Assert.StartsWith("qc-fsync-", name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blocking_calls_wait_side_by_side_up_to_the_thread_count()
    {
        // Four calls that each block until all four are blocked: only possible when they run at once.
        using var threads = new SyncThreads(4);
        using var barrier = new Barrier(4);
        var calls = Enumerable.Range(0, 4).Select(_ => threads.RunAsync(() => Assert.True(barrier.SignalAndWait(TimeSpan.FromSeconds(10))))).ToArray();
        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_failure_is_the_callers_and_the_threads_go_on()
    {
        using var threads = new SyncThreads(1);
        var ex = await Assert.ThrowsAsync<IOException>(() => threads.RunAsync(() => throw new IOException("EIO")));
        Assert.Equal("EIO", ex.Message);
        int ran = 0;
        await threads.RunAsync(() => ran++);
        Assert.Equal(1, ran);
    }

    [Fact]
    public async Task After_dispose_a_call_still_runs()
    {
        var threads = new SyncThreads(1);
        threads.Dispose();
        int ran = 0;
        await threads.RunAsync(() => ran++);
        Assert.Equal(1, ran);
    }
}
