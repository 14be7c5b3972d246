using QcPipeline.Dicom;

namespace QcPipeline.Analysis.Labels;

/// <summary>Required labels (DB11 §5.2.1, STANDARDS.md §5): present and non-empty, decodable in the declared
/// Specific Character Set, not mojibake, and the same on every instance of the series.</summary>
public static class LabelRules
{
    /// <summary>Labels that identify the patient, study and hospital: they must not change inside a series.</summary>
    public static IReadOnlyList<DicomTag> SeriesConstantLabels { get; } =
    [
        DicomTags.PatientID, DicomTags.PatientName, DicomTags.PatientBirthDate, DicomTags.PatientSex,
        DicomTags.StudyInstanceUID, DicomTags.InstitutionName,
    ];

    internal static void Check(SeriesHeaders series, FindingSink sink)
    {
        var cache = new TextCache();
        foreach (var h in series.Instances) CheckInstance(h, sink, cache);
        CheckConsistency(series, sink);
    }

    private static void CheckInstance(InstanceHeader h, FindingSink sink, TextCache cache)
    {
        var ds = h.Dataset;
        string instance = FindingSink.InstanceName(h);
        string modality = ds.GetStringOrEmpty(DicomTags.Modality);
        var requirements = LabelRequirements.For(modality);
        foreach (var req in requirements) CheckRequirement(ds, req, instance, sink, cache);
        if (LabelRequirements.IsProjection(modality) && ds.GetString(DicomTags.BodyPartExamined) is { Length: > 0 } part
            && LabelRequirements.PairedBodyParts.Contains(part))
            CheckRequirement(ds, LabelRequirements.Laterality, instance, sink, cache);
    }

    private static void CheckRequirement(DicomDataset ds, LabelRequirement req, string instance, FindingSink sink, TextCache cache)
    {
        bool satisfied = false;
        DicomTag? firstGap = null;
        bool firstGapEmpty = false;
        foreach (var alternative in req.Alternatives)
        {
            bool complete = true;
            foreach (var tag in alternative)
            {
                var e = FindElement(ds, tag, out _);
                if (e is not null && e.Length > 0 && !IsBlank(e)) continue;
                complete = false;
                if (firstGap is null) { firstGap = tag; firstGapEmpty = e is not null; }
            }
            if (complete) { satisfied = true; break; }
        }
        if (satisfied) sink.Pass();
        else
        {
            string what = firstGapEmpty ? "empty" : "absent";
            string whatZh = firstGapEmpty ? "为空" : "缺失";
            string alternatives = req.Alternatives.Count > 1
                ? " (" + string.Join(" or ", req.Alternatives.Select(a => string.Join(" + ", a.Select(t => FindingSink.KeywordOf(t) ?? t.ToString())))) + ")"
                : "";
            sink.Fail("label.missing", FindingSeverity.Error, $"基本标识“{req.NameZh}”{whatZh}", $"required label '{req.NameEn}' is {what}{alternatives}",
                firstGap, null, instance);
        }

        // Every present text value of the label must decode in its declared set and read as what it is.
        foreach (var tag in req.AllTags)
        {
            var e = FindElement(ds, tag, out var holder);
            if (e is null || e.Length == 0 || !e.VR.IsAffectedBySpecificCharacterSet()) continue;
            CheckText(holder!, tag, e, instance, sink, cache);
        }
    }

    /// <summary>Strict decoding, then the mojibake heuristics (<see cref="TextQuality"/>). One check.</summary>
    internal static void CheckText(DicomDataset holder, DicomTag tag, DicomElement e, string instance, FindingSink sink, TextCache? cache = null)
    {
        var outcome = cache is null ? Judge(holder, tag) : cache.Get(holder, tag, e);
        if (outcome.Problem is { } problem)
        {
            sink.Fail("label.undecodable", FindingSeverity.Error,
                $"无法按声明的字符集 {outcome.CharacterSet} 解码：{problem}",
                $"value cannot be decoded in the declared character set {outcome.CharacterSet}: {problem}",
                tag, outcome.Value, instance);
        }
        else if (outcome.Sign is { } sign)
        {
            sink.Fail("label.mojibake", FindingSeverity.Warning,
                $"值可按 {outcome.CharacterSet} 解码但{sign.ReasonZh}",
                $"value decodes in {outcome.CharacterSet} but {sign.ReasonEn}", tag, outcome.Value, instance);
        }
        else sink.Pass();
    }

    internal sealed record TextOutcome(string? Value, string? Problem, MojibakeSign? Sign, string CharacterSet);

    private static TextOutcome Judge(DicomDataset holder, DicomTag tag)
    {
        string cs = holder.CharacterSet.ToString();
        if (!holder.TryGetString(tag, out var value, out var problem))
            return new(value ?? holder.GetString(tag), problem ?? "not decodable", null, cs);
        return new(value, null, value is null ? null : TextQuality.Inspect(value), cs);
    }

    /// <summary>The labels of a series repeat on every instance: each distinct (character set, tag, bytes) is decoded
    /// and judged once.</summary>
    internal sealed class TextCache
    {
        private readonly Dictionary<(string Cs, uint Tag, string Raw), TextOutcome> _outcomes = [];
        private DicomDataset? _lastHolder;
        private string _lastKey = "";

        public TextOutcome Get(DicomDataset holder, DicomTag tag, DicomElement e)
        {
            if (!ReferenceEquals(holder, _lastHolder))
            {
                _lastHolder = holder;
                _lastKey = string.Join('\\', holder.CharacterSet.Terms) + "|" + holder.CharacterSetProblem;
            }
            var key = (_lastKey, tag.Value, System.Text.Encoding.Latin1.GetString(e.Data.Span));
            if (!_outcomes.TryGetValue(key, out var outcome)) _outcomes[key] = outcome = Judge(holder, tag);
            return outcome;
        }
    }

    private static void CheckConsistency(SeriesHeaders series, FindingSink sink)
    {
        if (series.Instances.Count < 2) return;
        foreach (var tag in SeriesConstantLabels)
        {
            var values = new List<string>(2);
            foreach (var h in series.Instances)
            {
                if (h.Dataset.GetString(tag) is not { } v) continue;
                if (!values.Contains(v, StringComparer.Ordinal)) values.Add(v);
            }
            sink.Check(values.Count <= 1, "label.inconsistent", FindingSeverity.Error,
                $"同一序列内该标识不一致（{values.Count} 个不同值）", $"label differs within the series ({values.Count} distinct values)",
                tag, string.Join(" | ", values));
        }
    }

    private static bool IsBlank(DicomElement e)
    {
        foreach (byte b in e.Data.Span) if (b is not ((byte)' ' or 0)) return false;
        return true;
    }

    /// <summary>The element at the top level, else in the shared functional groups, else in the first frame's
    /// (enhanced multi-frame objects keep orientation, thickness, TR/TE there: PS3.3 C.7.6.16).</summary>
    private static readonly DicomTag[] FunctionalGroups = [DicomTags.SharedFunctionalGroupsSequence, DicomTags.PerFrameFunctionalGroupsSequence];

    internal static DicomElement? FindElement(DicomDataset ds, DicomTag tag, out DicomDataset? holder)
    {
        holder = ds;
        if (ds.GetElement(tag) is { } top) return top;
        foreach (var groups in FunctionalGroups)
        {
            if (ds.GetSequence(groups) is not { Items.Count: > 0 } sq) continue;
            foreach (var item in sq.Items[0])
            {
                if (item is not DicomSequence macro) continue;
                foreach (var m in macro.Items)
                {
                    if (m.GetElement(tag) is { } found) { holder = m; return found; }
                }
            }
        }
        holder = null;
        return null;
    }
}
