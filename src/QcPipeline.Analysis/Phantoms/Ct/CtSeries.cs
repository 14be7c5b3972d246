namespace QcPipeline.Analysis.Phantoms.Ct;

/// <summary>Slice order and the series image rules of STANDARDS.md §1 ("images in anatomical order with no
/// missing or misplaced slices"; "matrix ≥ 512×512").</summary>
internal static class CtSeries
{
    /// <summary>Indices of <paramref name="slices"/> in anatomical order: by slice position when every slice has one,
    /// else by instance number, else as given. Order and spacing problems become warnings.</summary>
    public static int[] Order(IReadOnlyList<AnalysisImage> slices, double spacingTolerance, List<string> warnings)
    {
        int n = slices.Count;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        bool allPositions = true, allNumbers = true;
        for (int i = 0; i < n; i++)
        {
            allPositions &= slices[i].SlicePosition is { } p && double.IsFinite(p);
            allNumbers &= slices[i].InstanceNumber is not null;
        }
        if (n < 2) return order;
        if (allPositions)
        {
            var keys = new double[n];
            for (int i = 0; i < n; i++) keys[i] = slices[i].SlicePosition!.Value;
            // Ascending or descending both count as "in order"; sort in the direction the series mostly runs.
            bool descending = keys[n - 1] < keys[0];
            Array.Sort(order, (a, b) => { int c = descending ? keys[b].CompareTo(keys[a]) : keys[a].CompareTo(keys[b]); return c != 0 ? c : a.CompareTo(b); });
            if (!IsIdentity(order)) warnings.Add("slices not in anatomical order: analysed in slice-position order");
            CheckSpacing(order, keys, spacingTolerance, warnings);
        }
        else if (allNumbers)
        {
            var keys = new int[n];
            for (int i = 0; i < n; i++) keys[i] = slices[i].InstanceNumber!.Value;
            Array.Sort(order, (a, b) => { int c = keys[a].CompareTo(keys[b]); return c != 0 ? c : a.CompareTo(b); });
            if (!IsIdentity(order)) warnings.Add("slices not in instance-number order: analysed in instance-number order");
            warnings.Add("no slice positions: missing slices cannot be detected");
        }
        else
        {
            warnings.Add("no slice positions or instance numbers: slices analysed in the order given");
        }
        return order;
    }

    /// <summary>The <paramref name="count"/> middle entries of <paramref name="order"/> (all when fewer).</summary>
    public static ReadOnlySpan<int> Central(int[] order, int count)
    {
        int k = Math.Clamp(count, 1, order.Length);
        return order.AsSpan((order.Length - k) / 2, k);
    }

    public static void CheckMatrix(IReadOnlyList<AnalysisImage> slices, int minMatrix, List<string> warnings)
    {
        for (int i = 0; i < slices.Count; i++)
        {
            var s = slices[i];
            if (s.Width < minMatrix || s.Height < minMatrix)
            {
                warnings.Add($"matrix {s.Width}×{s.Height} (frame {i}) is below {minMatrix}×{minMatrix} (STANDARDS.md §1 image rules)");
                return;
            }
        }
    }

    private static bool IsIdentity(int[] order)
    {
        for (int i = 0; i < order.Length; i++) if (order[i] != i) return false;
        return true;
    }

    private static void CheckSpacing(int[] order, double[] keys, double tolerance, List<string> warnings)
    {
        int n = order.Length;
        var gaps = new double[n - 1];
        for (int i = 0; i + 1 < n; i++) gaps[i] = Math.Abs(keys[order[i + 1]] - keys[order[i]]);
        var sorted = (double[])gaps.Clone();
        Array.Sort(sorted);
        double median = sorted[(n - 1) / 2];
        for (int i = 0; i < gaps.Length; i++)
        {
            if (gaps[i] < 1e-6)
            {
                warnings.Add($"duplicate slice position {keys[order[i]]:F2} mm (frames {order[i]} and {order[i + 1]})");
                return;
            }
        }
        for (int i = 0; i < gaps.Length; i++)
        {
            if (Math.Abs(gaps[i] - median) > tolerance * median)
            {
                warnings.Add($"slice spacing irregular: {gaps[i]:F2} mm between frames {order[i]} and {order[i + 1]}, expected {median:F2} mm (missing or misplaced slice?)");
                return;
            }
        }
    }
}
