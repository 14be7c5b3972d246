using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Phantoms;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Overlays;
using QcPipeline.Service.Index;
using QcPipeline.Service.Storage;
using QcPipeline.Service.ResultsStore;
using SkiaSharp;

namespace QcPipeline.Service.Reports;

/// <summary>The analysed image of a stored result with its ROIs drawn, as a JPEG (<see cref="ReportImages"/>): the result's ROI geometry (stored JSON) over
/// the stored instance's pixels. Internal to reports for now; <c>GET /api/results/{id}/overlay.png</c> is being built
/// beside it and the two are to share one renderer (the CLI's <c>OverlayRenderer</c> draws the same way).
/// CT is windowed at level 0 / width 400 HU, other modalities between the 1st and 99th percentile. No patient data is drawn.</summary>
public sealed class RoiImageRenderer(IDbContextFactory<ResultsDbContext> results, IDbContextFactory<IndexDbContext> index, IInstanceStore store,
    ILogger<RoiImageRenderer> logger)
{
    /// <summary>The ROI outline colour.</summary>
    public static readonly SKColor RoiColor = RoiOverlay.RoiColor;
    private const int MinSide = 512;
    /// <summary>Most instances read to find the image when the result does not name its SOP instance (a routed set).</summary>
    private const int MaxFallbackInstances = 64;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The JPEG of result <paramref name="resultId"/>, or null when the result or its image is gone or unreadable.</summary>
    public async Task<byte[]?> RenderAsync(long resultId, CancellationToken ct = default)
    {
        string json, seriesUid, profile;
        var db = await results.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var row = await db.Results.AsNoTracking().Where(r => r.Id == resultId)
                .Select(r => new { r.Json, r.SeriesInstanceUid, r.Profile }).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            if (row is null) return null;
            (json, seriesUid, profile) = (row.Json, row.SeriesInstanceUid, row.Profile);
        }
        try
        {
            var (rois, sops) = Geometry(json);
            // The image with the most ROIs (CT water: the analysed central slice).
            int frame = rois.Count == 0 ? 0 : rois.GroupBy(r => r.Frame).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
            var image = await LoadImageAsync(seriesUid, profile, frame, sops.GetValueOrDefault(frame), ct).ConfigureAwait(false);
            return image is null ? null : Render(image, rois.Where(r => r.Frame == frame).ToList());
        }
        catch (Exception ex) when (ex is JsonException or IOException or DicomFormatException or NotSupportedException or InvalidDataException
                                       or UnauthorizedAccessException or Dicom.Imaging.DicomPixelDataException)
        {
            logger.LogWarning("Reports: the ROI image of result {ResultId} cannot be drawn ({ExceptionType})", resultId, ex.GetType().Name);
            return null;
        }
    }

    private static (List<RoiGeometry> Rois, Dictionary<int, string> Sops) Geometry(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var rois = doc.RootElement.TryGetProperty("rois", out var r) ? r.Deserialize<List<RoiGeometry>>(Json) ?? [] : [];
        var sops = new Dictionary<int, string>();
        if (doc.RootElement.TryGetProperty("images", out var images) && images.ValueKind == JsonValueKind.Array)
            foreach (var i in images.EnumerateArray())
                if (i.TryGetProperty("frame", out var f) && f.TryGetInt32(out int n) && i.TryGetProperty("sopInstanceUid", out var s) && s.GetString() is { } sop)
                    sops[n] = sop;
        return (rois, sops);
    }

    /// <summary>By SOP instance when the result names it; else the series' images in the worker's order, routed as the worker
    /// routed them (<see cref="ProfileRouter.Route"/>), frame <paramref name="frame"/> of the first set of the profile.</summary>
    private async Task<AnalysisImage?> LoadImageAsync(string seriesUid, string profile, int frame, string? sop, CancellationToken ct)
    {
        var db = await index.CreateDbContextAsync(ct).ConfigureAwait(false);
        List<string> stored;
        await using (db.ConfigureAwait(false))
        {
            if (sop is not null)
            {
                var path = await db.Instances.AsNoTracking().Where(i => i.SopInstanceUid == sop).Select(i => i.Path).FirstOrDefaultAsync(ct).ConfigureAwait(false);
                if (path is not null)
                {
                    var one = await store.CheckoutAsync([path], ct).ConfigureAwait(false);
                    await using (one.ConfigureAwait(false))
                    {
                        if (File.Exists(one.Paths[0]))
                        {
                            using var file = DicomFile.Open(one.Paths[0]);
                            return AnalysisImage.FromDicom(file, 0);
                        }
                    }
                }
            }
            stored = (await db.Instances.AsNoTracking().Where(i => i.SeriesInstanceUid == seriesUid).Select(i => i.Path)
                    .Take(MaxFallbackInstances + 1).ToListAsync(ct).ConfigureAwait(false))
                .Order(StringComparer.Ordinal).ToList();
        }
        if (stored.Count == 0 || stored.Count > MaxFallbackInstances) return null;
        var checkout = await store.CheckoutAsync(stored, ct).ConfigureAwait(false);
        await using (checkout.ConfigureAwait(false)) return LoadFromSeries(checkout.Paths, profile, frame, ct);
    }

    private static AnalysisImage? LoadFromSeries(IReadOnlyList<string> files, string profile, int frame, CancellationToken ct)
    {
        var images = new List<AnalysisImage>();
        foreach (var f in files.Where(File.Exists))
        {
            ct.ThrowIfCancellationRequested();
            using var file = DicomFile.Open(f);
            if (!file.Dataset.Contains(DicomTags.PixelData)) continue;
            int frames = Math.Max(1, Dicom.Imaging.DicomPixelData.Create(file.Dataset).NumberOfFrames);
            for (int i = 0; i < frames; i++) images.Add(AnalysisImage.FromDicom(file, i));
        }
        var set = ProfileRouter.Route(images, profile).FirstOrDefault(s => s.Profile == profile);
        return set is not null && frame < set.Images.Count ? set.Images[frame] : null;
    }

    /// <summary>The windowed image, scaled up to at least 512 px, with the ROIs outlined and labelled.</summary>
    public static byte[] Render(AnalysisImage image, IReadOnlyList<RoiGeometry> rois)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(rois);
        int scale = Math.Max(1, (int)Math.Ceiling(MinSide / (double)Math.Max(image.Width, image.Height)));
        int width = image.Width * scale, height = image.Height * scale;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.Black);
        using (var gray = RoiOverlay.Grayscale(image))
        using (var skImage = SKImage.FromBitmap(gray))
            canvas.DrawImage(skImage, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Linear), null);

        using var font = new SKFont(SKTypeface.Default, 14);
        using var outline = new SKPaint { Color = RoiColor, Style = SKPaintStyle.Stroke, StrokeWidth = 2.5f, IsAntialias = true };
        using var text = new SKPaint { Color = RoiColor, IsAntialias = true };
        using var shadow = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        // Pixel centres are at integer coordinates (RoiGeometry): canvas = (image + 0.5) × scale.
        float X(double x) => (float)((x + 0.5) * scale);
        float Y(double y) => (float)((y + 0.5) * scale);
        void Label(string s, float x, float y)
        {
            s = new string(s.Select(c => c is >= ' ' and < (char)0x7F ? c : '?').ToArray());
            x = Math.Clamp(x, 2, Math.Max(2, width - font.MeasureText(s) - 2));
            y = Math.Clamp(y, 14, height - 2);
            canvas.DrawText(s, x + 1, y + 1, SKTextAlign.Left, font, shadow);
            canvas.DrawText(s, x, y, SKTextAlign.Left, font, text);
        }
        foreach (var roi in rois)
        {
            switch (roi)
            {
                case CircleRoi c:
                    canvas.DrawCircle(X(c.CenterX), Y(c.CenterY), (float)(c.Radius * scale), outline);
                    Label(c.Label, X(c.CenterX) - font.MeasureText(c.Label) / 2, Y(c.CenterY - c.Radius) - 5);
                    break;
                case RectangleRoi r:
                    canvas.DrawRect(new SKRect(X(r.X), Y(r.Y), X(r.X + r.Width), Y(r.Y + r.Height)), outline);
                    Label(r.Label, X(r.X), Y(r.Y) - 5);
                    break;
                case LineRoi l:
                    canvas.DrawLine(X(l.X1), Y(l.Y1), X(l.X2), Y(l.Y2), outline);
                    Label(l.Label, (X(l.X1) + X(l.X2)) / 2 + 4, (Y(l.Y1) + Y(l.Y2)) / 2 - 4);
                    break;
            }
        }
        using var snapshot = surface.Snapshot();
        return ReportImages.Jpeg(snapshot);
    }
}
