using System.Diagnostics;
using System.Text;

namespace QcPipeline.Service.Tests;

/// <summary>storescu -v running in the background; its log (stderr, unbuffered) is followed line by line so a test can act
/// after the Nth acknowledged instance, while the transfer is still going on.</summary>
public sealed class StoreScuRun : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _threshold;
    private int _successes;

    public StoreScuRun(int port, IEnumerable<string> files, int actAfterSuccesses)
    {
        _threshold = actAfterSuccesses;
        var psi = new ProcessStartInfo("storescu") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-v", "-aec", "QCPIPE", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. files])
            psi.ArgumentList.Add(a);
        psi.Environment["TCP_NODELAY"] = "1";
        _process = new Process { StartInfo = psi };
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.Start();
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
        if (line.Contains("Received Store Response (Success)", StringComparison.Ordinal) && Interlocked.Increment(ref _successes) == _threshold)
            _reached.TrySetResult();
    }

    /// <summary>Completes when the Nth success response has been logged.</summary>
    public Task Reached => _reached.Task.WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Waits for storescu to end and returns its whole log.</summary>
    public async Task<string> FinishAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        _process.WaitForExit(); // drain the redirected output
        lock (_log) return _log.ToString();
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
    }
}
