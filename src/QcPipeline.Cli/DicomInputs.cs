using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Cli;

/// <summary>A file to read: named on the command line (<see cref="Folder"/> null), or found under a folder.</summary>
public sealed record InputFile(string Path, string? Folder);

/// <summary>The PATH... arguments of the commands that take files or folders (labels, analyze): folders are searched
/// recursively in ordinal path order. A named file that cannot be read is reported (<c>qc: FILE: message</c>) and
/// counts as a failure; a file under a folder that is not readable DICOM is skipped, and one line per folder says how
/// many were. DICOMDIRs and datasets without SOP Instance and Series Instance UIDs are not instances and are passed over.</summary>
public sealed class DicomInputs(CliConsole console, DicomReadOptions options)
{
    private const string DicomDirClass = "1.2.840.10008.1.3.10";

    /// <summary>True once a named file could not be read.</summary>
    public bool AnyFailed { get; private set; }

    /// <summary>The files named and the files under the folders named (with <paramref name="recursive"/> false, only those
    /// directly in them).</summary>
    public static IReadOnlyList<InputFile> Expand(IEnumerable<string> paths, bool recursive = true)
    {
        var files = new List<InputFile>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
                files.AddRange(Directory.EnumerateFiles(path, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal).Select(f => new InputFile(f, path)));
            else
                files.Add(new InputFile(path, null));
        }
        return files;
    }

    /// <summary>Opens each file in turn and hands the instances to <paramref name="visit"/> (the file is disposed after it
    /// returns); <paramref name="step"/> runs after every file, read or not (progress).</summary>
    public void Visit(IReadOnlyList<InputFile> files, Action<InputFile, DicomFile> visit, Action? step = null)
    {
        var skipped = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var input in files)
        {
            using var file = Open(input, skipped);
            if (file is not null && IsInstance(file)) visit(input, file);
            step?.Invoke();
        }
        foreach (var (folder, count) in skipped)
            console.Error.WriteLine($"qc: {folder}: skipped {count} file(s) that are not readable DICOM");
    }

    private DicomFile? Open(InputFile input, Dictionary<string, int> skipped)
    {
        if (input.Folder is null)
        {
            var file = console.TryOpen(input.Path, options);
            if (file is null) AnyFailed = true;
            return file;
        }
        try
        {
            return DicomFile.Open(input.Path, options);
        }
        catch (Exception ex) when (ex is DicomFormatException or IOException or UnauthorizedAccessException)
        {
            skipped[input.Folder] = skipped.GetValueOrDefault(input.Folder) + 1;
            return null;
        }
    }

    /// <summary>An image instance: not a DICOMDIR, and with a SOP Instance UID or a Series Instance UID.</summary>
    private static bool IsInstance(DicomFile file) =>
        file.FileMetaInformation.GetString(DicomTags.MediaStorageSOPClassUID) != DicomDirClass
        && (file.Dataset.GetString(DicomTags.SOPInstanceUID) is not null || file.Dataset.GetString(DicomTags.SeriesInstanceUID) is not null);
}
