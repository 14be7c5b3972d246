using System.CommandLine;
using System.Text.Json;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Phantoms;
using QcPipeline.Analysis.Phantoms.Dr;
using QcPipeline.Cli.Analyze;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;
using Spectre.Console;

namespace QcPipeline.Cli.Commands;

/// <summary><c>qc analyze PATH... [--profile P] [--limits FILE] [--json] [--overlay DIR]</c>: phantom QC of the images
/// under PATHs (files, or folders searched recursively). Images are grouped by Series Instance UID (all files form one
/// set for dr-stp and dr-lag, whose images often come as one series each); <see cref="ProfileRouter"/> chooses and runs
/// the analyses. Exit 0 when every result passed, 1 when one failed or a file could not be read, 2 when a result is
/// inconclusive and none failed, 3 on a usage error (including an unusable limits file).</summary>
public static class AnalyzeCommand
{
    /// <summary>Above this many files a progress bar is shown (on an interactive stderr only).</summary>
    private const int ProgressThreshold = 20;

    public static Command Create(CliConsole console)
    {
        var paths = FileArgument.Many("PATH", "DICOM files or folders (searched recursively)");
        var profile = new Option<string>("--profile")
        {
            Description = "Analysis profile; auto chooses by modality and image content",
            DefaultValueFactory = _ => ProfileRouter.Auto,
        };
        profile.AcceptOnlyFromAmong([.. ProfileRouter.Profiles]);
        var limits = new Option<string?>("--limits") { Description = "Limits JSON ({\"id\",\"version\",\"kind\",\"limits\":{metric:{min,max}}}); unnamed metrics keep the defaults" };
        var json = new Option<bool>("--json") { Description = "Print a JSON array with one object per analysed set" };
        var overlay = new Option<string?>("--overlay") { Description = "Write a PNG per analysed image with its ROIs and values into this folder" };
        var command = new Command("analyze", "Phantom QC: analyse CT water, DR detector and MR uniformity images") { paths, profile, limits, json, overlay };
        command.SetAction(parseResult => Execute(
            console,
            parseResult.GetRequiredValue(paths),
            parseResult.GetValue(profile) ?? ProfileRouter.Auto,
            parseResult.GetValue(limits),
            parseResult.GetValue(json),
            parseResult.GetValue(overlay)));
        return command;
    }

    public static int Execute(CliConsole console, IReadOnlyList<string> paths, string profile, string? limitsPath, bool json, string? overlayDir)
    {
        var limits = LimitSet.Default;
        if (limitsPath is not null)
        {
            try { limits = LimitSet.Load(File.ReadAllText(limitsPath)); }
            catch (FileNotFoundException) { console.Fail(limitsPath, "no such file"); return ExitCodes.Usage; }
            catch (DirectoryNotFoundException) { console.Fail(limitsPath, "no such file"); return ExitCodes.Usage; }
            catch (Exception ex) when (ex is JsonException or FormatException or IOException or UnauthorizedAccessException or NotSupportedException)
            {
                console.Fail(limitsPath, $"not a usable limits file: {ex.Message}");
                return ExitCodes.Usage;
            }
        }
        if (overlayDir is not null)
        {
            try { Directory.CreateDirectory(overlayDir); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                console.Fail(overlayDir, ex.Message);
                return ExitCodes.Usage;
            }
        }

        bool failed = false;
        var files = DicomInputs.Expand(paths);
        var inputs = new DicomInputs(console, DicomReadOptions.Default);
        // Insertion order of the series is kept: the report follows the order the files were found in.
        var bySeries = new Dictionary<string, List<AnalysisImage>>(StringComparer.Ordinal);
        void Visit(InputFile input, DicomFile file)
        {
            var images = Decode(console, input, file, ref failed);
            if (images.Count == 0) return;
            string key = images[0].SeriesInstanceUid ?? "";
            if (!bySeries.TryGetValue(key, out var list)) bySeries[key] = list = [];
            list.AddRange(images);
        }

        if (files.Count > ProgressThreshold && console.ErrorIsTerminal)
        {
            var ansi = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            ansi.Progress().AutoClear(true).Start(ctx =>
            {
                var task = ctx.AddTask("reading DICOM files", maxValue: files.Count);
                inputs.Visit(files, Visit, () => task.Increment(1));
            });
        }
        else
        {
            inputs.Visit(files, Visit);
        }
        failed |= inputs.AnyFailed;

        // dr-stp and dr-lag compare images that devices often store as one series each: all files are one set.
        var groups = profile is DrSignalTransfer.Profile or DrLag.Profile && bySeries.Count > 1
            ? [new KeyValuePair<string, List<AnalysisImage>>(string.Join('\\', bySeries.Keys), bySeries.Values.SelectMany(v => v).ToList())]
            : bySeries.ToList();

        var sets = new List<AnalyzedSet>();
        foreach (var (series, images) in groups)
        {
            foreach (var routed in ProfileRouter.Analyze(images, profile, limits))
                sets.Add(new AnalyzedSet(series, routed.Set, WithLossyWarning(routed)));
        }

        if (json) AnalysisReport.PrintJson(console.Out, sets);
        else if (sets.Count == 0) console.Out.WriteLine("no DICOM images found");
        else AnalysisReport.PrintTable(console.Out, sets);

        if (overlayDir is not null)
        {
            var renderer = new OverlayRenderer(overlayDir);
            for (int i = 0; i < sets.Count; i++)
            {
                try { renderer.Write(sets[i], i); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    console.Fail(overlayDir, ex.Message);
                    failed = true;
                    break;
                }
            }
        }

        if (failed || sets.Any(s => s.Result.Verdict == Verdict.Fail)) return ExitCodes.Failed;
        if (sets.Count == 0 || sets.Any(s => s.Result.Verdict == Verdict.Inconclusive)) return ExitCodes.Inconclusive;
        return ExitCodes.Ok;
    }

    /// <summary>Every frame of the file as an analysis image. A named file without pixel data, or pixel data that cannot be
    /// decoded, is reported and marks the run failed; a file found in a folder without pixel data (a structured report,
    /// a presentation state) is simply not an image.</summary>
    private static List<AnalysisImage> Decode(CliConsole console, InputFile input, DicomFile file, ref bool failed)
    {
        var images = new List<AnalysisImage>();
        if (!file.Dataset.Contains(DicomTags.PixelData))
        {
            if (input.Folder is null) { console.Fail(input.Path, "no pixel data"); failed = true; }
            return images;
        }
        try
        {
            int frames = Math.Max(1, DicomPixelData.Create(file.Dataset).NumberOfFrames);
            for (int f = 0; f < frames; f++) images.Add(AnalysisImage.FromDicom(file, f));
        }
        catch (Exception ex) when (ex is DicomPixelDataException or NotSupportedException or DicomFormatException or InvalidDataException)
        {
            console.Fail(input.Path, ex.Message);
            failed = true;
            images.Clear();
        }
        return images;
    }

    /// <summary>Lossy compression changes pixel values; the DR analyses say so themselves, the others get it added here.</summary>
    private static AnalysisResult WithLossyWarning(RoutedResult routed)
    {
        var result = routed.Result;
        int lossy = routed.Set.Images.Count(i => i.IsLossy);
        if (lossy == 0 || result.Warnings.Any(w => w.Contains("lossy", StringComparison.OrdinalIgnoreCase))) return result;
        return result with { Warnings = [.. result.Warnings, $"{lossy} of {routed.Set.Images.Count} image(s) were lossy compressed: pixel values are altered, QC values are indicative only"] };
    }
}
