using System.Buffers;
using System.CommandLine;
using System.Text;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Json;

namespace QcPipeline.Cli.Commands;

/// <summary><c>qc json FILE...</c>: each file's dataset in the DICOM JSON model (PS3.18 Annex F), one object per
/// file. Compact output is one object per line (JSON Lines), so several files stream into line-oriented tools.</summary>
public static class JsonCommand
{
    public static Command Create(CliConsole console)
    {
        var files = FileArgument.Many("FILE", "DICOM files (Part 10, or bare datasets)");
        var indent = new Option<bool>("--indent") { Description = "Indent the JSON (objects are then separated by a blank line)" };
        var keywords = new Option<bool>("--keywords") { Description = "Add a non-standard \"keyword\" member to each attribute" };
        var headerOnly = new Option<bool>("--header-only") { Description = "Read only the bytes before the pixel data (pixel data is left out)" };
        var meta = new Option<bool>("--meta") { Description = "Include the File Meta Information (group 0002) in the object" };

        var command = new Command("json", "Print DICOM files as DICOM JSON (PS3.18 Annex F)") { files, indent, keywords, headerOnly, meta };
        command.SetAction(parseResult => Execute(
            console,
            parseResult.GetRequiredValue(files),
            new DicomJsonOptions
            {
                Indented = parseResult.GetValue(indent),
                WriteKeywords = parseResult.GetValue(keywords),
                KeywordLookup = DicomDictionary.GetKeyword,
            },
            parseResult.GetValue(headerOnly),
            parseResult.GetValue(meta)));
        return command;
    }

    public static int Execute(CliConsole console, IReadOnlyList<string> paths, DicomJsonOptions options, bool headerOnly, bool includeMeta)
    {
        var readOptions = headerOnly ? DicomReadOptions.HeaderOnly : DicomReadOptions.Default;
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using var writer = DicomJson.CreateWriter(buffer, options);
        int exitCode = ExitCodes.Ok;
        bool first = true;
        foreach (var path in paths)
        {
            using var file = console.TryOpen(path, readOptions);
            if (file is null) { exitCode = ExitCodes.Failed; continue; }
            var dataset = file.Dataset;
            if (includeMeta)
            {
                dataset = file.Dataset.Clone();
                foreach (var item in file.FileMetaInformation) dataset.AddOrUpdate(item);
            }
            buffer.ResetWrittenCount();
            writer.Reset();
            try
            {
                DicomJson.Write(writer, dataset, options);
                writer.Flush();
            }
            catch (DicomJsonException ex)
            {
                console.Fail(path, ex.Message);
                exitCode = ExitCodes.Failed;
                continue;
            }
            if (!first && options.Indented) console.Out.WriteLine();
            first = false;
            WriteUtf8(console.Out, buffer.WrittenSpan);
            console.Out.WriteLine();
        }
        console.Out.Flush();
        return exitCode;
    }

    private static void WriteUtf8(TextWriter output, ReadOnlySpan<byte> utf8)
    {
        var chars = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(utf8.Length));
        try
        {
            int n = Encoding.UTF8.GetChars(utf8, chars);
            output.Write(chars, 0, n);
        }
        finally { ArrayPool<char>.Shared.Return(chars); }
    }
}
