namespace QcPipeline.Service.Bus;

/// <summary>Wakes the <see cref="OutboxDispatcher"/> after a commit that added outbox rows, so messages go out promptly
/// instead of at the next poll. Any number of signals before the dispatcher looks collapse into one (bounded).</summary>
public sealed class OutboxSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        try { _signal.Release(); }
        catch (SemaphoreFullException) { /* already signalled */ }
        catch (ObjectDisposedException) { /* shutting down */ }
    }

    /// <summary>Waits for a signal or <paramref name="timeout"/>, whichever is first.</summary>
    public void Dispose() => _signal.Dispose();

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
