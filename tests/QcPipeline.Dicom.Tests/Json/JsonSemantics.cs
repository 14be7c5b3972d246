using System.Globalization;
using System.Text.Json;

namespace QcPipeline.Dicom.Tests.Json;

/// <summary>Compares two DICOM JSON models by meaning rather than text: numbers numerically (DS "1.0" equals 1),
/// an absent "Value" equals a single empty value, null equals "" and a PN object without components,
/// InlineBinary by decoded bytes.</summary>
internal static class JsonSemantics
{
    /// <summary>Tolerated differences, each a (tag, reason) that the caller has explained.</summary>
    public sealed class Tolerance
    {
        public Func<string, JsonElement, JsonElement, string?>? Attribute { get; init; }
    }

    public static List<string> Compare(JsonElement expected, JsonElement actual, Tolerance? tolerance = null)
    {
        var diffs = new List<string>();
        CompareDataset(expected, actual, "", diffs, tolerance ?? new Tolerance());
        return diffs;
    }

    private static void CompareDataset(JsonElement e, JsonElement a, string path, List<string> diffs, Tolerance tol)
    {
        var ek = e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        var ak = a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        foreach (var key in ek.Keys.Union(ak.Keys).Order(StringComparer.Ordinal))
        {
            string p = path + key;
            if (!ek.TryGetValue(key, out var ev)) { diffs.Add($"{p}: only in actual"); continue; }
            if (!ak.TryGetValue(key, out var av)) { diffs.Add($"{p}: only in expected"); continue; }
            if (tol.Attribute?.Invoke(key, ev, av) is not null) continue;
            CompareAttribute(ev, av, p, diffs, tol);
        }
    }

    private static void CompareAttribute(JsonElement e, JsonElement a, string p, List<string> diffs, Tolerance tol)
    {
        string evr = e.GetProperty("vr").GetString()!, avr = a.GetProperty("vr").GetString()!;
        if (evr != avr) { diffs.Add($"{p}: vr {evr} vs {avr}"); return; }
        if (e.TryGetProperty("InlineBinary", out var eb) | a.TryGetProperty("InlineBinary", out var ab))
        {
            var eBytes = eb.ValueKind == JsonValueKind.String ? eb.GetBytesFromBase64() : [];
            var aBytes = ab.ValueKind == JsonValueKind.String ? ab.GetBytesFromBase64() : [];
            if (!eBytes.AsSpan().SequenceEqual(aBytes)) diffs.Add($"{p}: InlineBinary differs ({eBytes.Length} vs {aBytes.Length} bytes)");
            return;
        }
        if (e.TryGetProperty("BulkDataURI", out var eu) | a.TryGetProperty("BulkDataURI", out var au))
        {
            if (eu.ValueKind != au.ValueKind || eu.ValueKind == JsonValueKind.String && eu.GetString() != au.GetString()) diffs.Add($"{p}: BulkDataURI differs");
            return;
        }
        var ev = Values(e, evr);
        var av = Values(a, avr);
        if (ev.Count != av.Count) { diffs.Add($"{p}: {ev.Count} values vs {av.Count}: {Show(e)} vs {Show(a)}"); return; }
        for (int i = 0; i < ev.Count; i++)
        {
            string pi = $"{p}[{i}]";
            if (evr == "SQ") { CompareDataset(ev[i], av[i], pi + ".", diffs, tol); continue; }
            if (!ValueEquals(ev[i], av[i], evr)) diffs.Add($"{pi}: {ev[i].GetRawText()} vs {av[i].GetRawText()}");
        }
    }

    private static string Show(JsonElement e) => e.TryGetProperty("Value", out var v) ? v.GetRawText() : "(none)";

    private static List<JsonElement> Values(JsonElement attr, string vr)
    {
        if (!attr.TryGetProperty("Value", out var v)) return [];
        var list = v.EnumerateArray().ToList();
        if (vr != "SQ" && list.Count == 1 && IsEmpty(list[0])) return []; // one empty value = no value (F.2.5)
        return list;
    }

    private static bool IsEmpty(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null => true,
        JsonValueKind.String => v.GetString()!.Length == 0,
        JsonValueKind.Object => v.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.Null || p.Value.ValueKind == JsonValueKind.String && p.Value.GetString()!.Length == 0),
        _ => false,
    };

    private static bool ValueEquals(JsonElement e, JsonElement a, string vr)
    {
        if (IsEmpty(e) || IsEmpty(a)) return IsEmpty(e) && IsEmpty(a);
        if (vr == "PN")
        {
            foreach (var group in new[] { "Alphabetic", "Ideographic", "Phonetic" })
            {
                string eg = e.ValueKind == JsonValueKind.Object && e.TryGetProperty(group, out var x) ? x.GetString() ?? "" : "";
                string ag = a.ValueKind == JsonValueKind.Object && a.TryGetProperty(group, out var y) ? y.GetString() ?? "" : "";
                if (eg != ag) return false;
            }
            return true;
        }
        if (TryNumber(e, out double en) && TryNumber(a, out double an) && vr is "DS" or "IS" or "FL" or "FD" or "SL" or "SS" or "UL" or "US" or "SV" or "UV")
        {
            if (en == an) return true;
            double rel = vr == "FL" ? 1e-6 : 1e-14;
            return Math.Abs(en - an) <= rel * Math.Max(Math.Abs(en), Math.Abs(an));
        }
        if (e.ValueKind == JsonValueKind.String && a.ValueKind == JsonValueKind.String) return e.GetString() == a.GetString();
        return e.GetRawText() == a.GetRawText();
    }

    private static bool TryNumber(JsonElement v, out double d)
    {
        d = 0;
        return v.ValueKind switch
        {
            JsonValueKind.Number => v.TryGetDouble(out d),
            JsonValueKind.String => double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d),
            _ => false,
        };
    }
}
