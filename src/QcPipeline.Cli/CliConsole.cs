using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Cli;

/// <summary>Where a command prints, and the shared way it reports a bad input: <c>qc: FILE: message</c> on stderr, no stack trace.</summary>
public sealed class CliConsole(TextWriter output, TextWriter error)
{
    public TextWriter Out { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>True when errors go to the process's own stderr and that is a terminal (never in tests, which pass
    /// their own writers): only then is a progress bar drawn.</summary>
    public bool ErrorIsTerminal { get; } = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;

    /// <summary>True when <see cref="Out"/> is the process's stdout and that is a terminal (set by Program.cs; never in
    /// tests): <c>qc send</c> then draws its progress bar there.</summary>
    public bool OutIsTerminal { get; init; }

    /// <summary>True in the real process (set by Program.cs): commands may take Ctrl+C/SIGTERM to end cleanly.</summary>
    public bool HandlesSignals { get; init; }

    public void Fail(string path, string message) => Error.WriteLine($"qc: {path}: {message}");

    /// <summary>Opens a DICOM file, or reports why it cannot be read and returns null. Only the errors a user can
    /// cause (malformed data, missing or unreadable file) are caught; anything else is a bug and propagates.</summary>
    public DicomFile? TryOpen(string path, DicomReadOptions options)
    {
        try
        {
            return DicomFile.Open(path, options);
        }
        catch (DicomFormatException ex) { Fail(path, ex.Message); }
        catch (FileNotFoundException) { Fail(path, "no such file"); }
        catch (DirectoryNotFoundException) { Fail(path, "no such file"); }
        catch (UnauthorizedAccessException ex) { Fail(path, ex.Message); }
        catch (IOException ex) { Fail(path, ex.Message); }
        return null;
    }
}
