using System.Globalization;
using QcPipeline.Analysis.Labels;
using QcPipeline.Dicom;

namespace QcPipeline.Analysis.SeriesIntegrity;

/// <summary>Tolerances of the series integrity checks.</summary>
/// <param name="SpacingToleranceMm">A gap between neighbouring slices may differ from the median gap by this much ...</param>
/// <param name="SpacingToleranceFraction">... or by this fraction of the median gap, whichever is larger (*default* 0.1 mm / 10 %).</param>
/// <param name="DuplicatePositionMm">Two slices closer than this along the normal are at the same position.</param>
/// <param name="MinimumCtMatrix">CT images smaller than this in rows or columns are reported (seed 003 part 2 §三: ≥ 512×512).</param>
public sealed record SeriesIntegrityOptions(
    double SpacingToleranceMm = 0.1,
    double SpacingToleranceFraction = 0.10,
    double DuplicatePositionMm = 0.001,
    int MinimumCtMatrix = 512)
{
    public static SeriesIntegrityOptions Default { get; } = new();
}

/// <summary>Is the series whole and in order (seed 003 part 2 §三: anatomical order, no missing or misplaced slices;
/// matrix ≥ 512×512) and stored without loss.</summary>
public static class SeriesIntegrityRules
{
    /// <summary>Series-level attributes that must be the same on every instance (the patient/study labels are
    /// checked by <see cref="LabelRules"/> as label.inconsistent).</summary>
    public static IReadOnlyList<DicomTag> SeriesConstantAttributes { get; } =
    [
        DicomTags.Modality, DicomTags.SeriesNumber, DicomTags.StudyID, DicomTags.AccessionNumber, DicomTags.StudyDate,
        DicomTags.FrameOfReferenceUID,
    ];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    internal static void Check(SeriesHeaders series, SeriesIntegrityOptions options, FindingSink sink)
    {
        var list = series.Instances;
        CheckInstanceNumbers(list, sink);
        var orientations = new double[list.Count][];
        for (int i = 0; i < list.Count; i++) orientations[i] = Doubles(list[i].Dataset, DicomTags.ImageOrientationPatient);
        CheckPositions(series, orientations, options, sink);
        CheckOrientation(orientations, sink);
        foreach (var h in list)
        {
            var ds = h.Dataset;
            string instance = FindingSink.InstanceName(h);
            if (string.Equals(ds.GetString(DicomTags.Modality), "CT", StringComparison.OrdinalIgnoreCase)
                && ds.TryGetInt32(DicomTags.Rows, out int rows) && ds.TryGetInt32(DicomTags.Columns, out int cols))
            {
                if (rows >= options.MinimumCtMatrix && cols >= options.MinimumCtMatrix) sink.Pass();
                else sink.Fail("series.ct-matrix", FindingSeverity.Error,
                    $"CT 图像矩阵小于 {options.MinimumCtMatrix}×{options.MinimumCtMatrix}", $"CT matrix is below {options.MinimumCtMatrix}×{options.MinimumCtMatrix}",
                    DicomTags.Rows, $"{rows}×{cols}", instance);
            }
            string? lossyFlag = ds.GetString(DicomTags.LossyImageCompression);
            if (h.TransferSyntax.IsLossy)
                sink.Fail("series.lossy", FindingSeverity.Warning, "图像以有损压缩传输语法存储", "image is stored in a lossy transfer syntax",
                    null, h.TransferSyntax.Uid, instance);
            else if (lossyFlag == "01")
                sink.Fail("series.lossy", FindingSeverity.Warning, "图像曾经有损压缩（Lossy Image Compression = 01）", "image has undergone lossy compression (Lossy Image Compression = 01)",
                    DicomTags.LossyImageCompression, lossyFlag, instance);
            else sink.Pass();
        }
        CheckConstant(list, sink);
    }

    private static void CheckInstanceNumbers(IReadOnlyList<InstanceHeader> list, FindingSink sink)
    {
        var numbers = new List<int>(list.Count);
        foreach (var h in list)
        {
            bool has = h.Dataset.TryGetInt32(DicomTags.InstanceNumber, out int n);
            sink.Check(has, "series.instance-number-missing", FindingSeverity.Error, "缺少图像序号（Instance Number）", "instance number is absent or not a number",
                DicomTags.InstanceNumber, null, FindingSink.InstanceName(h));
            if (has) numbers.Add(n);
        }
        if (numbers.Count < 2) return;
        numbers.Sort();
        var duplicates = new List<int>();
        var gaps = new List<int>();
        for (int i = 1; i < numbers.Count; i++)
        {
            if (numbers[i] == numbers[i - 1]) { if (!duplicates.Contains(numbers[i])) duplicates.Add(numbers[i]); }
            else for (long k = (long)numbers[i - 1] + 1; k < numbers[i] && gaps.Count <= 20; k++) gaps.Add((int)k);
        }
        sink.Check(duplicates.Count == 0, "series.instance-number-duplicate", FindingSeverity.Error, "图像序号重复", "instance numbers are duplicated",
            DicomTags.InstanceNumber, List(duplicates));
        sink.Check(gaps.Count == 0, "series.instance-number-gap", FindingSeverity.Error, "图像序号不连续（疑似缺失图像）", "instance numbers have gaps (missing images?)",
            DicomTags.InstanceNumber, "missing " + List(gaps));
    }

    private static string List(List<int> values) =>
        string.Join(", ", values.Take(20).Select(v => v.ToString(Inv))) + (values.Count > 20 ? ", ..." : "");

    private static void CheckPositions(SeriesHeaders series, double[][] orientations, SeriesIntegrityOptions options, FindingSink sink)
    {
        var list = series.Instances;
        bool crossSectional = list.Any(h => h.Dataset.GetString(DicomTags.Modality) is "CT" or "MR" || h.Dataset.Contains(DicomTags.ImagePositionPatient));
        if (!crossSectional) return;
        var slices = new List<(int? Number, double Position, string Instance)>(list.Count);
        for (int idx = 0; idx < list.Count; idx++)
        {
            var h = list[idx];
            var pos = SlicePosition(h.Dataset, orientations[idx]);
            if (pos is null && !h.Dataset.Contains(DicomTags.ImagePositionPatient) && LabelRules.FindElement(h.Dataset, DicomTags.ImagePositionPatient, out _) is not null) continue; // enhanced multi-frame: positions per frame
            sink.Check(pos is not null, "series.position-missing", FindingSeverity.Warning,
                "缺少层面位置（Image Position/Orientation (Patient)）", "slice position is missing (Image Position/Orientation (Patient))",
                DicomTags.ImagePositionPatient, null, FindingSink.InstanceName(h));
            if (pos is { } p) slices.Add((h.Dataset.TryGetInt32(DicomTags.InstanceNumber, out int n) ? n : null, p, FindingSink.InstanceName(h)));
        }
        if (slices.Count < 2) return;

        // Duplicates and spacing: by position.
        var byPosition = slices.Select(s => s.Position).Order().ToArray();
        var duplicates = new List<string>();
        var gaps = new List<double>(byPosition.Length - 1);
        for (int i = 1; i < byPosition.Length; i++)
        {
            double d = byPosition[i] - byPosition[i - 1];
            if (d < options.DuplicatePositionMm) { if (duplicates.Count < 10) duplicates.Add(Mm(byPosition[i])); }
            else gaps.Add(d);
        }
        sink.Check(duplicates.Count == 0, "series.duplicate-position", FindingSeverity.Error, "多幅图像位于同一层面位置", "several images share one slice position",
            DicomTags.ImagePositionPatient, string.Join(", ", duplicates.Distinct()));
        if (gaps.Count >= 2)
        {
            var sorted = gaps.Order().ToArray();
            double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
            double tolerance = Math.Max(options.SpacingToleranceMm, options.SpacingToleranceFraction * median);
            var uneven = new List<string>();
            double previous = byPosition[0];
            for (int i = 1; i < byPosition.Length; i++)
            {
                double d = byPosition[i] - previous;
                if (d < options.DuplicatePositionMm) continue;
                if (Math.Abs(d - median) > tolerance && uneven.Count < 10) uneven.Add($"{Mm(d)} mm between {Mm(previous)} and {Mm(byPosition[i])}");
                previous = byPosition[i];
            }
            sink.Check(uneven.Count == 0, "series.uneven-spacing", FindingSeverity.Error,
                $"层间距不均匀（中位数 {Mm(median)} mm，容差 {Mm(tolerance)} mm），疑似缺失层面", $"uneven slice spacing (median {Mm(median)} mm, tolerance {Mm(tolerance)} mm): missing slices?",
                DicomTags.ImagePositionPatient, string.Join("; ", uneven));
        }

        // Order: positions must run one way when the images are taken in instance-number order.
        var numbered = slices.Where(s => s.Number is not null).OrderBy(s => s.Number).ToArray();
        if (numbered.Length >= 3)
        {
            double overall = numbered[^1].Position - numbered[0].Position;
            var breaks = new List<string>();
            for (int i = 1; i < numbered.Length; i++)
            {
                double d = numbered[i].Position - numbered[i - 1].Position;
                if (Math.Abs(d) < options.DuplicatePositionMm) continue;
                if (Math.Sign(d) != Math.Sign(overall) && breaks.Count < 10)
                    breaks.Add($"#{numbered[i - 1].Number}→#{numbered[i].Number}: {Mm(numbered[i - 1].Position)}→{Mm(numbered[i].Position)} mm");
            }
            sink.Check(breaks.Count == 0, "series.position-order", FindingSeverity.Error, "图像未按解剖顺序排列（层面位置与图像序号顺序不符）",
                "slices are out of anatomical order (position does not follow instance number)", DicomTags.ImagePositionPatient, string.Join("; ", breaks));
        }
    }

    /// <summary>All values of a numeric element, parsing DS/IS text once (DicomDataset.GetDoubles re-splits per value).</summary>
    private static double[] Doubles(DicomDataset ds, DicomTag tag)
    {
        if (ds.GetElement(tag) is not { } e) return [];
        if (e.VR is not (DicomVR.DS or DicomVR.IS)) return ds.GetDoubles(tag);
        var parts = ds.GetStrings(tag);
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++) if (!DicomValues.TryParseDS(parts[i], out values[i])) return [];
        return values;
    }

    /// <summary>Image Position (Patient) projected on the normal of Image Orientation (Patient) (PS3.3 C.7.6.2.1.1);
    /// without them, <see cref="AnalysisImage.SlicePositionOf"/> (which falls back to Slice Location).</summary>
    private static double? SlicePosition(DicomDataset ds, double[] iop)
    {
        var ipp = Doubles(ds, DicomTags.ImagePositionPatient);
        if (ipp.Length != 3 || iop.Length != 6) return AnalysisImage.SlicePositionOf(ds);
        double nx = iop[1] * iop[5] - iop[2] * iop[4];
        double ny = iop[2] * iop[3] - iop[0] * iop[5];
        double nz = iop[0] * iop[4] - iop[1] * iop[3];
        return ipp[0] * nx + ipp[1] * ny + ipp[2] * nz;
    }

    private static string Mm(double v) => v.ToString("0.###", Inv);

    private static void CheckOrientation(double[][] orientations, FindingSink sink)
    {
        var distinct = new List<double[]>();
        foreach (var iop in orientations)
        {
            if (iop.Length != 6) continue;
            if (!distinct.Any(d => Same(d, iop))) distinct.Add(iop);
        }
        if (distinct.Count == 0) return;
        sink.Check(distinct.Count == 1, "series.mixed-orientation", FindingSeverity.Error, "同一序列内图像方位不一致", "images of the series have different orientations",
            DicomTags.ImageOrientationPatient, string.Join(" | ", distinct.Select(d => string.Join('\\', d.Select(v => v.ToString("0.####", Inv))))));
    }

    private static bool Same(double[] a, double[] b)
    {
        for (int i = 0; i < 6; i++) if (Math.Abs(a[i] - b[i]) > 1e-3) return false;
        return true;
    }

    private static void CheckConstant(IReadOnlyList<InstanceHeader> list, FindingSink sink)
    {
        if (list.Count < 2) return;
        foreach (var tag in SeriesConstantAttributes)
        {
            var values = new List<string>(2);
            foreach (var h in list)
            {
                if (h.Dataset.GetString(tag) is not { } v) continue;
                if (!values.Contains(v, StringComparer.Ordinal)) values.Add(v);
            }
            sink.Check(values.Count <= 1, "series.inconsistent", tag == DicomTags.Modality ? FindingSeverity.Error : FindingSeverity.Warning,
                $"同一序列内属性不一致（{values.Count} 个不同值）", $"attribute differs within the series ({values.Count} distinct values)", tag, string.Join(" | ", values));
        }
    }
}
