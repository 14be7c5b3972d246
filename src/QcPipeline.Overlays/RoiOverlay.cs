using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using QcPipeline.Analysis;
using SkiaSharp;

namespace QcPipeline.Overlays;

/// <summary>The PNG of an analysed image with the ROIs of a result drawn (outline and label) and a legend band below the
/// image: profile, verdict and each metric with its value, limit and verdict. CT is windowed at level 0 HU / width 400 HU,
/// other modalities between the 1st and 99th percentile. Text is ASCII only (the default typeface has no CJK glyphs).
/// Used by <c>qc analyze --overlay</c> and by the service's <c>GET /api/results/{id}/overlay.png</c>; it draws from the
/// image and the result only (no file or database access), so both callers decide where pixels come from.</summary>
public static class RoiOverlay
{
    /// <summary>The outline colour of every ROI (tests look for it).</summary>
    public static readonly SKColor RoiColor = new(255, 200, 0);
    private static readonly SKColor PassColor = new(80, 220, 80);
    private static readonly SKColor FailColor = new(255, 70, 70);
    private static readonly SKColor InconclusiveColor = new(255, 160, 40);
    private const float FontSize = 13;
    private const float LineHeight = 17;
    private const int MinSide = 512;

    /// <summary>The scale the image is drawn at: small images are enlarged (whole pixels) so labels stay readable.</summary>
    public static int ScaleFor(AnalysisImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Math.Max(1, (int)Math.Ceiling(MinSide / (double)Math.Max(image.Width, image.Height)));
    }

    /// <summary>The PNG of <paramref name="image"/>, the image at index <paramref name="frame"/> of the analysed set of
    /// <paramref name="result"/> (of <paramref name="frameCount"/> images), with the ROIs of that frame drawn.</summary>
    public static SKData Render(AnalysisImage image, AnalysisResult result, int frame, int frameCount)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(result);
        int scale = ScaleFor(image);
        int width = image.Width * scale, imageHeight = image.Height * scale;
        var legend = LegendLines(result, frame, frameCount);
        int height = imageHeight + (int)(legend.Count * LineHeight + 10);

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.Black);
        using (var gray = Grayscale(image))
        using (var skImage = SKImage.FromBitmap(gray))
            canvas.DrawImage(skImage, new SKRect(0, 0, width, imageHeight), new SKSamplingOptions(SKFilterMode.Nearest), null);

        using var font = new SKFont(SKTypeface.Default, FontSize);
        using var outline = new SKPaint { Color = RoiColor, Style = SKPaintStyle.Stroke, StrokeWidth = 3, IsAntialias = true };
        using var text = new SKPaint { Color = RoiColor, IsAntialias = true };
        using var shadow = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        // Pixel centres are at integer coordinates (RoiGeometry): canvas = (image + 0.5) × scale.
        float X(double x) => (float)((x + 0.5) * scale);
        float Y(double y) => (float)((y + 0.5) * scale);
        void Label(string s, float x, float y)
        {
            s = Ascii(s);
            x = Math.Clamp(x, 2, Math.Max(2, width - font.MeasureText(s) - 2));
            y = Math.Clamp(y, FontSize, imageHeight - 2);
            canvas.DrawText(s, x + 1, y + 1, SKTextAlign.Left, font, shadow);
            canvas.DrawText(s, x, y, SKTextAlign.Left, font, text);
        }
        foreach (var roi in result.Rois.Where(r => r.Frame == frame))
        {
            switch (roi)
            {
                case CircleRoi c:
                    canvas.DrawCircle(X(c.CenterX), Y(c.CenterY), (float)(c.Radius * scale), outline);
                    Label(c.Label, X(c.CenterX) - font.MeasureText(Ascii(c.Label)) / 2, Y(c.CenterY - c.Radius) - 5);
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

        using var legendPaint = new SKPaint { Color = SKColors.White, IsAntialias = true };
        using var verdictPaint = new SKPaint { Color = ColorOf(result.Verdict), IsAntialias = true };
        float y = imageHeight + LineHeight;
        for (int i = 0; i < legend.Count; i++, y += LineHeight)
            canvas.DrawText(legend[i], 6, y, SKTextAlign.Left, font, i == 0 ? verdictPaint : legendPaint);

        using var snapshot = surface.Snapshot();
        return snapshot.Encode(SKEncodedImageFormat.Png, 100);
    }

    /// <summary>The height of the legend band under an image of <paramref name="result"/> (to find the image part of a PNG).</summary>
    public static int LegendHeight(AnalysisResult result, int frame, int frameCount) =>
        (int)(LegendLines(result, frame, frameCount).Count * LineHeight + 10);

    public static string VerdictText(Verdict verdict) => verdict switch
    {
        Verdict.Pass => "pass",
        Verdict.Fail => "fail",
        _ => "inconclusive",
    };

    public static string FormatValue(double? value) =>
        value is { } v && double.IsFinite(v) ? v.ToString("G6", CultureInfo.InvariantCulture) : "-";

    private static List<string> LegendLines(AnalysisResult r, int frame, int frameCount)
    {
        var lines = new List<string>
        {
            Ascii(string.Create(CultureInfo.InvariantCulture,
                $"{r.Profile}  {VerdictText(r.Verdict).ToUpperInvariant()}  frame {frame + 1}/{frameCount}  limits {r.LimitSet.Id} v{r.LimitSet.Version}")),
        };
        foreach (var m in r.Metrics)
            lines.Add(Ascii($"{m.Name} = {FormatValue(m.Value)} {m.Unit}  limit {m.Limit?.ToString() ?? "-"}  {VerdictText(m.Verdict)}"));
        if (r.InconclusiveReason is { } why) lines.Add(Ascii("inconclusive: " + why));
        if (r.Warnings.Count > 0) lines.Add(Ascii(string.Create(CultureInfo.InvariantCulture, $"{r.Warnings.Count} warning(s): {r.Warnings[0]}")));
        return lines;
    }

    private static SKColor ColorOf(Verdict verdict) => verdict switch
    {
        Verdict.Pass => PassColor,
        Verdict.Fail => FailColor,
        _ => InconclusiveColor,
    };

    /// <summary>An 8-bit grey bitmap of the windowed modality values (padding, NaN, is black). Also the report's ROI image.</summary>
    public static SKBitmap Grayscale(AnalysisImage image)
    {
        var (low, high) = Window(image);
        double span = Math.Max(high - low, 1e-6);
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Gray8, SKAlphaType.Opaque));
        var row = new byte[image.Width];
        IntPtr pixels = bitmap.GetPixels();
        for (int y = 0; y < image.Height; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                float v = image.Pixels[y * image.Width + x];
                row[x] = float.IsNaN(v) ? (byte)0 : (byte)Math.Clamp((v - low) / span * 255.0 + 0.5, 0, 255);
            }
            Marshal.Copy(row, 0, pixels + y * bitmap.RowBytes, image.Width);
        }
        return bitmap;
    }

    /// <summary>CT: level 0 HU, width 400 HU (water and soft tissue); else the 1st to 99th percentile.</summary>
    private static (double Low, double High) Window(AnalysisImage image)
    {
        if (string.Equals(image.Modality, "CT", StringComparison.OrdinalIgnoreCase)) return (-200, 200);
        int step = Math.Max(1, image.Pixels.Length / 262_144);
        var sample = new List<float>(image.Pixels.Length / step + 1);
        for (int i = 0; i < image.Pixels.Length; i += step) if (!float.IsNaN(image.Pixels[i])) sample.Add(image.Pixels[i]);
        if (sample.Count == 0) return (0, 1);
        sample.Sort();
        return (sample[(int)(0.01 * (sample.Count - 1))], sample[(int)(0.99 * (sample.Count - 1))]);
    }

    /// <summary>ASCII for the default typeface: the symbols the analyses use are spelled out, anything else becomes '?'.</summary>
    public static string Ascii(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var b = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            b.Append(c switch
            {
                '≥' => ">=",
                '≤' => "<=",
                '×' => "x",
                '±' => "+/-",
                'µ' or 'μ' => "u",
                '²' => "2",
                '√' => "sqrt",
                '−' or '–' or '—' => "-",
                '’' or '‘' => "'",
                '°' => " deg",
                _ when c < 0x7F && !char.IsControl(c) => c.ToString(),
                _ => "?",
            });
        }
        return b.ToString();
    }
}
