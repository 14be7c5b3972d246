using System.Runtime.InteropServices;

namespace QcPipeline.Cli.Network;

/// <summary>Ctrl+C or SIGTERM during <c>qc echo</c>/<c>qc send</c>: the first one cancels <see cref="Token"/>, so the
/// command aborts its association (A-ABORT rather than a dropped connection) and prints what it did; a second one ends
/// the process as usual. Signals are taken only when <see cref="CliConsole.HandlesSignals"/> (the real process, not tests).</summary>
public sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly PosixSignalRegistration[] _registrations;

    public Interruption(CliConsole console, CancellationToken cancellationToken)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _registrations = console.HandlesSignals ? [Register(PosixSignal.SIGINT), Register(PosixSignal.SIGTERM)] : [];
    }

    public CancellationToken Token => _cts.Token;

    private PosixSignalRegistration Register(PosixSignal signal) => PosixSignalRegistration.Create(signal, context =>
    {
        if (_cts.IsCancellationRequested) return; // the second signal: let it end the process
        context.Cancel = true;
        _cts.Cancel();
    });

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _cts.Dispose();
    }
}
