using System.Collections.Concurrent;

namespace QcPipeline.Service.Ingest;

/// <summary>Dedicated threads for the blocking durability calls of ingest: fsync of instance files and of directories.
/// fsync blocks its thread for a millisecond or more. On the thread pool (two threads at start on a two-core machine, and
/// hill climbing adds more only slowly) a dozen concurrent fsyncs of STOW-RS parts and C-STORE associations would take every
/// pool thread, and socket reads, part parsing and index commits would queue behind them. Here they wait on their own
/// threads, side by side, so the file system can merge their journal commits, and the pool keeps serving the network.</summary>
internal sealed class SyncThreads : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread[] _threads;

    /// <param name="count">Threads; calls beyond this many at once wait their turn.</param>
    public SyncThreads(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _threads = new Thread[count];
        for (int i = 0; i < count; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"qc-fsync-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>Runs <paramref name="action"/> on one of the threads; its exception is the task's.</summary>
    public Task RunAsync(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _work.Add(() =>
            {
                try
                {
                    action();
                    done.SetResult();
                }
                catch (Exception ex)
                {
                    done.SetException(ex);
                }
            });
        }
        catch (InvalidOperationException)
        {
            // Shut down (the host is stopping): run it here rather than fail a completion that may already hold a file.
            action();
            return Task.CompletedTask;
        }
        return done.Task;
    }

    private void Run()
    {
        foreach (var item in _work.GetConsumingEnumerable()) item();
    }

    public void Dispose()
    {
        // Queued work still runs: the threads drain the collection before they end.
        _work.CompleteAdding();
        bool ended = true;
        foreach (var t in _threads) ended &= t.Join(TimeSpan.FromSeconds(10));
        if (ended) _work.Dispose();
    }
}
