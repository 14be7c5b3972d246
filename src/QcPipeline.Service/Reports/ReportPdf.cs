using System.Globalization;
using PdfSharp.Drawing;
using PdfSharp.Pdf;

namespace QcPipeline.Service.Reports;

/// <summary>No CJK font is installed or configured: a PDF cannot be made (HTTP 503 with <see cref="Exception.Message"/>).</summary>
public sealed class ReportFontMissingException(string message) : Exception(message);

/// <summary>The PDF an auditor takes away (PDFsharp, A4): a cover (institutions, devices, period, generated-at, the clauses
/// cited, a summary per device), then per device: its details, a trend chart per metric with the limit band, the table of
/// every run with its verdict, the test plan with the overdue tests, the label-compliance rate and the ROI image of the
/// latest result. Every page has a running header and "page n of m". Texts come from <see cref="ReportTexts"/>; the CJK
/// font is embedded as a subset.</summary>
public sealed class ReportPdfWriter(CjkFont font, RoiImageRenderer roi)
{
    public async Task<byte[]> WriteAsync(TrendReport report, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (font.FamilyName is null) throw new ReportFontMissingException(font.Problem ?? "no CJK font");
        CjkFontResolver.Install();
        // The one asynchronous part (database and instance store) first; the layout below is CPU only.
        var rois = new Dictionary<long, byte[]?>();
        foreach (var d in report.Devices)
            if (d.LatestResultId is { } id) rois[id] = await roi.RenderAsync(id, ct).ConfigureAwait(false);
        // Charts are independent CPU work: drawn in parallel (Skia surfaces are per call).
        var trends = report.Devices.SelectMany(d => d.Metrics).Where(m => m.Points.Any(p => p.Value is not null)).ToList();
        var charts = new byte[trends.Count][];
        Parallel.For(0, trends.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) },
            i => charts[i] = ReportCharts.RenderJpeg(trends[i], report.From, report.To, ChartPixelWidth, ChartPixelHeight));
        var chartOf = new Dictionary<MetricTrend, byte[]>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < trends.Count; i++) chartOf[trends[i]] = charts[i];
        ct.ThrowIfCancellationRequested();
        using var layout = new Layout(report, font.FamilyName, rois, chartOf);
        return layout.Write();
    }

    internal const int ChartPixelWidth = 1320;
    internal const int ChartPixelHeight = 400;

    private sealed class Layout : IDisposable
    {
        private const double PageWidth = 595.28, PageHeight = 841.89;
        private const double Left = 50, Right = PageWidth - 50, Top = 68, Bottom = PageHeight - 56;
        private const double Width = Right - Left;
        private static readonly XColor Ink = XColor.FromArgb(33, 33, 33);
        private static readonly XColor Muted = XColor.FromArgb(110, 110, 110);
        private static readonly XColor Accent = XColor.FromArgb(21, 67, 120);
        private static readonly XColor Rule = XColor.FromArgb(200, 200, 200);
        private static readonly XColor HeaderFill = XColor.FromArgb(232, 238, 246);
        private static readonly XColor PassFill = XColor.FromArgb(225, 243, 228);
        private static readonly XColor FailFill = XColor.FromArgb(250, 222, 222);
        private static readonly XColor OtherFill = XColor.FromArgb(253, 236, 212);

        private readonly TrendReport _r;
        private readonly ReportLanguage _lang;
        private readonly Dictionary<long, byte[]?> _rois;
        private readonly Dictionary<MetricTrend, byte[]> _charts;
        private readonly PdfDocument _doc = new();
        private readonly XFont _title, _h1, _h2, _body, _bold, _small;
        private readonly Dictionary<(XFont, char), double> _charWidths = [];
        private XGraphics? _g;
        private double _y;
        private string _running = "";

        public Layout(TrendReport report, string family, Dictionary<long, byte[]?> rois, Dictionary<MetricTrend, byte[]> charts)
        {
            _r = report;
            _lang = report.Language == "en" ? ReportLanguage.En : ReportLanguage.Zh;
            _rois = rois;
            _charts = charts;
            var options = new XPdfFontOptions(PdfFontEncoding.Unicode, PdfFontEmbedding.TryComputeSubset);
            _title = new XFont(family, 22, XFontStyleEx.Bold, options);
            _h1 = new XFont(family, 15, XFontStyleEx.Bold, options);
            _h2 = new XFont(family, 11.5, XFontStyleEx.Bold, options);
            _body = new XFont(family, 9, XFontStyleEx.Regular, options);
            _bold = new XFont(family, 9, XFontStyleEx.Bold, options);
            _small = new XFont(family, 7.5, XFontStyleEx.Regular, options);
        }

        public void Dispose() => _doc.Dispose();

        private string T(string key) => ReportTexts.Get(key, _lang);
        private XGraphics G => _g ?? throw new InvalidOperationException("no page");

        public byte[] Write()
        {
            _doc.Info.Title = T("title");
            _doc.Info.Creator = "QcPipeline";
            _doc.Info.Subject = string.Join(", ", _r.Devices.Select(d => d.Device.Name));
            Cover();
            foreach (var d in _r.Devices) Device(d);
            _g?.Dispose();
            PageNumbers();
            using var ms = new MemoryStream();
            _doc.Save(ms, closeStream: false);
            return ms.ToArray();
        }

        // ---- pages -------------------------------------------------------------------------------------------------

        private void Cover()
        {
            _running = T("title");
            NewPage(header: false);
            _y = 120;
            var band = new XRect(0, 0, PageWidth, 8);
            G.DrawRectangle(new XSolidBrush(Accent), band);
            Text(T("title"), _title, Accent, spacing: 6);
            Text(T("subtitle"), _h2, Muted, spacing: 22);

            var institutions = _r.Devices.Select(d => d.Device.InstitutionName).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
            var devices = _r.Devices.Count == 1 ? _r.Devices[0].Device.Name : $"{T("fleet")} ({_r.Devices.Count}): " + string.Join("、", _r.Devices.Take(12).Select(d => d.Device.Name)) + (_r.Devices.Count > 12 ? " …" : "");
            KeyValues(
            [
                (T("institution"), institutions.Count == 0 ? "—" : string.Join("；", institutions)),
                (_r.Devices.Count == 1 ? T("device") : T("devices"), devices),
                (T("period"), $"{Day(_r.From)} — {Day(_r.To.AddTicks(-1))}"),
                (T("test"), _r.Test is { } t ? ReportTexts.Test(t, _lang) : T("all-tests")),
                (T("generated"), Time(_r.GeneratedAt)),
                (T("timezone"), _r.TimeZone),
            ], 110);
            _y += 10;
            Heading(T("clauses"), _h2);
            foreach (var key in new[] { "clause-cnas", "clause-db11", "clause-limits" }) Text("• " + T(key), _body, Ink, indent: 4, spacing: 4);
            _y += 6;
            Text(T("contents"), _body, Muted, spacing: 12);

            Heading(T("summary"), _h2);
            Table([150, 55, 55, 55, 60, 60, 60],
                [T("device"), T("runs"), T("passed"), T("failed"), T("inconclusive"), T("overdue-count"), T("labels-rate")],
                _r.Devices.Select(d => new Row([d.Device.Name, N(d.Summary.Runs), N(d.Summary.Passed), N(d.Summary.Failed), N(d.Summary.Inconclusive),
                    d.Due.Configured ? N(d.Due.OverdueCount) : "—", Rate(d.Labels.Rate)],
                    d.Summary.Failed > 0 || d.Due.OverdueCount > 0 ? FailFill : null)));
        }

        private void Device(DeviceReport d)
        {
            _running = $"{T("title")} · {d.Device.Name}";
            NewPage();
            Text(d.Device.Name, _h1, Accent, spacing: 4);
            KeyValues(
            [
                (T("key"), d.Device.Key),
                (T("institution"), d.Device.InstitutionName ?? "—"),
                (T("modality"), d.Device.Modality ?? "—"),
                (T("manufacturer"), string.Join(" / ", new[] { d.Device.Manufacturer, d.Device.Model }.OfType<string>()) is { Length: > 0 } mm ? mm : "—"),
                (T("site"), d.Device.Site ?? "—"),
                (T("period"), $"{Day(_r.From)} — {Day(_r.To.AddTicks(-1))}"),
                (T("summary"), $"{T("runs")} {d.Summary.Runs} · {T("passed")} {d.Summary.Passed} · {T("failed")} {d.Summary.Failed} · {T("inconclusive")} {d.Summary.Inconclusive}"),
            ], 90);
            _y += 6;

            Heading(T("trends"), _h2);
            if (d.Runs.Count == 0) Text(T("no-runs"), _body, Muted, spacing: 8);
            else Legend();
            foreach (var m in d.Metrics) Chart(m);

            Heading(T("run-table"), _h2);
            if (d.Runs.Count == 0) Text(T("no-runs"), _body, Muted, spacing: 8);
            else
            {
                Table([82, 38, 62, 45, 268], [T("date"), T("result-id"), T("test"), T("verdict"), $"{T("metric")} / {T("value")}"],
                    d.Runs.Select(run => new Row([Time(run.At), N(run.ResultId), run.Test, ReportTexts.Verdict(run.Verdict, _lang), RunValues(run)],
                        null, VerdictCell: 3, Verdict: run.Verdict)));
            }

            Heading(T("due"), _h2);
            if (!d.Due.Configured) Text(T("due-not-configured"), _body, Muted, spacing: 8);
            else if (d.Due.Tests.Count == 0) Text(T("due-none"), _body, Muted, spacing: 8);
            else
            {
                Text($"{T("overdue-count")}: {d.Due.OverdueCount}  ({Time(d.Due.AsOf)})", _bold, d.Due.OverdueCount > 0 ? XColor.FromArgb(198, 40, 40) : Ink, spacing: 4);
                Table([120, 65, 75, 75, 75, 85], [T("test"), T("frequency"), T("last-run"), T("last-pass"), T("due-at"), T("status")],
                    d.Due.Tests.Select(t => new Row([ReportTexts.Test(t.Test, _lang), ReportTexts.Frequency(TimeSpan.FromDays(t.FrequencyDays), _lang),
                        Opt(t.LastRunAt), Opt(t.LastPassAt), Opt(t.DueAt), t.Overdue ? T("overdue") : T("on-time")],
                        t.Overdue ? FailFill : null)));
            }

            Heading(T("labels"), _h2);
            if (d.Labels.SeriesChecked == 0) Text(T("labels-none"), _body, Muted, spacing: 4);
            else
            {
                KeyValues(
                [
                    (T("labels-rate"), Rate(d.Labels.Rate)),
                    (T("labels-checked"), N(d.Labels.SeriesChecked)),
                    (T("labels-compliant"), N(d.Labels.SeriesCompliant)),
                ], 150);
            }
            Text(T("labels-definition"), _small, Muted, spacing: 8);

            if (d.LatestResultId is { } latest)
            {
                var run = d.Runs[^1];
                var png = _rois.GetValueOrDefault(latest);
                double side = 250;
                Need(24 + (png is null ? 20 : side + 30));
                Heading(T("roi"), _h2);
                Text($"{T("result-id")} {latest} · {ReportTexts.Test(run.Test, _lang)} · {Time(run.At)} · {ReportTexts.Verdict(run.Verdict, _lang)}", _body, Ink, spacing: 4);
                if (png is null) Text(T("roi-missing"), _body, Muted, spacing: 8);
                else
                {
                    using var stream = new MemoryStream(png, writable: false);
                    using var image = XImage.FromStream(stream);
                    double h = side * image.PixelHeight / Math.Max(1, image.PixelWidth);
                    G.DrawImage(image, Left, _y, side, h);
                    G.DrawRectangle(new XPen(Rule, 0.5), Left, _y, side, h);
                    _y += h + 8;
                }
            }
        }

        private string RunValues(ReportRun run)
        {
            if (run.Metrics.Count == 0) return run.InconclusiveReason ?? "—";
            return string.Join("; ", run.Metrics.Select(m =>
                $"{Short(m.Name)}\u00A0{Num(m.Value)}{(m.Unit.Length > 0 ? "\u00A0" + m.Unit : "")}{(m.Verdict == "fail" ? $" ({T("fail")})" : m.Verdict == "pass" ? "" : $" ({T("inconclusive")})")}"));
        }

        private static string Short(string name) => name.LastIndexOf('.') is int i and >= 0 ? name[(i + 1)..] : name;

        private void Legend()
        {
            Need(16);
            double x = Left;
            void Item(XColor c, string label, bool band = false)
            {
                if (band) G.DrawRectangle(new XSolidBrush(c), x, _y + 1, 16, 8);
                else G.DrawEllipse(new XSolidBrush(c), x + 4, _y + 1, 8, 8);
                G.DrawString(label, _small, new XSolidBrush(Ink), new XPoint(x + 20, _y + 8));
                x += 26 + G.MeasureString(label, _small).Width + 12;
            }
            Item(Rgb(ReportCharts.BandRgb), T("limit"), band: true);
            Item(Rgb(ReportCharts.PassRgb), T("pass"));
            Item(Rgb(ReportCharts.FailRgb), T("fail"));
            Item(Rgb(ReportCharts.InconclusiveRgb), T("inconclusive"));
            _y += 16;
        }

        private void Chart(MetricTrend m)
        {
            double h = Width * ChartPixelHeight / ChartPixelWidth;
            var last = m.Points[^1];
            string limit = LimitText(last.LimitMin, last.LimitMax, m.Unit);
            int fails = m.Points.Count(p => p.Verdict == "fail");
            Need(30 + h);
            Text($"{ReportTexts.Metric(m.Name, _lang)} — {ReportTexts.Test(m.Test, _lang)}", _bold, Ink, spacing: 1);
            Text($"{T("limit")}: {limit} · {T("runs")} {m.Points.Count} · {T("failed")} {fails}", _small, Muted, spacing: 3);
            if (_charts.TryGetValue(m, out var png))
            {
                using var stream = new MemoryStream(png, writable: false);
                using var image = XImage.FromStream(stream);
                G.DrawImage(image, Left, _y, Width, h);
                _y += h + 10;
            }
            else Text(T("no-values"), _body, Muted, spacing: 8);
        }

        private static string LimitText(double? min, double? max, string unit) => (min, max) switch
        {
            ({ } lo, { } hi) => $"[{Num(lo)}, {Num(hi)}] {unit}",
            ({ } lo, null) => $"≥ {Num(lo)} {unit}",
            (null, { } hi) => $"≤ {Num(hi)} {unit}",
            _ => "—",
        };

        // ---- primitives ---------------------------------------------------------------------------------------------

        private void NewPage(bool header = true)
        {
            _g?.Dispose();
            var page = _doc.AddPage();
            page.Width = XUnit.FromPoint(PageWidth);
            page.Height = XUnit.FromPoint(PageHeight);
            _g = XGraphics.FromPdfPage(page);
            _y = Top;
            if (header)
            {
                G.DrawString(_running, _small, new XSolidBrush(Muted), new XPoint(Left, 40));
                G.DrawLine(new XPen(Rule, 0.6), Left, 46, Right, 46);
            }
        }

        private void Need(double height)
        {
            if (_y + height > Bottom) NewPage();
        }

        private void Heading(string text, XFont f)
        {
            Need(f.Size * 1.6 + 40);
            _y += 6;
            Text(text, f, Accent, spacing: 4);
        }

        private void Text(string text, XFont f, XColor color, double indent = 0, double spacing = 2)
        {
            var brush = new XSolidBrush(color);
            double lh = f.Size * 1.35;
            foreach (var line in Wrap(text, f, Width - indent))
            {
                Need(lh);
                G.DrawString(line, f, brush, new XPoint(Left + indent, _y + f.Size));
                _y += lh;
            }
            _y += spacing;
        }

        private void KeyValues(IReadOnlyList<(string Key, string Value)> rows, double keyWidth)
        {
            var keyBrush = new XSolidBrush(Muted);
            var valueBrush = new XSolidBrush(Ink);
            double lh = _body.Size * 1.45;
            foreach (var (k, v) in rows)
            {
                var lines = Wrap(v, _body, Width - keyWidth);
                Need(lh * lines.Count);
                G.DrawString(k, _body, keyBrush, new XPoint(Left, _y + _body.Size));
                foreach (var line in lines)
                {
                    G.DrawString(line, _body, valueBrush, new XPoint(Left + keyWidth, _y + _body.Size));
                    _y += lh;
                }
            }
        }

        private sealed record Row(string[] Cells, XColor? Fill, int VerdictCell = -1, string? Verdict = null);

        /// <summary>A table with wrapped cells; the header row is repeated on each page the table continues on.</summary>
        private void Table(double[] widths, string[] header, IEnumerable<Row> rows)
        {
            const double pad = 3;
            double lh = _body.Size * 1.3;
            var ink = new XSolidBrush(Ink);
            var rule = new XPen(Rule, 0.5);
            void Header()
            {
                var lines = header.Select((h, i) => Wrap(h, _bold, widths[i] - 2 * pad)).ToList();
                double h = lines.Max(l => l.Count) * lh + 2 * pad;
                Need(h + lh + 2 * pad);
                G.DrawRectangle(new XSolidBrush(HeaderFill), Left, _y, widths.Sum(), h);
                double x = Left;
                for (int i = 0; i < widths.Length; i++)
                {
                    for (int j = 0; j < lines[i].Count; j++) G.DrawString(lines[i][j], _bold, ink, new XPoint(x + pad, _y + pad + j * lh + _bold.Size));
                    x += widths[i];
                }
                _y += h;
                G.DrawLine(rule, Left, _y, Left + widths.Sum(), _y);
            }
            Header();
            foreach (var row in rows)
            {
                var lines = row.Cells.Select((c, i) => Wrap(c, _body, widths[i] - 2 * pad)).ToList();
                double h = lines.Max(l => l.Count) * lh + 2 * pad;
                if (_y + h > Bottom)
                {
                    NewPage();
                    Header();
                }
                if (row.Fill is { } fill) G.DrawRectangle(new XSolidBrush(fill), Left, _y, widths.Sum(), h);
                double x = Left;
                for (int i = 0; i < widths.Length; i++)
                {
                    if (i == row.VerdictCell)
                        G.DrawRectangle(new XSolidBrush(row.Verdict switch { "pass" => PassFill, "fail" => FailFill, _ => OtherFill }), x, _y, widths[i], h);
                    for (int j = 0; j < lines[i].Count; j++) G.DrawString(lines[i][j], _body, ink, new XPoint(x + pad, _y + pad + j * lh + _body.Size));
                    x += widths[i];
                }
                _y += h;
                G.DrawLine(rule, Left, _y, Left + widths.Sum(), _y);
            }
            _y += 8;
        }

        /// <summary>Lines of at most <paramref name="width"/> points: Latin words break at spaces, CJK between any two
        /// characters, and a word too long for a line between characters.</summary>
        private List<string> Wrap(string text, XFont f, double width)
        {
            var lines = new List<string>();
            var line = new System.Text.StringBuilder();
            double lineWidth = 0;
            foreach (var paragraph in text.Split('\n'))
            {
                int i = 0;
                while (i < paragraph.Length)
                {
                    // The next token: one CJK character, a run of spaces, or a run of other characters.
                    int j = i + 1;
                    if (paragraph[i] == ' ') while (j < paragraph.Length && paragraph[j] == ' ') j++;
                    else if (!IsCjk(paragraph[i])) while (j < paragraph.Length && paragraph[j] != ' ' && !IsCjk(paragraph[j])) j++;
                    string token = paragraph[i..j];
                    double tw = 0;
                    foreach (char c in token) tw += CharWidth(f, c);
                    // CJK closing punctuation never starts a line (it may overhang the margin a little instead).
                    if (lineWidth + tw > width && line.Length > 0 && !(token.Length == 1 && "，。、；：！？）》」』".Contains(token[0], StringComparison.Ordinal)))
                    {
                        lines.Add(line.ToString().TrimEnd());
                        line.Clear();
                        lineWidth = 0;
                        if (token[0] == ' ') { i = j; continue; }
                    }
                    if (tw > width)
                    {
                        // A word wider than the line: by characters.
                        foreach (char c in token)
                        {
                            double cw = CharWidth(f, c);
                            if (lineWidth + cw > width && line.Length > 0)
                            {
                                lines.Add(line.ToString());
                                line.Clear();
                                lineWidth = 0;
                            }
                            line.Append(c);
                            lineWidth += cw;
                        }
                    }
                    else
                    {
                        line.Append(token);
                        lineWidth += tw;
                    }
                    i = j;
                }
                lines.Add(line.ToString().TrimEnd());
                line.Clear();
                lineWidth = 0;
            }
            return lines;
        }

        private static bool IsCjk(char c) => c >= 0x2E80;

        private double CharWidth(XFont f, char c)
        {
            if (!_charWidths.TryGetValue((f, c), out double w))
            {
                w = G.MeasureString(c.ToString(), f).Width;
                _charWidths[(f, c)] = w;
            }
            return w;
        }

        private void PageNumbers()
        {
            int n = _doc.PageCount;
            for (int i = 0; i < n; i++)
            {
                using var g = XGraphics.FromPdfPage(_doc.Pages[i], XGraphicsPdfPageOptions.Append);
                string text = string.Format(CultureInfo.InvariantCulture, T("page"), i + 1, n);
                var size = g.MeasureString(text, _small);
                g.DrawLine(new XPen(Rule, 0.6), Left, PageHeight - 40, Right, PageHeight - 40);
                g.DrawString(text, _small, new XSolidBrush(Muted), new XPoint(Right - size.Width, PageHeight - 28));
                g.DrawString($"QcPipeline · {T("generated")} {Time(_r.GeneratedAt)}", _small, new XSolidBrush(Muted), new XPoint(Left, PageHeight - 28));
            }
        }

        private static XColor Rgb((byte R, byte G, byte B) c) => XColor.FromArgb(c.R, c.G, c.B);
        private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
        private static string Num(double? v) => v is { } x ? x.ToString("0.####", CultureInfo.InvariantCulture) : "—";
        private static string Rate(double? r) => r is { } x ? (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %" : "—";
        private static string Day(DateTimeOffset t) => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        private static string Time(DateTimeOffset t) => t.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        private static string Opt(DateTimeOffset? t) => t is { } v ? Day(v) : "—";
    }
}
