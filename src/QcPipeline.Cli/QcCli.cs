using System.CommandLine;
using System.CommandLine.Invocation;
using QcPipeline.Cli.Commands;

namespace QcPipeline.Cli;

/// <summary>Exit codes of <c>qc</c>. 2 is used only by <c>qc analyze</c> (inconclusive); the other commands leave it out
/// because shells and some runners use it for their own misuse errors.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>At least one input could not be read or written (the message names it); the other inputs were still
    /// processed. For <c>qc analyze</c> also: a QC test failed.</summary>
    public const int Failed = 1;
    /// <summary><c>qc analyze</c>: a result is inconclusive and none failed.</summary>
    public const int Inconclusive = 2;
    /// <summary>The command line was wrong (unknown option, missing argument, bad value).</summary>
    public const int Usage = 3;
}

/// <summary>The <c>qc</c> command tree. Built per call with the writers it prints to, so tests run it in-process.</summary>
public static class QcCli
{
    /// <param name="stdoutIsTerminal">True when <paramref name="stdout"/> writes to an interactive terminal (progress bars).</param>
    /// <param name="handleSignals">True in the real process: the network commands take Ctrl+C/SIGTERM to abort cleanly.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool stdoutIsTerminal = false, bool handleSignals = false)
    {
        var console = new CliConsole(stdout, stderr) { OutIsTerminal = stdoutIsTerminal, HandlesSignals = handleSignals };
        var root = BuildRootCommand(console);
        var parseResult = root.Parse(args);
        // System.CommandLine's own termination handling returns at once on Ctrl+C, before the action has aborted its
        // association or printed its summary; the network commands handle the signals themselves (Network/Interruption).
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null };
        if (parseResult.Action is ParseErrorAction)
        {
            // System.CommandLine answers a parse error with exit code 1 (and writes part of it to stdout); ours is 3,
            // all on stderr, so a script can tell a typo from a bad file.
            foreach (var error in parseResult.Errors) stderr.WriteLine($"qc: {error.Message}");
            stderr.WriteLine("Run 'qc --help' or 'qc COMMAND --help' for usage.");
            return ExitCodes.Usage;
        }
        return parseResult.Invoke(invocation);
    }

    /// <summary>One line per command: adding a command (e.g. <c>json</c>) is one class under Commands/ and one line here.</summary>
    public static RootCommand BuildRootCommand(CliConsole console)
    {
        var root = new RootCommand("qc: QcPipeline's command-line tool for DICOM files and peers.");
        root.Add(DumpCommand.Create(console));
        root.Add(JsonCommand.Create(console));
        root.Add(ConvertCommand.Create(console));
        root.Add(LabelsCommand.Create(console));
        root.Add(AnalyzeCommand.Create(console));
        root.Add(PhantomCommand.Create(console));
        root.Add(EchoCommand.Create(console));
        root.Add(SendCommand.Create(console));
        return root;
    }
}
