using System.Numerics;

namespace QcPipeline.Analysis.Phantoms.Ct;

/// <summary>The phantom found on one slice. Centre in pixel coordinates (column, row) and in mm from the
/// top-left pixel centre; radius in mm.</summary>
internal readonly record struct PhantomFit(
    double CenterX, double CenterY, double RadiusMm, double SpacingX, double SpacingY,
    double RmsResidualMm, double InlierFraction, int EdgePoints)
{
    public double DiameterMm => 2 * RadiusMm;
    /// <summary>Mean pixel spacing: ROI radii in pixels (circles; near-isotropic pixels are checked by the caller).</summary>
    public double Spacing => 0.5 * (SpacingX + SpacingY);
    public double RadiusPixels => RadiusMm / Spacing;
}

/// <summary>Reusable buffers, so that a series costs a handful of allocations, not some per slice or per pixel.</summary>
internal sealed class CtWorkspace
{
    public int[] RunStart = new int[1024], RunEnd = new int[1024], RunRow = new int[1024], Parent = new int[1024];
    public long[] Area = new long[1024];
    public int[] MinX = new int[1024], MaxX = new int[1024], MinY = new int[1024], MaxY = new int[1024];
    public double[] PointX = new double[2048], PointY = new double[2048], Sorted = new double[2048];
    public double[] BinSum = new double[1024];
    public int[] BinCount = new int[1024];
    public double[] Esf = new double[1024], Lsf = new double[1024];

    public void EnsureRuns(int n)
    {
        if (n <= RunStart.Length) return;
        int size = Math.Max(n, RunStart.Length * 2);
        Array.Resize(ref RunStart, size); Array.Resize(ref RunEnd, size); Array.Resize(ref RunRow, size); Array.Resize(ref Parent, size);
        Array.Resize(ref Area, size); Array.Resize(ref MinX, size); Array.Resize(ref MaxX, size); Array.Resize(ref MinY, size); Array.Resize(ref MaxY, size);
    }

    public void EnsurePoints(int n)
    {
        if (n <= PointX.Length) return;
        int size = Math.Max(n, PointX.Length * 2);
        Array.Resize(ref PointX, size); Array.Resize(ref PointY, size); Array.Resize(ref Sorted, size);
    }

    public void EnsureBins(int n)
    {
        if (n <= BinSum.Length) return;
        BinSum = new double[n]; BinCount = new int[n]; Esf = new double[n]; Lsf = new double[n];
    }
}

/// <summary>Finds the circular phantom on a CT slice: threshold, connected components by runs and union-find,
/// choice of the round component (a separate table is long and thin), robust algebraic circle fit (Kåsa) on
/// sub-pixel edge points. The fit is what places every ROI, so anything doubtful is reported, not guessed.</summary>
internal static class CtPhantomDetector
{
    public static PhantomFit? Detect(AnalysisImage image, CtDetectionOptions o, CtWorkspace ws, out string? problem)
    {
        problem = Precheck(image);
        if (problem is not null) return null;
        double sx = image.PixelSpacingX!.Value, sy = image.PixelSpacingY!.Value;
        int w = image.Width, h = image.Height;
        var px = image.Pixels;
        float thr = (float)o.ThresholdHu;

        // 1. Runs of object pixels per row, 4-connected to the runs of the row above (union-find on runs). The row is
        //    scanned a vector at a time: a vector all in air or all in the object needs no per-pixel work.
        int runs = 0, prevStart = 0, prevEnd = 0;
        bool anyFinite = false;
        int vw = Vector<float>.Count;
        var thrV = new Vector<float>(thr);
        var vmin = new Vector<float>(float.PositiveInfinity);
        var vmax = new Vector<float>(float.NegativeInfinity);
        var anyV = Vector<int>.Zero;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (int y = 0; y < h; y++)
        {
            var row = px.AsSpan(y * w, w);
            int curStart = runs;
            bool inRun = false;
            int start = 0, x = 0;
            for (; x + vw <= w; x += vw)
            {
                var v = new Vector<float>(row[x..]);
                var finiteMask = Vector.Equals(v, v); // NaN ≠ NaN
                anyV |= finiteMask;
                vmin = Vector.Min(vmin, Vector.ConditionalSelect(finiteMask, v, new Vector<float>(float.PositiveInfinity)));
                vmax = Vector.Max(vmax, Vector.ConditionalSelect(finiteMask, v, new Vector<float>(float.NegativeInfinity)));
                var above = Vector.GreaterThan(v, thrV);
                if (inRun ? Vector.EqualsAll(above, new Vector<int>(-1)) : above == Vector<int>.Zero) continue;
                for (int k = x; k < x + vw; k++)
                {
                    bool on = row[k] > thr;
                    if (on == inRun) continue;
                    if (on) { start = k; inRun = true; }
                    else { AddRun(ws, ref runs, start, k - 1, y); inRun = false; }
                }
            }
            for (; x < w; x++)
            {
                float v = row[x];
                if (!float.IsNaN(v)) { anyFinite = true; if (v < min) min = v; if (v > max) max = v; }
                bool on = v > thr;
                if (on == inRun) continue;
                if (on) { start = x; inRun = true; }
                else { AddRun(ws, ref runs, start, x - 1, y); inRun = false; }
            }
            if (inRun) AddRun(ws, ref runs, start, w - 1, y);
            // Merge with the previous row: overlapping column ranges touch (4-connectivity).
            int i = prevStart, j = curStart;
            while (i < prevEnd && j < runs)
            {
                if (ws.RunStart[i] <= ws.RunEnd[j] && ws.RunStart[j] <= ws.RunEnd[i]) Union(ws.Parent, i, j);
                if (ws.RunEnd[i] < ws.RunEnd[j]) i++; else j++;
            }
            prevStart = curStart; prevEnd = runs;
        }
        anyFinite |= anyV != Vector<int>.Zero;
        for (int k = 0; k < vw; k++) { if (vmin[k] < min) min = vmin[k]; if (vmax[k] > max) max = vmax[k]; }
        long finite = anyFinite ? 1 : 0;
        if (finite == 0) { problem = "empty image: every pixel is padding"; return null; }
        if (min == max) { problem = $"constant image: every pixel is {min:G6}"; return null; }
        if (runs == 0) { problem = $"no phantom: no pixel above {o.ThresholdHu:G4} HU"; return null; }

        // 2. Component statistics on the roots.
        for (int r = 0; r < runs; r++)
        {
            ws.Area[r] = 0; ws.MinX[r] = int.MaxValue; ws.MaxX[r] = int.MinValue; ws.MinY[r] = int.MaxValue; ws.MaxY[r] = int.MinValue;
        }
        for (int r = 0; r < runs; r++)
        {
            int root = Find(ws.Parent, r);
            ws.Area[root] += ws.RunEnd[r] - ws.RunStart[r] + 1;
            if (ws.RunStart[r] < ws.MinX[root]) ws.MinX[root] = ws.RunStart[r];
            if (ws.RunEnd[r] > ws.MaxX[root]) ws.MaxX[root] = ws.RunEnd[r];
            if (ws.RunRow[r] < ws.MinY[root]) ws.MinY[root] = ws.RunRow[r];
            if (ws.RunRow[r] > ws.MaxY[root]) ws.MaxY[root] = ws.RunRow[r];
        }
        // 3. The phantom: the largest roughly round component (bounding box near square and well filled); else the
        //    largest of all (a table touching the phantom makes it non-round; the robust fit copes with that).
        int best = -1, largest = -1;
        for (int r = 0; r < runs; r++)
        {
            if (ws.Parent[r] != r) continue;
            if (largest < 0 || ws.Area[r] > ws.Area[largest]) largest = r;
            double bw = (ws.MaxX[r] - ws.MinX[r] + 1) * sx, bh = (ws.MaxY[r] - ws.MinY[r] + 1) * sy;
            double aspect = bw / bh, fill = ws.Area[r] * sx * sy / (Math.PI / 4 * bw * bh);
            if (aspect is > 0.75 and < 1.33 && fill > 0.7 && (best < 0 || ws.Area[r] > ws.Area[best])) best = r;
        }
        if (best < 0) best = largest;
        if (ws.Area[best] < o.MinPhantomPixels) { problem = $"no phantom: the largest object has {ws.Area[best]} pixels"; return null; }

        // 4. Edge points: the outermost run ends of the component in each row (holes and inserts do not count),
        //    at the sub-pixel threshold crossing. Ends at the image border or at padding are not edges.
        int n = 0;
        int lastRow = -1, left = -1, right = -1;
        for (int r = 0; r <= runs; r++)
        {
            bool mine = r < runs && Find(ws.Parent, r) == best;
            if (r == runs || (mine && ws.RunRow[r] != lastRow))
            {
                if (lastRow >= 0) n = AddRowEdges(image, thr, lastRow, left, right, sx, sy, ws, n);
                if (r == runs) break;
                lastRow = ws.RunRow[r]; left = ws.RunStart[r];
            }
            if (mine) right = ws.RunEnd[r];
        }
        if (n < 20) { problem = $"no phantom: only {n} edge points"; return null; }

        // 5. Robust Kåsa fit in mm.
        var fit = RobustCircle(ws, n, out double rms, out int inliers);
        if (fit is not var (cxMm, cyMm, rMm) || !double.IsFinite(rMm) || rMm <= 0) { problem = "no phantom: circle fit failed"; return null; }
        var result = new PhantomFit(cxMm / sx, cyMm / sy, rMm, sx, sy, rms, inliers / (double)n, n);

        // 6. Cut off: the fitted circle, a little outside the edge, must lie in the image and in the reconstructed FOV.
        double marginPx = 2;
        for (int k = 0; k < 72; k++)
        {
            double a = k * (Math.PI / 36);
            double xx = result.CenterX + (rMm / sx + marginPx) * Math.Cos(a), yy = result.CenterY + (rMm / sy + marginPx) * Math.Sin(a);
            int ix = (int)Math.Round(xx), iy = (int)Math.Round(yy);
            if (ix < 0 || iy < 0 || ix >= w || iy >= h || float.IsNaN(px[iy * w + ix]))
            {
                problem = $"phantom cut off by the image border or field of view (fitted diameter {2 * rMm:F1} mm)";
                return null;
            }
        }
        if (result.InlierFraction < o.MinInlierFraction || rms > o.MaxCircleRmsMm)
        {
            problem = $"phantom not circular: edge fit RMS {rms:F2} mm with {result.InlierFraction:P0} of edge points kept";
            return null;
        }
        if (result.DiameterMm < o.MinDiameterMm)
        {
            problem = $"phantom too small: diameter {result.DiameterMm:F1} mm < {o.MinDiameterMm:G4} mm";
            return null;
        }
        return result;
    }

    private static void AddRun(CtWorkspace ws, ref int runs, int start, int end, int y)
    {
        ws.EnsureRuns(runs + 1);
        ws.RunStart[runs] = start; ws.RunEnd[runs] = end; ws.RunRow[runs] = y; ws.Parent[runs] = runs;
        runs++;
    }

    public static string? Precheck(AnalysisImage image)
    {
        if (!string.Equals(image.Modality, "CT", StringComparison.OrdinalIgnoreCase))
            return $"modality '{image.Modality}' is not CT";
        if (image.PixelSpacingX is not > 0 || image.PixelSpacingY is not > 0 || !double.IsFinite(image.PixelSpacingX.Value) || !double.IsFinite(image.PixelSpacingY.Value))
            return "no pixel spacing: ROIs cannot be sized in mm";
        if (image.Width <= 0 || image.Height <= 0 || image.Pixels is null || image.Pixels.Length != (long)image.Width * image.Height)
            return $"pixel array does not match the {image.Width}×{image.Height} matrix";
        return null;
    }

    private static int AddRowEdges(AnalysisImage image, float thr, int y, int left, int right, double sx, double sy, CtWorkspace ws, int n)
    {
        int w = image.Width;
        var row = image.Pixels.AsSpan(y * w, w);
        ws.EnsurePoints(n + 2);
        if (left > 0 && !float.IsNaN(row[left - 1]))
        {
            float v0 = row[left - 1], v1 = row[left];
            double t = (thr - v0) / (double)(v1 - v0);
            ws.PointX[n] = (left - 1 + t) * sx; ws.PointY[n] = y * sy; n++;
        }
        if (right < w - 1 && !float.IsNaN(row[right + 1]))
        {
            float v0 = row[right], v1 = row[right + 1];
            double t = (v0 - thr) / (double)(v0 - v1);
            ws.PointX[n] = (right + t) * sx; ws.PointY[n] = y * sy; n++;
        }
        return n;
    }

    /// <summary>Kåsa fit (least squares on x² + y² + Dx + Ey + F = 0), refitted on the points within
    /// max(0.5 mm, 4 × 1.4826 × MAD) of the circle until the set settles.</summary>
    private static (double X, double Y, double R)? RobustCircle(CtWorkspace ws, int n, out double rms, out int inliers)
    {
        double threshold = double.PositiveInfinity;
        (double X, double Y, double R)? c = null;
        rms = double.NaN; inliers = 0;
        for (int iter = 0; iter < 6; iter++)
        {
            c = Kasa(ws.PointX, ws.PointY, n, threshold, c);
            if (c is null) return null;
            var (cx, cy, r) = c.Value;
            int m = 0, kept = 0;
            double ss = 0;
            for (int i = 0; i < n; i++)
            {
                double dx = ws.PointX[i] - cx, dy = ws.PointY[i] - cy;
                double res = Math.Abs(Math.Sqrt(dx * dx + dy * dy) - r);
                ws.Sorted[m++] = res;
                if (res <= threshold) { kept++; ss += res * res; }
            }
            rms = kept > 0 ? Math.Sqrt(ss / kept) : double.NaN;
            inliers = kept;
            var span = ws.Sorted.AsSpan(0, m);
            span.Sort();
            double median = span[m / 2];
            for (int i = 0; i < m; i++) span[i] = Math.Abs(span[i] - median);
            span.Sort();
            double next = Math.Max(0.5, 4 * 1.4826 * span[m / 2] + median);
            if (Math.Abs(next - threshold) < 1e-3) break;
            threshold = next;
        }
        return c;
    }

    private static (double X, double Y, double R)? Kasa(double[] xs, double[] ys, int n, double threshold, (double X, double Y, double R)? previous)
    {
        // Centred on the mean of the points for conditioning.
        double mx = 0, my = 0; int count = 0;
        for (int i = 0; i < n; i++)
        {
            if (!Inside(xs[i], ys[i], threshold, previous)) continue;
            mx += xs[i]; my += ys[i]; count++;
        }
        if (count < 10) return null;
        mx /= count; my /= count;
        double suu = 0, suv = 0, svv = 0, su = 0, sv = 0, suz = 0, svz = 0, sz = 0;
        for (int i = 0; i < n; i++)
        {
            if (!Inside(xs[i], ys[i], threshold, previous)) continue;
            double u = xs[i] - mx, v = ys[i] - my, z = u * u + v * v;
            suu += u * u; suv += u * v; svv += v * v; su += u; sv += v; suz += u * z; svz += v * z; sz += z;
        }
        // Normal equations for [D E F]: [suu suv su; suv svv sv; su sv n] · [D E F]ᵀ = −[suz svz sz]ᵀ
        Span<double> a = [suu, suv, su, suv, svv, sv, su, sv, count];
        Span<double> b = [-suz, -svz, -sz];
        if (!Solve3(a, b)) return null;
        double cx = -b[0] / 2, cy = -b[1] / 2;
        double r2 = cx * cx + cy * cy - b[2];
        if (!(r2 > 0)) return null;
        return (cx + mx, cy + my, Math.Sqrt(r2));
    }

    private static bool Inside(double x, double y, double threshold, (double X, double Y, double R)? c)
    {
        if (c is not var (cx, cy, r) || double.IsPositiveInfinity(threshold)) return true;
        double dx = x - cx, dy = y - cy;
        return Math.Abs(Math.Sqrt(dx * dx + dy * dy) - r) <= threshold;
    }

    /// <summary>Gaussian elimination with partial pivoting on a 3×3 system (row-major a); the solution replaces b.</summary>
    private static bool Solve3(Span<double> a, Span<double> b)
    {
        for (int col = 0; col < 3; col++)
        {
            int piv = col;
            for (int r = col + 1; r < 3; r++) if (Math.Abs(a[r * 3 + col]) > Math.Abs(a[piv * 3 + col])) piv = r;
            if (Math.Abs(a[piv * 3 + col]) < 1e-300) return false;
            if (piv != col)
            {
                for (int k = 0; k < 3; k++) (a[col * 3 + k], a[piv * 3 + k]) = (a[piv * 3 + k], a[col * 3 + k]);
                (b[col], b[piv]) = (b[piv], b[col]);
            }
            for (int r = col + 1; r < 3; r++)
            {
                double f = a[r * 3 + col] / a[col * 3 + col];
                for (int k = col; k < 3; k++) a[r * 3 + k] -= f * a[col * 3 + k];
                b[r] -= f * b[col];
            }
        }
        for (int r = 2; r >= 0; r--)
        {
            double s = b[r];
            for (int k = r + 1; k < 3; k++) s -= a[r * 3 + k] * b[k];
            b[r] = s / a[r * 3 + r];
        }
        return true;
    }

    private static int Find(int[] parent, int i)
    {
        int root = i;
        while (parent[root] != root) root = parent[root];
        while (parent[i] != root) { int next = parent[i]; parent[i] = root; i = next; }
        return root;
    }

    private static void Union(int[] parent, int a, int b)
    {
        int ra = Find(parent, a), rb = Find(parent, b);
        if (ra == rb) return;
        if (ra < rb) parent[rb] = ra; else parent[ra] = rb;
    }
}
