using System.Globalization;
using System.CommandLine;
using QcPipeline.Cli.Dump;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Cli.Commands;

/// <summary><c>qc dump FILE...</c>: the elements of each file, one per line, as dcmdump prints them.</summary>
public static class DumpCommand
{
    public static Command Create(CliConsole console)
    {
        var files = FileArgument.Many("FILE", "DICOM files (Part 10, or bare datasets)");
        var headerOnly = new Option<bool>("--header-only") { Description = "Read only the bytes before the pixel data" };
        var maxValueLength = new Option<int>("--max-value-length")
        {
            Description = "Cut printed values longer than this many characters with '...' (0: no limit)",
            DefaultValueFactory = _ => 64,
        };
        maxValueLength.Validators.Add(r =>
        {
            // Only judge a value that parsed; an unparsable one already carries the parser's error.
            if (r.Tokens.Count == 1 && int.TryParse(r.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n < 0)
                r.AddError("--max-value-length must be 0 or more");
        });
        var noKeywords = new Option<bool>("--no-keywords") { Description = "Leave the attribute keyword off each line" };

        var command = new Command("dump", "Print the elements of DICOM files") { files, headerOnly, maxValueLength, noKeywords };
        command.SetAction(parseResult => Execute(
            console,
            parseResult.GetRequiredValue(files),
            parseResult.GetValue(headerOnly),
            new DumpOptions(parseResult.GetValue(maxValueLength), ShowKeywords: !parseResult.GetValue(noKeywords))));
        return command;
    }

    /// <summary>Dumps every file it can read; a file that cannot be read is reported and the rest still dumped.</summary>
    public static int Execute(CliConsole console, IReadOnlyList<string> paths, bool headerOnly, DumpOptions options)
    {
        var readOptions = headerOnly ? DicomReadOptions.HeaderOnly : DicomReadOptions.Default;
        var dumper = new DatasetDumper(console.Out, options);
        int exitCode = ExitCodes.Ok;
        for (int i = 0; i < paths.Count; i++)
        {
            using var file = console.TryOpen(paths[i], readOptions);
            if (file is null) { exitCode = ExitCodes.Failed; continue; }
            if (paths.Count > 1)
            {
                if (i > 0) console.Out.WriteLine();
                console.Out.WriteLine($"# File: {paths[i]}");
            }
            dumper.DumpFile(file);
        }
        return exitCode;
    }
}
