using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Analysis;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Overlays;
using QcPipeline.Service.Index;
using QcPipeline.Service.Storage;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Api;

/// <summary>The ROI overlay PNG of a stored result: the analysed image is read again from the instance store (found through
/// the index by the SOP Instance UID the worker recorded for the ROI's frame) and drawn by <see cref="RoiOverlay"/>, the
/// same drawing as <c>qc analyze --overlay</c>. At most <c>Api:MaxConcurrentOverlays</c> render at once.</summary>
public sealed class OverlayService(IDbContextFactory<IndexDbContext> index, IInstanceStore store, IOptions<ApiOptions> options,
    ILogger<OverlayService> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(options.Value.MaxConcurrentOverlays);

    /// <summary>The outcome: a PNG, or the status and reason why there is none.</summary>
    public sealed record Outcome(byte[]? Png, int Status, string? Problem);

    /// <summary>Whether a stored result has ROI geometry to draw (cheap: the JSON only).</summary>
    public static bool HasRois(ResultRecord record) => Parse(record) is { Rois.Count: > 0 };

    public async Task<Outcome> RenderAsync(ResultRecord record, int? frame, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(record);
        var result = Parse(record);
        if (result is null) return new(null, StatusCodes.Status404NotFound, "the stored result cannot be read");
        if (result.Rois.Count == 0) return new(null, StatusCodes.Status404NotFound, "the result has no ROI geometry");
        var images = ImagesOf(record, result);
        int count = Math.Max(images.Count == 0 ? 0 : images.Keys.Max() + 1, result.Rois.Max(r => r.Frame) + 1);
        int f = frame ?? result.Rois.Min(r => r.Frame);
        if (f < 0 || f >= count) throw new ApiProblemException($"frame must be 0 to {count - 1} for this result");
        if (!images.TryGetValue(f, out var source))
            return new(null, StatusCodes.Status404NotFound, "the analysed image of this result was not recorded");

        string? path;
        var db = await index.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
            path = await db.Instances.AsNoTracking().Where(i => i.SopInstanceUid == source.SopInstanceUid).Select(i => i.Path).FirstOrDefaultAsync(ct).ConfigureAwait(false);
        if (path is null) return new(null, StatusCodes.Status404NotFound, "the analysed image is no longer stored");

        await _gate.WaitAsync(ct).ConfigureAwait(false);
        InstanceCheckout? local = null;
        try
        {
            try
            {
                local = await store.CheckoutAsync([path], ct).ConfigureAwait(false);
            }
            catch (InstanceStoreException)
            {
                logger.LogWarning("Overlay of result {ResultId}: the instance store cannot be read", record.Id);
                return new Outcome(null, StatusCodes.Status503ServiceUnavailable, "the instance store cannot be read");
            }
            var localPath = local.Paths[0];
            return await Task.Run(() =>
            {
                AnalysisImage image;
                try
                {
                    var file = DicomFile.Open(localPath);
                    image = AnalysisImage.FromDicom(file, source.Frame);
                }
                catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
                {
                    return new Outcome(null, StatusCodes.Status404NotFound, "the analysed image is no longer stored");
                }
                catch (Exception ex) when (ex is IOException or DicomFormatException or DicomPixelDataException or NotSupportedException or InvalidDataException or ArgumentOutOfRangeException)
                {
                    logger.LogWarning("Overlay of result {ResultId}: the stored image cannot be read ({ExceptionType})", record.Id, ex.GetType().Name);
                    return new Outcome(null, StatusCodes.Status500InternalServerError, "the stored image cannot be read");
                }
                using var png = RoiOverlay.Render(image, result, f, count);
                return new Outcome(png.ToArray(), StatusCodes.Status200OK, null);
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            if (local is not null) await local.DisposeAsync().ConfigureAwait(false);
            _gate.Release();
        }
    }

    private static AnalysisResult? Parse(ResultRecord record)
    {
        try { return JsonSerializer.Deserialize<AnalysisResult>(record.Json, ResultsQueries.Json); }
        catch (JsonException) { return null; }
        catch (NotSupportedException) { return null; }
    }

    /// <summary>Frame index in the set → image. The worker records the set's images; for a result kept before it did, the
    /// per-image results name the SOP Instance UID of their frame (single-frame instances).</summary>
    private static Dictionary<int, ResultImage> ImagesOf(ResultRecord record, AnalysisResult result)
    {
        var recorded = ResultStore.ImagesOf(record);
        if (recorded.Count > 0) return recorded.Select((image, i) => (image, i)).ToDictionary(x => x.i, x => x.image);
        var map = new Dictionary<int, ResultImage>();
        foreach (var image in result.Images)
            if (image.SopInstanceUid is { Length: > 0 } sop) map.TryAdd(image.Frame, new ResultImage(sop, 0));
        return map;
    }

    public void Dispose() => _gate.Dispose();
}
