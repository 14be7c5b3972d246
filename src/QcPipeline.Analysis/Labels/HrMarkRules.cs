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

    /// <summary>One check's outcome for a given name and exam item; replayed for every instance that has them.</summary>
    private sealed record Outcome(bool Ok, string Rule, FindingSeverity Severity, string Zh, string En, string? Value);

    internal static void Check(SeriesHeaders series, HrRegistry? registry, FindingSink sink)
    {
        // The name and exam item repeat across a series: judge each distinct combination once.
        var cache = new Dictionary<(string Text, string Modality, string BodyPart, string Codes), List<Outcome>>();
        foreach (var h in series.Instances)
        {
            var ds = h.Dataset;
            ds.TryGetString(Tag, out var text, out _);
            text ??= ds.GetString(Tag);
            if (string.IsNullOrWhiteSpace(text)) continue; // label.missing reports it
            var key = (text, ds.GetStringOrEmpty(DicomTags.Modality), ds.GetStringOrEmpty(DicomTags.BodyPartExamined), string.Join('|', ProcedureCodes(ds)));
            if (!cache.TryGetValue(key, out var outcomes)) cache[key] = outcomes = Judge(key.text, key.Item2, key.Item3, ProcedureCodes(ds), registry);
            string instance = FindingSink.InstanceName(h);
            foreach (var o in outcomes)
            {
                if (o.Ok) sink.Pass();
                else sink.Fail(o.Rule, o.Severity, o.Zh, o.En, Tag, o.Value, instance);
            }
        }
    }

    private static List<Outcome> Judge(string text, string modality, string bodyPart, string[] procedureCodes, HrRegistry? registry)
    {
        var outcomes = new List<Outcome>();
        if (TextQuality.Inspect(text) is { Recovered: { } recovered }) text = recovered;
        var parsed = HrMarkParser.Parse(text);
        var order = registry?.ScopeOrder ?? HrRegistry.DefaultScopeOrder;
        var known = new List<string>();
        foreach (var m in parsed.Marks)
        {
            bool isKnown = order.Contains(m.Mark, StringComparer.Ordinal);
            outcomes.Add(new(isKnown, "hr.unknown", FindingSeverity.Error,
                $"未知的互认标识（已知：{string.Join("、", order)}）", $"unknown mutual-recognition mark (known: {string.Join(", ", order)})", m.Text));
            if (!isKnown) continue;
            known.Add(m.Mark);
            outcomes.Add(new(!m.IsNonStandard, "hr.nonstandard", FindingSeverity.Warning,
                "互认标识书写不规范（全角或小写），应为半角大写", "mark recognised but not in the standard form (full-width or lower case); write it in ASCII upper case", m.Text));
            outcomes.Add(new(!m.BeforeName, "hr.misplaced", FindingSeverity.Warning,
                "互认标识应标注在医疗机构名称之后", "mark placed before the institution name; DB11 §5.2.2.1 puts it after the name", text));
        }
        if (registry is null) return outcomes;

        var institution = parsed.Name.Length > 0 ? registry.Find(parsed.Name) : null;
        if (institution is null)
        {
            foreach (var mark in known.Distinct())
            {
                outcomes.Add(new(false, "hr.not-held", FindingSeverity.Error,
                    $"医疗机构不在互认登记表中，却标注了 {mark}", $"institution is not in the HR registry but its name carries {mark}", text));
            }
            return outcomes;
        }

        var held = registry.HeldScopes(institution, modality, bodyPart, procedureCodes);
        foreach (var mark in known.Distinct())
        {
            outcomes.Add(new(held.Contains(mark, StringComparer.Ordinal), "hr.not-held", FindingSeverity.Error,
                $"该机构在此检查项目（{modality} {bodyPart}）未取得 {mark} 互认", $"institution does not hold {mark} for this exam item ({modality} {bodyPart})", text));
        }
        if (held.Count == 0) return outcomes;

        string largest = held[0];
        var heldMarked = known.Where(m => held.Contains(m, StringComparer.Ordinal)).ToArray();
        if (heldMarked.Length == 0)
        {
            outcomes.Add(new(false, "hr.missing", FindingSeverity.Error,
                $"该机构在此检查项目取得 {largest} 互认，但名称后未标注", $"institution holds {largest} for this exam item but the name carries no mark of it", text));
        }
        else
        {
            outcomes.Add(new(heldMarked.Contains(largest, StringComparer.Ordinal), "hr.smaller-scope", FindingSeverity.Error,
                $"应以最大互认范围 {largest} 标注", $"a smaller scope is marked; the largest scope held is {largest} and must be marked", text));
        }
        return outcomes;
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
