using System.Text;
using QcPipeline.Cli;

// Buffered stdout: commands such as `qc json` over many files write a lot; flushed before exit.
using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 64 * 1024) { AutoFlush = false };
int exitCode = QcCli.Run(args, stdout, Console.Error, stdoutIsTerminal: !Console.IsOutputRedirected, handleSignals: true);
stdout.Flush();
return exitCode;
