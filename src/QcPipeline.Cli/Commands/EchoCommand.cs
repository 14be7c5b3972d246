using System.CommandLine;
using System.Diagnostics;
using QcPipeline.Cli.Network;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Cli.Commands;

/// <summary><c>qc echo HOST PORT</c>: C-ECHO SCU (PS3.4 Annex A, PS3.7 §9.1.5). Associates proposing Verification,
/// sends one C-ECHO and releases. Exit 0 on success status; 1 on any other status, rejection, abort, timeout or a
/// refused connection (one line on stderr, no stack trace); 3 on a usage error or an unusable TLS file.</summary>
public static class EchoCommand
{
    public static Command Create(CliConsole console)
    {
        var association = new AssociationArguments();
        var command = new Command("echo", "Check a DICOM peer with C-ECHO (Verification)");
        association.AddTo(command);
        // Asynchronous action: Ctrl+C cancels the token, and the association is aborted rather than dropped.
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = association.Build(parseResult, console);
            if (options is null) return ExitCodes.Usage;
            var (host, port) = association.Peer(parseResult);
            using var interruption = new Interruption(console, cancellationToken);
            return await ExecuteAsync(console, host, port, options, interruption.Token).ConfigureAwait(false);
        });
        return command;
    }

    public static async Task<int> ExecuteAsync(CliConsole console, string host, int port, DicomClientOptions options, CancellationToken cancellationToken = default)
    {
        // Implicit VR LE is the default syntax every SCP supports (PS3.5 §10.1); explicit first as the usual preference.
        PresentationContextRequest[] contexts = [new(1, DicomUids.Verification, [DicomUids.ExplicitVRLittleEndian, DicomUids.ImplicitVRLittleEndian])];
        try
        {
            await using var client = await DicomClient.ConnectAsync(host, port, contexts, options, cancellationToken).ConfigureAwait(false);
            var context = client.FindContext(contexts, DicomUids.Verification);
            if (context is null)
            {
                console.Error.WriteLine($"qc: {host}:{port} {options.CalledAeTitle} did not accept the Verification SOP class");
                await client.AbortAsync().ConfigureAwait(false);
                return ExitCodes.Failed;
            }
            // The first command set built and parsed initialises the data dictionary (tens of ms); do that before timing
            // so the figure is the round trip, as a repeated echo would show it.
            _ = DimseCommand.Parse(DimseCommand.Response(CommandField.CEchoRq, 0, DicomStatus.Success, DicomUids.Verification));
            var watch = Stopwatch.StartNew();
            var response = await client.EchoAsync(context.Id, cancellationToken).ConfigureAwait(false);
            watch.Stop();
            try
            {
                await client.ReleaseAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (AssociationArguments.Describe(ex, host, port) is { } problem)
            {
                // The echo itself was answered; a failed release does not change that, but is worth saying.
                console.Error.WriteLine($"qc: release: {problem}");
            }
            string status = response.IsSuccess ? $"success (0x{response.Status:X4})" : DicomStatus.Describe(response.Status);
            string comment = string.IsNullOrWhiteSpace(response.ErrorComment) ? "" : $": {response.ErrorComment.Trim()}";
            console.Out.WriteLine($"echo {host}:{port} {options.CalledAeTitle}: {status}{comment} in {watch.Elapsed.TotalMilliseconds:0} ms");
            return response.IsSuccess ? ExitCodes.Ok : ExitCodes.Failed;
        }
        catch (Exception ex) when (AssociationArguments.Describe(ex, host, port) is { } problem)
        {
            console.Error.WriteLine($"qc: {problem}");
            return ExitCodes.Failed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.Error.WriteLine("qc: cancelled");
            return ExitCodes.Failed;
        }
    }
}
