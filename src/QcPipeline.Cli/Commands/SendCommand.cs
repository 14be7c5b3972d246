using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using QcPipeline.Cli.Network;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;
using Spectre.Console;

namespace QcPipeline.Cli.Commands;

/// <summary><c>qc send HOST PORT PATH...</c>: C-STORE SCU (PS3.4 Annex B). Reads each file's header, proposes a
/// presentation context per SOP class and transfer syntax needed (<see cref="StoreScu"/>), streams each data set
/// from its file when the accepted syntax is the file's own and re-encodes it otherwise, and ends with a summary.
/// One association for everything (several when more than 127 contexts are needed); a failure status moves on to the
/// next file; an association lost mid-way is re-established once and the instance in flight counts as failed.
/// Exit 0 when every file was stored (warning statuses included), 1 otherwise, 3 on a usage error.</summary>
public static class SendCommand
{
    /// <summary><c>--ts</c>: <c>keep</c> (null) proposes each file's own syntax with uncompressed fallbacks; the others
    /// send everything in that one syntax. Native syntaxes and RLE are written here; the other encapsulated ones are
    /// only passed through (a file already in them), as the toolkit has no encoder for them.</summary>
    public static readonly IReadOnlyDictionary<string, TransferSyntax?> Syntaxes = new Dictionary<string, TransferSyntax?>(StringComparer.Ordinal)
    {
        ["keep"] = null,
        ["explicit-le"] = TransferSyntax.ExplicitVRLittleEndian,
        ["implicit-le"] = TransferSyntax.ImplicitVRLittleEndian,
        ["explicit-be"] = TransferSyntax.ExplicitVRBigEndian,
        ["deflate"] = TransferSyntax.DeflatedExplicitVRLittleEndian,
        ["rle"] = TransferSyntax.RleLossless,
        ["jpeg-lossless"] = TransferSyntax.JpegLosslessSV1,
        ["jpeg-ls"] = TransferSyntax.JpegLSLossless,
        ["j2k-lossless"] = TransferSyntax.Jpeg2000Lossless,
    };

    public static Command Create(CliConsole console)
    {
        var association = new AssociationArguments();
        var command = new Command("send", "Send DICOM files to a peer with C-STORE");
        association.AddTo(command);
        var paths = FileArgument.Many("PATH", "DICOM files or folders");
        var ts = new Option<string>("--ts")
        {
            HelpName = "SYNTAX",
            Description = "keep (each file's own syntax, with uncompressed fallbacks), explicit-le, implicit-le, explicit-be, deflate, rle, "
                + "or jpeg-lossless, jpeg-ls, j2k-lossless (files already in them only)",
            DefaultValueFactory = _ => "keep",
        };
        ts.AcceptOnlyFromAmong([.. Syntaxes.Keys]);
        var recursive = new Option<bool>("--recursive", "-r")
        {
            HelpName = "true|false",
            Description = "Search folders recursively (--recursive false: only the files directly in them)",
            DefaultValueFactory = _ => true,
            Arity = ArgumentArity.ZeroOrOne,
        };
        var noProgress = new Option<bool>("--no-progress") { Description = "No progress bar (there is none when stdout is not a terminal)" };
        command.Add(paths);
        command.Add(ts);
        command.Add(recursive);
        command.Add(noProgress);
        // Asynchronous action: Ctrl+C cancels the token; the association is aborted and what was done is summarised.
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = association.Build(parseResult, console);
            if (options is null) return ExitCodes.Usage;
            var (host, port) = association.Peer(parseResult);
            using var interruption = new Interruption(console, cancellationToken);
            var request = new SendRequest(host, port, options, parseResult.GetRequiredValue(paths), Syntaxes[parseResult.GetValue(ts) ?? "keep"],
                parseResult.GetValue(recursive), Progress: !parseResult.GetValue(noProgress) && console.OutIsTerminal);
            return await ExecuteAsync(console, request, interruption.Token).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>What to send where. <paramref name="Target"/> null is "keep".</summary>
    public sealed record SendRequest(string Host, int Port, DicomClientOptions Options, IReadOnlyList<string> Paths, TransferSyntax? Target,
        bool Recursive, bool Progress);

    private enum Kind { Sent, Warning, Failed }

    private sealed record Outcome(string Path, Kind Kind, string Message);

    public static async Task<int> ExecuteAsync(CliConsole console, SendRequest request, CancellationToken cancellationToken = default)
    {
        var outcomes = new List<Outcome>();
        var files = Scan(console, request, outcomes);
        if (files.Count == 0 && outcomes.Count == 0)
        {
            console.Error.WriteLine("qc: no files to send");
            return ExitCodes.Failed;
        }

        var watch = Stopwatch.StartNew();
        var run = new SendRun(request, files, outcomes);
        int scanFailures = outcomes.Count;
        try
        {
            await RunAsync(run, request, files, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var finished = outcomes.Skip(scanFailures).Select(o => o.Path).ToHashSet(StringComparer.Ordinal);
            var unsent = files.Where(f => !finished.Contains(f.Path)).ToList();
            run.Notes.Add($"qc: cancelled; {unsent.Count} file(s) not sent");
            outcomes.AddRange(unsent.Select(f => new Outcome(f.Path, Kind.Failed, "not sent: cancelled")));
        }
        watch.Stop();

        // Association-level problems were held back while the progress bar was drawn.
        foreach (var note in run.Notes) console.Error.WriteLine(note);
        PrintSummary(console.Out, outcomes, run.BytesSent, watch.Elapsed);
        return outcomes.Any(o => o.Kind == Kind.Failed) ? ExitCodes.Failed : ExitCodes.Ok;
    }

    private static async Task RunAsync(SendRun run, SendRequest request, List<StoreScuFile> files, CancellationToken cancellationToken)
    {
        if (request.Progress && files.Count > 0)
        {
            // The summary goes to our buffered stdout, still empty here: Spectre draws on the terminal itself.
            var ansi = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
            await ansi.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                    new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(Describe(0, files.Count), maxValue: Math.Max(1, files.Sum(f => f.DatasetLength)));
                    run.OnProgress = (done, bytes) =>
                    {
                        task.Description = Describe(done, files.Count);
                        task.Value = Math.Min(bytes, task.MaxValue);
                    };
                    await run.RunAsync(cancellationToken).ConfigureAwait(false);
                    task.Value = task.MaxValue;
                }).ConfigureAwait(false);
        }
        else
        {
            await run.RunAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Describe(int done, int total) => $"sending {done}/{total} files";

    /// <summary>Reads every header first: the presentation contexts must be known before associating. A file that is not
    /// DICOM (or not an instance) is reported and counts as failed; a DICOMDIR inside a folder is passed over.</summary>
    private static List<StoreScuFile> Scan(CliConsole console, SendRequest request, List<Outcome> outcomes)
    {
        var files = new List<StoreScuFile>();
        foreach (var input in DicomInputs.Expand(request.Paths, request.Recursive))
        {
            if (input.Folder is not null && string.Equals(Path.GetFileName(input.Path), "DICOMDIR", StringComparison.OrdinalIgnoreCase)) continue;
            string? problem = null;
            try
            {
                var file = StoreScuFile.Read(input.Path);
                if (request.Target is { } target && !StoreScu.CanTranscode(file.TransferSyntax, target))
                    problem = $"cannot be converted from {file.TransferSyntax.Name} to {target.Name}";
                else
                    files.Add(file);
            }
            catch (DicomFormatException ex) { problem = "not readable DICOM: " + ex.Message; }
            catch (FileNotFoundException) { problem = "no such file"; }
            catch (DirectoryNotFoundException) { problem = "no such file"; }
            catch (UnauthorizedAccessException ex) { problem = ex.Message; }
            catch (IOException ex) { problem = ex.Message; }
            if (problem is not null)
            {
                console.Fail(input.Path, problem);
                outcomes.Add(new Outcome(input.Path, Kind.Failed, problem));
            }
        }
        return files;
    }

    private static void PrintSummary(TextWriter output, List<Outcome> outcomes, long bytes, TimeSpan elapsed)
    {
        int warnings = outcomes.Count(o => o.Kind == Kind.Warning);
        int sent = outcomes.Count(o => o.Kind == Kind.Sent) + warnings;
        int failed = outcomes.Count(o => o.Kind == Kind.Failed);
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-6);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sent {sent}, warnings {warnings}, failed {failed}; {bytes} bytes ({FormatBytes(bytes)}) in {elapsed.TotalSeconds:0.00} s, {sent / seconds:0.0} instances/s, {bytes / seconds / (1 << 20):0.0} MiB/s"));
        foreach (var o in outcomes.Where(o => o.Kind == Kind.Warning)) output.WriteLine($"warning: {o.Path}: {o.Message}");
        foreach (var o in outcomes.Where(o => o.Kind == Kind.Failed)) output.WriteLine($"failed: {o.Path}: {o.Message}");
    }

    private static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    /// <summary>The sending loop over the planned associations.</summary>
    private sealed class SendRun(SendRequest request, List<StoreScuFile> files, List<Outcome> outcomes)
    {
        private int _done;
        private long _doneBytes;

        /// <summary>Files finished, and bytes of the data sets as stored (finished files plus the current one's progress).</summary>
        public Action<int, long>? OnProgress { get; set; }

        /// <summary>One line per association problem, printed after the progress bar.</summary>
        public List<string> Notes { get; } = [];

        /// <summary>Data set bytes of the instances the peer stored (success or warning), as sent.</summary>
        public long BytesSent { get; private set; }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            foreach (var plan in StoreScu.Plan(files, request.Target))
                await RunAssociationAsync(plan, cancellationToken).ConfigureAwait(false);
        }

        private string? Problem(Exception ex) => AssociationArguments.Describe(ex, request.Host, request.Port);

        private async Task RunAssociationAsync(StoreScuAssociation plan, CancellationToken cancellationToken)
        {
            DicomClient? client = null;
            // Reconnect after a lost association only when an instance was stored since the last loss: a peer that drops
            // every association must not be hammered once per remaining file.
            bool storedSinceLoss = true;
            int next = 0;
            try
            {
                while (next < plan.Files.Count)
                {
                    if (client is null)
                    {
                        try
                        {
                            client = await DicomClient.ConnectAsync(request.Host, request.Port, plan.Contexts, request.Options, cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (Problem(ex) is { } problem)
                        {
                            Notes.Add($"qc: {problem}");
                            for (; next < plan.Files.Count; next++) Finish(files[plan.Files[next]], Kind.Failed, $"not sent: {problem}");
                            return;
                        }
                    }

                    var file = files[plan.Files[next++]];
                    var route = StoreScu.Route(client.Accept, plan.Contexts, file, request.Target);
                    if (route is null)
                    {
                        Finish(file, Kind.Failed, StoreScu.DescribeNoRoute(client.Accept, plan.Contexts, file));
                        continue;
                    }
                    Stream body;
                    try
                    {
                        body = StoreScu.OpenDataset(file, route);
                    }
                    catch (Exception ex) when (ex is NotSupportedException or DicomPixelDataException or DicomFormatException or InvalidOperationException
                                                   or IOException or UnauthorizedAccessException)
                    {
                        string what = route.Transcode ? $"cannot convert from {file.TransferSyntax.Name} to {route.SendAs.Name}: " : "";
                        Finish(file, Kind.Failed, what + ex.Message);
                        continue;
                    }

                    await using (body.ConfigureAwait(false))
                    {
                        var counted = new CountingStream(body, read => OnProgress?.Invoke(_done, _doneBytes + Math.Min(read, file.DatasetLength)));
                        try
                        {
                            var response = await client.StoreAsync(route.Context.Id, file.SopClassUid, file.SopInstanceUid, counted, cancellationToken: cancellationToken).ConfigureAwait(false);
                            string status = DicomStatus.Describe(response.Status);
                            if (!string.IsNullOrWhiteSpace(response.ErrorComment)) status += ": " + response.ErrorComment.Trim();
                            var kind = DicomStatus.Category(response.Status) switch
                            {
                                "success" => Kind.Sent,
                                "warning" => Kind.Warning,
                                _ => Kind.Failed,
                            };
                            if (kind != Kind.Failed)
                            {
                                BytesSent += counted.BytesRead;
                                storedSinceLoss = true;
                            }
                            Finish(file, kind, status);
                        }
                        catch (Exception ex) when (Problem(ex) is { } problem)
                        {
                            Finish(file, Kind.Failed, problem);
                            Notes.Add($"qc: {problem}");
                            await client.DisposeAsync().ConfigureAwait(false); // A-ABORT unless the peer already ended it
                            client = null;
                            if (!storedSinceLoss)
                            {
                                for (; next < plan.Files.Count; next++) Finish(files[plan.Files[next]], Kind.Failed, $"not sent: association lost again ({problem})");
                                return;
                            }
                            storedSinceLoss = false;
                        }
                    }
                }
                if (client is not null)
                {
                    try
                    {
                        await client.ReleaseAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (Problem(ex) is { } problem)
                    {
                        // Every instance was answered already; a failed release loses nothing.
                        Notes.Add($"qc: release: {problem}");
                    }
                }
            }
            finally
            {
                if (client is not null) await client.DisposeAsync().ConfigureAwait(false);
            }
        }

        private void Finish(StoreScuFile file, Kind kind, string message)
        {
            outcomes.Add(new Outcome(file.Path, kind, message));
            _done++;
            _doneBytes += file.DatasetLength;
            OnProgress?.Invoke(_done, _doneBytes);
        }
    }

    /// <summary>Read-only pass-through that reports how many bytes have been read so far (progress within a file).</summary>
    private sealed class CountingStream(Stream inner, Action<long> onRead) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int n)
        {
            BytesRead += n;
            onRead(BytesRead);
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
