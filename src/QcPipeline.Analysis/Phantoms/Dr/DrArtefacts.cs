using System.Globalization;
using System.Numerics;
using System.Text;

namespace QcPipeline.Analysis.Phantoms.Dr;

/// <summary>How the artefact scan judges local non-uniformity. A tile is flagged when its mean differs from the
/// median of its (up to 8) neighbours' means by more than the largest of: <see cref="TileRelativeThreshold"/> × that
/// median, <see cref="TileAbsoluteThreshold"/>, and 5 standard errors of a tile mean (so that noise alone never flags).
/// A pixel is defective when it differs from its tile's mean by more than the larger of
/// <see cref="DefectRelativeThreshold"/> × the tile mean and <see cref="DefectNoiseSigmas"/> × the image noise (the median
/// tile SD). A row or column is defective when at least half its pixels are defective, or when its mean differs from the
/// median of the 3 lines either side of it by more than the tile thresholds (scaled to a line's standard error).</summary>
internal sealed record ArtefactScanSettings(
    int TileSize,
    double TileRelativeThreshold,
    double TileAbsoluteThreshold,
    double DefectRelativeThreshold,
    double DefectNoiseSigmas,
    int MaxListed);

internal sealed class ArtefactReport
{
    public List<string> Warnings { get; } = [];
    public List<RoiGeometry> Rois { get; } = [];
    public int TileSize { get; init; }
    public int FlaggedTiles { get; set; }
    public int DefectPixels { get; set; }
    public List<int> DefectRows { get; } = [];
    public List<int> DefectColumns { get; } = [];
    /// <summary>Robust pixel noise: the median of the tiles' SDs.</summary>
    public double NoiseSd { get; set; } = double.NaN;
}

/// <summary>Tile and defect scan of a flat (or dark) DR image (STANDARDS.md §2 "artefacts: flag local non-uniformity as a
/// warning for review"). Two passes over the pixels, both linear in the image size: (1) per-tile, per-row and
/// per-column sums; (2) a vectorised comparison of every pixel with its tile's mean.</summary>
internal static class DrArtefacts
{
    private const int MaxStoredDefects = 1 << 18;
    private const int MaxRois = 200;

    /// <summary>Tile side: 10 mm from the pixel spacing when known, else 32 px; at most a third of the shorter side.</summary>
    public static int TileSizeFor(AnalysisImage image, int? requested)
    {
        int size = requested ?? (image.PixelSpacingX is > 0 ? (int)Math.Round(10.0 / image.PixelSpacingX.Value) : 32);
        size = Math.Clamp(size, 4, 512);
        return Math.Min(size, Math.Min(image.Width, image.Height) / 3);
    }

    public static ArtefactReport Scan(AnalysisImage image, int frame, ArtefactScanSettings s)
    {
        int w = image.Width, h = image.Height, ts = s.TileSize;
        var report = new ArtefactReport { TileSize = ts };
        if (ts < 4)
        {
            report.Warnings.Add("image too small for the artefact scan (needs at least 12 × 12 pixels)");
            return report;
        }
        int ntx = (w + ts - 1) / ts, nty = (h + ts - 1) / ts;
        var px = image.Pixels;
        double offset = PlanarImageOps.Percentile(px, 0.5, 4096);
        if (double.IsNaN(offset)) offset = 0;

        // Pass 1: tile, row and column sums. Tiles sum their pixels minus the tile's first pixel (so that the variance does
        // not cancel), columns minus a global reference level. Rows without padding take a vectorised single-precision
        // path (a row segment is at most one tile wide, so float sums of shifted values lose nothing that matters here);
        // rows with NaN take the scalar path.
        var tSum = new double[ntx * nty];
        var tSq = new double[ntx * nty];
        var tN = new int[ntx * nty];
        var tOff = new float[ntx * nty];
        var rowSum = new double[h];
        var rowN = new int[h];
        var colSumF = new float[w];
        var colSum = new double[w];
        var colN = new int[w];
        int fullRows = 0;
        float gOff = (float)offset;
        int lanes = Vector<float>.Count;
        var vgOff = new Vector<float>(gOff);
        for (int y = 0; y < h; y++)
        {
            var row = px.AsSpan(y * w, w);
            int tileRow = (y / ts) * ntx;
            if (y % ts == 0)
                for (int tx = 0; tx < ntx; tx++)
                {
                    float first = row[tx * ts];
                    tOff[tileRow + tx] = float.IsNaN(first) ? gOff : first;
                }
            double rs = 0;
            int rn = 0;
            if (!HasNaN(row))
            {
                fullRows++;
                for (int tx = 0; tx < ntx; tx++)
                {
                    int x0 = tx * ts, x1 = Math.Min(w, x0 + ts);
                    float to = tOff[tileRow + tx];
                    var vto = new Vector<float>(to);
                    var vs = Vector<float>.Zero;
                    var vq = Vector<float>.Zero;
                    int x = x0;
                    for (; x <= x1 - lanes; x += lanes)
                    {
                        var v = new Vector<float>(row.Slice(x, lanes));
                        var d = v - vto;
                        vs += d;
                        vq += d * d;
                        var cs = new Vector<float>(colSumF.AsSpan(x, lanes)) + (v - vgOff);
                        cs.CopyTo(colSumF.AsSpan(x, lanes));
                    }
                    double ss = Vector.Sum(vs), sq = Vector.Sum(vq);
                    for (; x < x1; x++)
                    {
                        float d = row[x] - to;
                        ss += d; sq += d * d;
                        colSumF[x] += row[x] - gOff;
                    }
                    int n = x1 - x0;
                    tSum[tileRow + tx] += ss; tSq[tileRow + tx] += sq; tN[tileRow + tx] += n;
                    rs += ss + n * ((double)to - offset); rn += n;
                }
            }
            else
            {
                for (int tx = 0; tx < ntx; tx++)
                {
                    int x0 = tx * ts, x1 = Math.Min(w, x0 + ts);
                    double to = tOff[tileRow + tx];
                    double ss = 0, sq = 0;
                    int n = 0;
                    for (int x = x0; x < x1; x++)
                    {
                        float v = row[x];
                        if (float.IsNaN(v)) continue;
                        double d = v - to;
                        ss += d; sq += d * d; n++;
                        colSum[x] += v - offset; colN[x]++;
                    }
                    tSum[tileRow + tx] += ss; tSq[tileRow + tx] += sq; tN[tileRow + tx] += n;
                    rs += ss + n * (to - offset); rn += n;
                }
            }
            rowSum[y] = rs; rowN[y] = rn;
            // Flush the float column sums before they grow large enough to lose precision.
            if ((y & 255) == 255) FlushColumns(colSumF, colSum);
        }
        FlushColumns(colSumF, colSum);
        for (int x = 0; x < w; x++) colN[x] += fullRows;

        var tMean = new double[ntx * nty];
        var tValid = new bool[ntx * nty];
        var sds = new List<double>(ntx * nty);
        for (int t = 0; t < tMean.Length; t++)
        {
            int n = tN[t];
            int tw = Math.Min(ts, w - (t % ntx) * ts), th = Math.Min(ts, h - (t / ntx) * ts);
            // A tile that is mostly padding (or a sliver at the image edge) says nothing about its neighbours.
            tValid[t] = n >= Math.Max(4, ts * ts / 4) && n * 2 >= tw * th;
            tMean[t] = n > 0 ? tSum[t] / n + tOff[t] : double.NaN;
            if (tValid[t] && n > 1) sds.Add(Math.Sqrt(Math.Max(0, (tSq[t] - tSum[t] * tSum[t] / n) / (n - 1))));
        }
        double noise = sds.Count > 0 ? PlanarImageOps.Median(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(sds)) : 0;
        report.NoiseSd = noise;

        FlagTiles(image, frame, s, report, ntx, nty, tMean, tN, tValid, noise);

        // Pass 2: pixels far from their tile's mean. Vectorised: a chunk is only inspected pixel by pixel when one of its
        // lanes exceeds the threshold (NaN lanes compare false).
        var rowFlags = new int[h];
        var colFlags = new int[w];
        var defects = new List<int>();
        long defectTotal = 0;
        for (int ty = 0; ty < nty; ty++)
        {
            int y0 = ty * ts, y1 = Math.Min(h, y0 + ts);
            for (int tx = 0; tx < ntx; tx++)
            {
                int t = ty * ntx + tx;
                if (tN[t] == 0) continue;
                float m = (float)tMean[t];
                float thr = (float)Math.Max(s.DefectRelativeThreshold * Math.Abs(tMean[t]), s.DefectNoiseSigmas * noise);
                if (!(thr > 0)) continue; // a perfectly constant image has no defects to find
                var vm = new Vector<float>(m);
                var vt = new Vector<float>(thr);
                int x0 = tx * ts, x1 = Math.Min(w, x0 + ts);
                for (int y = y0; y < y1; y++)
                {
                    var seg = px.AsSpan(y * w + x0, x1 - x0);
                    int i = 0;
                    for (; i <= seg.Length - lanes; i += lanes)
                    {
                        var d = Vector.Abs(new Vector<float>(seg.Slice(i, lanes)) - vm);
                        if (!Vector.GreaterThanAny(d, vt)) continue;
                        for (int k = i; k < i + lanes; k++) Check(seg[k], x0 + k, y);
                    }
                    for (; i < seg.Length; i++) Check(seg[i], x0 + i, y);
                }

                void Check(float v, int x, int y)
                {
                    if (!(Math.Abs(v - m) > thr)) return;
                    defectTotal++;
                    rowFlags[y]++; colFlags[x]++;
                    if (defects.Count < MaxStoredDefects) defects.Add(y * w + x);
                }
            }
        }

        FlagLines(rowSum, rowN, rowFlags, offset, noise, s, report.DefectRows);
        FlagLines(colSum, colN, colFlags, offset, noise, s, report.DefectColumns);
        Describe(image, frame, s, report, defects, defectTotal);
        return report;
    }

    private static bool HasNaN(ReadOnlySpan<float> row)
    {
        int lanes = Vector<float>.Count, i = 0;
        for (; i <= row.Length - lanes; i += lanes)
        {
            var v = new Vector<float>(row.Slice(i, lanes));
            if (!Vector.EqualsAll(v, v)) return true;
        }
        for (; i < row.Length; i++) if (float.IsNaN(row[i])) return true;
        return false;
    }

    private static void FlushColumns(float[] partial, double[] total)
    {
        for (int x = 0; x < partial.Length; x++) { total[x] += partial[x]; partial[x] = 0; }
    }

    private static void FlagTiles(AnalysisImage image, int frame, ArtefactScanSettings s, ArtefactReport report,
        int ntx, int nty, double[] tMean, int[] tN, bool[] tValid, double noise)
    {
        int ts = s.TileSize;
        Span<double> neighbours = stackalloc double[8];
        var listed = new StringBuilder();
        int flagged = 0;
        for (int ty = 0; ty < nty; ty++)
            for (int tx = 0; tx < ntx; tx++)
            {
                int t = ty * ntx + tx;
                if (!tValid[t]) continue;
                int k = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int nx = tx + dx, ny = ty + dy;
                        if ((dx == 0 && dy == 0) || nx < 0 || ny < 0 || nx >= ntx || ny >= nty || !tValid[ny * ntx + nx]) continue;
                        neighbours[k++] = tMean[ny * ntx + nx];
                    }
                if (k < 3) continue;
                double med = PlanarImageOps.Median(neighbours[..k]);
                double dev = tMean[t] - med;
                double thr = Math.Max(Math.Max(s.TileRelativeThreshold * Math.Abs(med), s.TileAbsoluteThreshold), 5 * noise / Math.Sqrt(tN[t]));
                if (!(Math.Abs(dev) > thr)) continue;
                flagged++;
                int x0 = tx * ts, y0 = ty * ts, tw = Math.Min(ts, image.Width - x0), th = Math.Min(ts, image.Height - y0);
                if (report.Rois.Count < MaxRois) report.Rois.Add(DrInputs.Rect($"artefact tile ({tx},{ty})", frame, x0, y0, tw, th));
                if (flagged <= s.MaxListed)
                {
                    string rel = med != 0 ? string.Create(CultureInfo.InvariantCulture, $" ({100 * dev / Math.Abs(med):+0.0;-0.0} %)") : "";
                    listed.Append(CultureInfo.InvariantCulture, $"{(flagged > 1 ? "; " : "")}x {x0}–{x0 + tw - 1}, y {y0}–{y0 + th - 1}: mean {tMean[t]:G5} vs {med:G5}{rel}");
                }
            }
        report.FlaggedTiles = flagged;
        if (flagged > 0)
            report.Warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"artefact: {flagged} tile(s) of {ts}×{ts} px differ from their neighbours' median: {listed}{(flagged > s.MaxListed ? $"; and {flagged - s.MaxListed} more" : "")}"));
    }

    private static void FlagLines(double[] sums, int[] counts, int[] flags, double offset, double noise, ArtefactScanSettings s, List<int> result)
    {
        int n = sums.Length;
        var means = new double[n];
        for (int i = 0; i < n; i++) means[i] = counts[i] > 0 ? sums[i] / counts[i] + offset : double.NaN;
        Span<double> window = stackalloc double[6];
        for (int i = 0; i < n; i++)
        {
            if (counts[i] == 0) continue;
            if (flags[i] * 2 >= counts[i] && counts[i] >= 4) { result.Add(i); continue; }
            int k = 0;
            for (int j = Math.Max(0, i - 3); j <= Math.Min(n - 1, i + 3); j++)
                if (j != i && !double.IsNaN(means[j])) window[k++] = means[j];
            if (k < 2) continue;
            double med = PlanarImageOps.Median(window[..k]);
            double thr = Math.Max(Math.Max(s.TileRelativeThreshold * Math.Abs(med), s.TileAbsoluteThreshold), 5 * noise / Math.Sqrt(counts[i]));
            if (Math.Abs(means[i] - med) > thr) result.Add(i);
        }
    }

    private static void Describe(AnalysisImage image, int frame, ArtefactScanSettings s, ArtefactReport report, List<int> defects, long total)
    {
        int w = image.Width;
        var badRows = new HashSet<int>(report.DefectRows);
        var badCols = new HashSet<int>(report.DefectColumns);
        int isolated = 0;
        var listed = new StringBuilder();
        foreach (var i in defects)
        {
            int x = i % w, y = i / w;
            if (badRows.Contains(y) || badCols.Contains(x)) continue;
            isolated++;
            if (isolated <= s.MaxListed)
            {
                listed.Append(CultureInfo.InvariantCulture, $"{(isolated > 1 ? ", " : "")}({x},{y})");
                if (report.Rois.Count < MaxRois) report.Rois.Add(DrInputs.Rect("defective pixel", frame, x, y, 1, 1));
            }
        }
        bool truncated = total > defects.Count;
        report.DefectPixels = isolated;
        if (isolated > 0)
            report.Warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"defective pixels: {isolated}{(truncated ? "+" : "")} pixel(s) far from their local mean: {listed}{(isolated > s.MaxListed ? ", ..." : "")}"));
        if (report.DefectRows.Count > 0)
        {
            report.Warnings.Add($"defective rows: y = {List(report.DefectRows, s.MaxListed)}");
            foreach (var y in report.DefectRows.Take(s.MaxListed))
                if (report.Rois.Count < MaxRois) report.Rois.Add(DrInputs.Rect($"defective row {y}", frame, 0, y, w, 1));
        }
        if (report.DefectColumns.Count > 0)
        {
            report.Warnings.Add($"defective columns: x = {List(report.DefectColumns, s.MaxListed)}");
            foreach (var x in report.DefectColumns.Take(s.MaxListed))
                if (report.Rois.Count < MaxRois) report.Rois.Add(DrInputs.Rect($"defective column {x}", frame, x, 0, 1, image.Height));
        }
    }

    private static string List(List<int> values, int max) =>
        string.Join(", ", values.Take(max).Select(v => v.ToString(CultureInfo.InvariantCulture))) + (values.Count > max ? $", ... ({values.Count} in all)" : "");
}
