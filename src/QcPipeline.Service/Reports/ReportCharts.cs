using ScottPlot;

namespace QcPipeline.Service.Reports;

/// <summary>Trend charts (ScottPlot, drawn by SkiaSharp): one metric over the period, its acceptance range as a band (each
/// run keeps the limits it was judged by, so the band steps where the limits changed), runs as points coloured by verdict.
/// Chart text is dates, numbers and units only: titles and legends (CJK) are written by the PDF around the image.</summary>
public static class ReportCharts
{
    /// <summary>The acceptance band's fill (tests look for it in the rendered PDF).</summary>
    public static readonly (byte R, byte G, byte B) BandRgb = (198, 239, 206);
    public static readonly (byte R, byte G, byte B) PassRgb = (46, 125, 50);
    public static readonly (byte R, byte G, byte B) FailRgb = (198, 40, 40);
    public static readonly (byte R, byte G, byte B) InconclusiveRgb = (239, 130, 0);

    private static Color C((byte R, byte G, byte B) c) => new(c.R, c.G, c.B);

    /// <summary>The chart of <paramref name="trend"/> over [<paramref name="from"/>, <paramref name="to"/>) as a JPEG (see
    /// <see cref="ReportImages.Jpeg"/>).</summary>
    public static byte[] RenderJpeg(MetricTrend trend, DateTimeOffset from, DateTimeOffset to, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(trend);
        var points = trend.Points.Where(p => p.Value is { } v && double.IsFinite(v)).ToList();
        var plot = new Plot();
        double x0 = X(from), x1 = X(to);

        // The vertical range: every value and every finite limit, padded, so that the band and all points show.
        var ys = points.Select(p => p.Value!.Value)
            .Concat(trend.Points.SelectMany(p => new[] { p.LimitMin, p.LimitMax }).OfType<double>().Where(double.IsFinite)).ToList();
        double lo = ys.Count > 0 ? ys.Min() : 0, hi = ys.Count > 0 ? ys.Max() : 1;
        double pad = hi > lo ? (hi - lo) * 0.12 : Math.Max(Math.Abs(hi) * 0.1, 1);
        lo -= pad;
        hi += pad;

        // Bands: consecutive runs with the same limits share one; the last band reaches the end of the period.
        var judged = trend.Points.Where(p => p.LimitMin is not null || p.LimitMax is not null).ToList();
        for (int i = 0; i < judged.Count;)
        {
            int j = i;
            while (j + 1 < judged.Count && judged[j + 1].LimitMin == judged[i].LimitMin && judged[j + 1].LimitMax == judged[i].LimitMax) j++;
            double left = i == 0 ? x0 : X(judged[i].At), right = j + 1 < judged.Count ? X(judged[j + 1].At) : x1;
            double bottom = judged[i].LimitMin ?? lo, top = judged[i].LimitMax ?? hi;
            var band = plot.Add.Rectangle(left, right, bottom, top);
            band.FillStyle.Color = C(BandRgb);
            band.LineStyle.Width = 0;
            foreach (var limit in new[] { judged[i].LimitMin, judged[i].LimitMax })
            {
                if (limit is not { } y) continue;
                var line = plot.Add.Line(left, y, right, y);
                line.Color = C(PassRgb).WithAlpha(0.8);
                line.LineWidth = 1.5f;
                line.LinePattern = LinePattern.Dashed;
            }
            i = j + 1;
        }

        if (points.Count > 0)
        {
            var path = plot.Add.ScatterLine(points.Select(p => X(p.At)).ToArray(), points.Select(p => p.Value!.Value).ToArray(), new Color(120, 120, 120));
            path.LineWidth = 1.2f;
            foreach (var (verdict, rgb, shape) in new[] { ("pass", PassRgb, MarkerShape.FilledCircle), ("fail", FailRgb, MarkerShape.FilledSquare), ("inconclusive", InconclusiveRgb, MarkerShape.FilledDiamond) })
            {
                var some = points.Where(p => verdict == "inconclusive" ? p.Verdict is not ("pass" or "fail") : p.Verdict == verdict).ToList();
                if (some.Count == 0) continue;
                plot.Add.Markers(some.Select(p => X(p.At)).ToArray(), some.Select(p => p.Value!.Value).ToArray(), shape, verdict == "pass" ? 7 : 9, C(rgb));
            }
        }

        // ISO months on the time axis (the default is US month/day/year).
        if (plot.Axes.DateTimeTicksBottom().TickGenerator is ScottPlot.TickGenerators.DateTimeAutomatic ticks)
            ticks.LabelFormatter = t => t.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        plot.Font.Set("DejaVu Sans");
        plot.Axes.SetLimits(x0, x1, lo, hi);
        plot.Axes.Left.Label.Text = trend.Unit;
        plot.Axes.Left.Label.FontSize = 15;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Grid.MajorLineColor = new Color(225, 225, 225);
        using var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(width, height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Premul));
        plot.Render(surface.Canvas, width, height);
        using var image = surface.Snapshot();
        return ReportImages.Jpeg(image);
    }

    private static double X(DateTimeOffset t) => t.DateTime.ToOADate();
}

/// <summary>Images go into the PDF as JPEG: PDFsharp embeds a JPEG as it is (DCTDecode), while it decodes and re-compresses a
/// PNG in managed code (≈ 0.4 s per 1320×400 chart on this machine, against ≈ 1 ms), and the report must be made in ≤ 1 s.
/// Quality 95 without chroma subsampling keeps thin coloured lines and flat fills true.</summary>
public static class ReportImages
{
    public static byte[] Jpeg(SkiaSharp.SKImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var pixmap = image.PeekPixels();
        using var data = pixmap.Encode(new SkiaSharp.SKJpegEncoderOptions(95, SkiaSharp.SKJpegEncoderDownsample.Downsample444, SkiaSharp.SKJpegEncoderAlphaOption.Ignore))
            ?? throw new InvalidOperationException("SkiaSharp could not encode the JPEG");
        return data.ToArray();
    }
}
