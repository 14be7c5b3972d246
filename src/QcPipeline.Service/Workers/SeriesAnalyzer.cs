using QcPipeline.Analysis;
using QcPipeline.Analysis.Labels;
using QcPipeline.Analysis.Phantoms;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Workers;

/// <summary>One stored series to analyse: its files (absolute paths) and who sent it.</summary>
public sealed record SeriesInput(string StudyInstanceUid, string SeriesInstanceUid, IReadOnlyList<string> Files, string? CallingAe);

/// <summary>A series' headers, route and device, read before any pixel is decoded.</summary>
public sealed record SeriesHeaderScan(SeriesHeaders Headers, IReadOnlyDictionary<string, string?> Attributes, SeriesRoute Route,
    DeviceIdentity Device, IReadOnlyList<string> Unreadable);

/// <summary>What the analysis of a series produced (nothing stored yet). <see cref="ResultImages"/>[i] lists the images
/// <see cref="Results"/>[i] was computed from, in the order of its set (an ROI's <c>Frame</c> indexes it), so that the
/// analysed image can be found again to draw its ROIs.</summary>
public sealed record SeriesAnalysis(SeriesHeaderScan Scan, SeriesCheckResult Labels, IReadOnlyList<AnalysisResult> Results,
    IReadOnlyList<IReadOnlyList<ResultImage>> ResultImages);

/// <summary>Reads a series from the instance store, routes it (<see cref="SeriesRouting"/>), runs the label and integrity
/// checks on every series and the phantom analyses of its route (<see cref="ProfileRouter"/>). CPU and file reads only:
/// the caller stores the outcome.</summary>
public sealed class SeriesAnalyzer(SeriesRouting routing, FrameBufferPool? frames = null)
{
    // Without a pool (tests, tools): a small one, so that a series' arrays are still reused by the next.
    private readonly FrameBufferPool _frames = frames ?? new FrameBufferPool(64L * 1024 * 1024);

    /// <summary>Headers only (no pixel data): route, device and the label-check input.</summary>
    public SeriesHeaderScan Scan(SeriesInput input, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var headers = new List<InstanceHeader>();
        var unreadable = new List<string>();
        foreach (var path in input.Files)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var file = DicomFile.Open(path, DicomReadOptions.HeaderOnly);
                headers.Add(new InstanceHeader(file.Dataset, file.TransferSyntax, Path.GetFileName(path)));
            }
            catch (Exception ex) when (ex is IOException or DicomFormatException or UnauthorizedAccessException)
            {
                unreadable.Add(Path.GetFileName(path));
            }
        }
        var first = headers.Count > 0 ? headers[0].Dataset : new DicomDataset();
        var attributes = SeriesRouting.Attributes.ToDictionary(k => k, k => k == "CallingAE" ? input.CallingAe : Value(first, k), StringComparer.Ordinal);
        var device = new DeviceIdentity(attributes["DeviceSerialNumber"], attributes["StationName"], input.CallingAe,
            attributes["Manufacturer"], attributes["ManufacturerModelName"], attributes["Modality"], attributes["InstitutionName"]);
        return new SeriesHeaderScan(new SeriesHeaders(headers), attributes, routing.Route(attributes), device, unreadable);
    }

    /// <summary>The label checks, then, for a QC series, every profile of its route with <paramref name="limits"/>.</summary>
    public SeriesAnalysis Analyze(SeriesInput input, SeriesHeaderScan scan, LimitSet limits, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(scan);
        var labels = SeriesQc.Check(scan.Headers);
        var results = new List<AnalysisResult>();
        var resultImages = new List<IReadOnlyList<ResultImage>>();
        if (scan.Route.IsQc)
        {
            var images = new List<AnalysisImage>();
            // Where each image came from (instance and frame): the router reorders images, so this is by reference.
            var sources = new Dictionary<AnalysisImage, ResultImage>(ReferenceEqualityComparer.Instance);
            var warnings = new List<string>();
            try
            {
                foreach (var path in input.Files)
                {
                    ct.ThrowIfCancellationRequested();
                    try
                    {
                        // The file's bytes in a pooled buffer, returned at the end of this iteration: the image keeps only
                        // its decoded pixels (from the frame pool) and strings.
                        using var file = DicomFile.Open(path, PooledWhole);
                        if (!file.Dataset.Contains(DicomTags.PixelData)) continue;
                        int frameCount = Math.Max(1, DicomPixelData.Create(file.Dataset).NumberOfFrames);
                        for (int f = 0; f < frameCount; f++)
                        {
                            var image = AnalysisImage.FromDicom(file, f, _frames);
                            images.Add(image);
                            if (image.SopInstanceUid is { Length: > 0 } sop) sources[image] = new ResultImage(sop, f);
                        }
                    }
                    catch (Exception ex) when (ex is IOException or DicomFormatException or DicomPixelDataException or NotSupportedException or InvalidDataException)
                    {
                        warnings.Add($"{Path.GetFileName(path)}: not analysed ({ex.GetType().Name})");
                    }
                }
                foreach (var profile in scan.Route.Profiles)
                {
                    ct.ThrowIfCancellationRequested();
                    foreach (var routed in ProfileRouter.Analyze(images, profile, limits))
                    {
                        var r = routed.Result;
                        results.Add(warnings.Count == 0 ? r : r with { Warnings = [.. r.Warnings, .. warnings] });
                        // All or nothing: a set with an image of no SOP Instance UID cannot be indexed by frame.
                        resultImages.Add(routed.Set.Images.All(sources.ContainsKey) ? routed.Set.Images.Select(i => sources[i]).ToArray() : []);
                    }
                }
            }
            finally
            {
                // The results hold numbers and UIDs, never pixel arrays: the arrays go back for the next series.
                foreach (var image in images) _frames.Return(image.Pixels);
            }
        }
        return new SeriesAnalysis(scan, labels, results, resultImages);
    }

    private static readonly DicomReadOptions PooledWhole = new() { UsePooledBuffer = true };

    private static string? Value(DicomDataset ds, string keyword)
    {
        // Lenient decoding: a routing pattern still sees a name whose bytes break its character set (the label checks report it).
        if (DicomDictionary.TryGetTag(keyword, out var tag) && ds.GetString(tag) is { } value)
            return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        return null;
    }
}
