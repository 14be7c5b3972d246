using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace QcPipeline.Service.Tests;

/// <summary>The service as a separate process (<c>dotnet QcPipeline.Service.dll</c>), for kill, start-up and multi-process
/// (roles) tests.</summary>
public sealed partial class ChildService : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<(string Roles, Uri Http)> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildService(Process process) => _process = process;

    public int DicomPort => _port.Task.Result;
    public string Output { get { lock (_output) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;
    /// <summary>The process id: with the host name, what the service records as <c>ClaimedBy</c> and a result's <c>Worker</c>.</summary>
    public int Pid => _process.Id;
    /// <summary>The HTTP base address it bound (after <see cref="WaitStartedAsync"/>).</summary>
    public Uri HttpBase => _started.Task.Result.Http;
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts the service with <paramref name="args"/> in <paramref name="workDir"/>; <see cref="WaitBoundAsync"/> waits for the DICOM port.</summary>
    public static ChildService Start(string workDir, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Support.ServiceDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var child = new ChildService(p);
        p.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        p.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        p.Exited += (_, _) =>
        {
            child._port.TrySetException(new InvalidOperationException("the service exited before binding"));
            child._started.TrySetException(new InvalidOperationException("the service exited before it started"));
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return child;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        var m = Bound().Match(line);
        if (m.Success) _port.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        // Never throw here: this runs on the output reader's thread, where an exception ends the test host. (A JSON console
        // line used to end the URL with its closing quote: "Invalid port specified".)
        m = Started().Match(line);
        if (m.Success && Uri.TryCreate(m.Groups[2].Value.Split(';')[0], UriKind.Absolute, out var http)) _started.TrySetResult((m.Groups[1].Value, http));
    }

    [GeneratedRegex(@"DICOM listener bound on [^ ]+:(\d+) ")]
    private static partial Regex Bound();

    [GeneratedRegex(@"Service started: roles ([a-z,]+); HTTP ([^\s""\\]+)")]
    private static partial Regex Started();

    /// <summary>Waits for the line the service logs when every part of its roles has started (a worker has no DICOM port to
    /// wait for); returns its roles as logged.</summary>
    public async Task<string> WaitStartedAsync(TimeSpan? timeout = null)
    {
        try
        {
            return (await _started.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60))).Roles;
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException("service did not start: " + Output, ex);
        }
    }

    public async Task<int> WaitBoundAsync(TimeSpan? timeout = null)
    {
        try
        {
            return await _port.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException("service did not bind: " + Output, ex);
        }
    }

    public async Task<int> WaitExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // drain the redirected output
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or power cut of the process.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
