using System.CommandLine;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Cli.Commands;

/// <summary><c>qc convert FILE --ts SYNTAX -o OUT</c>: rewrites a file in another transfer syntax, decompressing
/// encapsulated pixel data (RLE, JPEG lossless, JPEG-LS, JPEG 2000) or compressing to RLE Lossless as needed.</summary>
public static class ConvertCommand
{
    /// <summary>The syntaxes <c>--ts</c> accepts (PS3.5 §A.1, §A.2, §A.5; explicit big endian is retired but still read and written).</summary>
    public static readonly IReadOnlyDictionary<string, TransferSyntax> Syntaxes = new Dictionary<string, TransferSyntax>(StringComparer.Ordinal)
    {
        ["explicit-le"] = TransferSyntax.ExplicitVRLittleEndian,
        ["implicit-le"] = TransferSyntax.ImplicitVRLittleEndian,
        ["explicit-be"] = TransferSyntax.ExplicitVRBigEndian,
        ["deflate"] = TransferSyntax.DeflatedExplicitVRLittleEndian,
        ["rle"] = TransferSyntax.RleLossless,
    };

    public static Command Create(CliConsole console)
    {
        var file = FileArgument.One("FILE", "The DICOM file to read");
        var ts = new Option<string>("--ts") { Description = "Transfer syntax to write", Required = true };
        ts.AcceptOnlyFromAmong([.. Syntaxes.Keys]);
        var output = new Option<string>("--output", "-o") { Description = "The file to write (replaced if it exists)", Required = true };

        var command = new Command("convert", "Rewrite a DICOM file in another transfer syntax") { file, ts, output };
        command.SetAction(parseResult => Execute(
            console,
            parseResult.GetRequiredValue(file),
            Syntaxes[parseResult.GetRequiredValue(ts)],
            parseResult.GetRequiredValue(output)));
        return command;
    }

    public static int Execute(CliConsole console, string inputPath, TransferSyntax target, string outputPath)
    {
        using var file = console.TryOpen(inputPath, DicomReadOptions.Default);
        if (file is null) return ExitCodes.Failed;

        DicomFile converted;
        try
        {
            converted = DicomTranscoder.Transcode(file, target);
        }
        catch (NotSupportedException ex)
        {
            console.Fail(inputPath, ex.Message);
            return ExitCodes.Failed;
        }
        catch (Dicom.Imaging.DicomPixelDataException ex)
        {
            console.Fail(inputPath, ex.Message);
            return ExitCodes.Failed;
        }

        // Write beside the target and rename, so a failed write never leaves a half-written file under the output name.
        var fullOutput = Path.GetFullPath(outputPath);
        var temp = Path.Combine(Path.GetDirectoryName(fullOutput)!, $".{Path.GetFileName(fullOutput)}.{Guid.NewGuid():N}.tmp");
        try
        {
            converted.Save(temp, target);
            File.Move(temp, fullOutput, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            console.Fail(outputPath, ex.Message);
            return ExitCodes.Failed;
        }
        console.Out.WriteLine($"{outputPath}: {target.Name}, {new FileInfo(fullOutput).Length} bytes");
        return ExitCodes.Ok;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* best effort: the temp name is unique and hidden */ }
        catch (UnauthorizedAccessException) { /* as above */ }
    }
}
