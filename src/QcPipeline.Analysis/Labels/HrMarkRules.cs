using QcPipeline.Dicom;

namespace QcPipeline.Analysis.Labels;

/// <summary>Mutual-recognition marks in Institution Name (DB11 §5.2.2, STANDARDS.md §6).</summary>
/// <remarks>
/// Without a registry only what the name itself shows is checked (unknown, non-standard or misplaced marks).
/// With one: the institution's held scopes for this exam item decide whether a mark is missing (hr.missing), smaller
/// than the largest held (hr.smaller-scope) or not held at all (hr.not-held, also for an institution the registry
/// does not list). A name that decodes but looks like GB18030 read as Latin-1 is matched by its GB18030 reading, so
/// a mislabelled character set (already reported as label.mojibake) does not also hide the mark check.
/// </remarks>
public static class HrMarkRules
{
    private static readonly DicomTag Tag = DicomTags.InstitutionName;

    internal static void Check(SeriesHeaders series, HrRegistry? registry, FindingSink sink)
    {
        foreach (var h in series.Instances) CheckInstance(h, registry, sink);
    }

    private static void CheckInstance(InstanceHeader h, HrRegistry? registry, FindingSink sink)
    {
        var ds = h.Dataset;
        ds.TryGetString(Tag, out var text, out _);
        text ??= ds.GetString(Tag);
        if (string.IsNullOrWhiteSpace(text)) return; // label.missing reports it
        if (TextQuality.Inspect(text) is { Recovered: { } recovered }) text = recovered;

        string instance = FindingSink.InstanceName(h);
        var parsed = HrMarkParser.Parse(text);
        var order = registry?.ScopeOrder ?? HrRegistry.DefaultScopeOrder;
        var known = new List<string>();
        foreach (var m in parsed.Marks)
        {
            bool isKnown = order.Contains(m.Mark, StringComparer.Ordinal);
            sink.Check(isKnown, "hr.unknown", FindingSeverity.Error,
                $"未知的互认标识（已知：{string.Join("、", order)}）", $"unknown mutual-recognition mark (known: {string.Join(", ", order)})",
                Tag, m.Text, instance);
            if (!isKnown) continue;
            known.Add(m.Mark);
            sink.Check(!m.IsNonStandard, "hr.nonstandard", FindingSeverity.Warning,
                "互认标识书写不规范（全角或小写），应为半角大写", "mark recognised but not in the standard form (full-width or lower case); write it in ASCII upper case",
                Tag, m.Text, instance);
            sink.Check(!m.BeforeName, "hr.misplaced", FindingSeverity.Warning,
                "互认标识应标注在医疗机构名称之后", "mark placed before the institution name; DB11 §5.2.2.1 puts it after the name",
                Tag, text, instance);
        }
        if (registry is null) return;

        var institution = parsed.Name.Length > 0 ? registry.Find(parsed.Name) : null;
        if (institution is null)
        {
            foreach (var mark in known.Distinct())
            {
                sink.Fail("hr.not-held", FindingSeverity.Error,
                    $"医疗机构不在互认登记表中，却标注了 {mark}", $"institution is not in the HR registry but its name carries {mark}",
                    Tag, text, instance);
            }
            return;
        }

        string modality = ds.GetStringOrEmpty(DicomTags.Modality);
        string? bodyPart = ds.GetString(DicomTags.BodyPartExamined);
        var held = registry.HeldScopes(institution, modality, bodyPart, ProcedureCodes(ds));
        foreach (var mark in known.Distinct())
        {
            sink.Check(held.Contains(mark, StringComparer.Ordinal), "hr.not-held", FindingSeverity.Error,
                $"该机构在此检查项目（{modality} {bodyPart}）未取得 {mark} 互认", $"institution does not hold {mark} for this exam item ({modality} {bodyPart})",
                Tag, text, instance);
        }
        if (held.Count == 0) return;

        string largest = held[0];
        var heldMarked = known.Where(m => held.Contains(m, StringComparer.Ordinal)).ToArray();
        if (heldMarked.Length == 0)
        {
            sink.Fail("hr.missing", FindingSeverity.Error,
                $"该机构在此检查项目取得 {largest} 互认，但名称后未标注", $"institution holds {largest} for this exam item but the name carries no mark of it",
                Tag, text, instance);
        }
        else
        {
            sink.Check(heldMarked.Contains(largest, StringComparer.Ordinal), "hr.smaller-scope", FindingSeverity.Error,
                $"应以最大互认范围 {largest} 标注", $"a smaller scope is marked; the largest scope held is {largest} and must be marked",
                Tag, text, instance);
        }
    }

    private static string[] ProcedureCodes(DicomDataset ds)
    {
        var codes = new List<string>();
        foreach (var sqTag in new[] { DicomTags.ProcedureCodeSequence, DicomTags.RequestedProcedureCodeSequence })
        {
            if (ds.GetSequence(sqTag) is not { } sq) continue;
            foreach (var item in sq.Items) if (item.GetString(DicomTags.CodeValue) is { Length: > 0 } code) codes.Add(code);
        }
        return [.. codes];
    }
}
