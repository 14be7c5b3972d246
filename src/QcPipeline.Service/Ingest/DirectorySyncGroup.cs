namespace QcPipeline.Service.Ingest;

/// <summary>Group commit for directory fsyncs. Instances of one series land in one folder, and with several senders (or
/// STOW-RS parts completing side by side) many renames into it want an fsync of it at the same time. A caller must be
/// covered by an fsync that <em>starts after</em> its rename: it joins the next one when one is already running (that one
/// may have started before the rename), or starts one. So N concurrent callers cost about two fsyncs, not N, and each
/// still returns only once its rename is durable.</summary>
internal sealed class DirectorySyncGroup(Action<string> sync, Func<Action, Task>? run = null)
{
    // Where the blocking fsync runs: the ingest path's SyncThreads; the thread pool when none is given (tests).
    private readonly Func<Action, Task> _run = run ?? (a => Task.Run(a));

    private sealed class Folder
    {
        public Task? Running;
        public TaskCompletionSource? Next;
    }

    private readonly Dictionary<string, Folder> _folders = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Completes when an fsync of <paramref name="dir"/> that started after this call has finished (its failure is
    /// this call's failure).</summary>
    public Task SyncAsync(string dir)
    {
        lock (_lock)
        {
            if (!_folders.TryGetValue(dir, out var folder)) _folders[dir] = folder = new Folder();
            if (folder.Running is null)
            {
                folder.Running = RunAsync(dir, folder);
                return folder.Running;
            }
            folder.Next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return folder.Next.Task;
        }
    }

    private async Task RunAsync(string dir, Folder folder)
    {
        try
        {
            await _run(() => sync(dir)).ConfigureAwait(false);
        }
        finally
        {
            TaskCompletionSource? next;
            lock (_lock)
            {
                next = folder.Next;
                folder.Next = null;
                if (next is null)
                {
                    folder.Running = null;
                    _folders.Remove(dir);
                }
                else
                {
                    folder.Running = Chain(dir, folder, next);
                }
            }
        }
    }

    /// <summary>The next round: one fsync for everyone who asked while the previous one ran.</summary>
    private async Task Chain(string dir, Folder folder, TaskCompletionSource waiters)
    {
        await Task.Yield();
        try
        {
            await RunAsync(dir, folder).ConfigureAwait(false);
            waiters.TrySetResult();
        }
        catch (Exception ex)
        {
            waiters.TrySetException(ex);
        }
    }
}
