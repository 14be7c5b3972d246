using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using QcPipeline.Analysis;
using QcPipeline.Analysis.Phantoms;

namespace QcPipeline.Cli.Analyze;

/// <summary>One analysed set as <c>qc analyze</c> reports it. <see cref="SeriesInstanceUid"/> is the series of the set
/// (several joined with a backslash when a profile takes all files as one set).</summary>
public sealed record AnalyzedSet(string SeriesInstanceUid, RoutedSet Set, AnalysisResult Result);

/// <summary>The printed forms of the results: a table per set, or a JSON array. Neither carries patient data: the
/// series and SOP Instance UIDs identify what was measured.</summary>
public static class AnalysisReport
{
    public static string VerdictText(Verdict verdict) => verdict switch
    {
        Verdict.Pass => "pass",
        Verdict.Fail => "fail",
        _ => "inconclusive",
    };

    public static string FormatValue(double? value) =>
        value is { } v && double.IsFinite(v) ? v.ToString("G6", CultureInfo.InvariantCulture) : "-";

    public static void PrintTable(TextWriter output, IReadOnlyList<AnalyzedSet> sets)
    {
        for (int s = 0; s < sets.Count; s++)
        {
            var (series, set, r) = sets[s];
            if (s > 0) output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# {r.Profile}  {VerdictText(r.Verdict).ToUpperInvariant()}  series {(series.Length == 0 ? "(no Series Instance UID)" : series)}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {set.Images.Count} image(s); limits {r.LimitSet.Id} v{r.LimitSet.Version} ({r.LimitSet.Kind.ToString().ToLowerInvariant()}); algorithm {r.AlgorithmVersion}"));
            var sops = set.Images.Select(i => i.SopInstanceUid).OfType<string>().Distinct().ToList();
            if (sops.Count is > 0 and <= 4) output.WriteLine($"  SOP Instance UID(s): {string.Join(", ", sops)}");
            if (r.Metrics.Count > 0)
            {
                string[] header = ["METRIC", "VALUE", "UNIT", "LIMIT", "VERDICT", "NOTE"];
                var rows = r.Metrics.Select(m => new[]
                {
                    m.Name, FormatValue(m.Value), m.Unit.Length == 0 ? "-" : m.Unit, m.Limit?.ToString() ?? "-", VerdictText(m.Verdict), m.Note ?? "",
                }).ToList();
                var widths = new int[header.Length - 1];
                for (int c = 0; c < widths.Length; c++) widths[c] = Math.Max(header[c].Length, rows.Max(row => row[c].Length));
                WriteRow(output, header, widths);
                foreach (var row in rows) WriteRow(output, row, widths);
            }
            foreach (var w in r.Warnings) output.WriteLine($"  warning: {w}");
            if (r.InconclusiveReason is { } why) output.WriteLine($"  inconclusive: {why}");
        }
    }

    private static void WriteRow(TextWriter output, string[] cells, int[] widths)
    {
        var line = new StringBuilder("  ");
        for (int c = 0; c < cells.Length; c++)
        {
            line.Append(cells[c]);
            if (c < widths.Length) line.Append(' ', widths[c] - cells[c].Length + 2);
        }
        output.WriteLine(line.ToString().TrimEnd());
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // ROI geometry is finite in practice; never let a stray NaN abort the whole report.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>An array, one object per set: seriesInstanceUid, profile, verdict, metrics (name, value, unit,
    /// limit {min, max}, verdict), warnings, then algorithmVersion, limitSet, inconclusiveReason and rois.
    /// Verdicts are lower case; a value that is not a finite number is null.</summary>
    public static JsonArray ToJson(IReadOnlyList<AnalyzedSet> sets)
    {
        var array = new JsonArray();
        foreach (var (series, _, r) in sets)
        {
            var metrics = new JsonArray();
            foreach (var m in r.Metrics)
            {
                metrics.Add(new JsonObject
                {
                    ["name"] = m.Name,
                    ["value"] = m.Value is { } v && double.IsFinite(v) ? v : null,
                    ["unit"] = m.Unit,
                    ["limit"] = m.Limit is { } l ? new JsonObject { ["min"] = l.Min, ["max"] = l.Max } : null,
                    ["verdict"] = VerdictText(m.Verdict),
                });
            }
            array.Add(new JsonObject
            {
                ["seriesInstanceUid"] = series,
                ["profile"] = r.Profile,
                ["verdict"] = VerdictText(r.Verdict),
                ["metrics"] = metrics,
                ["warnings"] = new JsonArray(r.Warnings.Select(w => (JsonNode?)JsonValue.Create(w)).ToArray()),
                ["algorithmVersion"] = r.AlgorithmVersion,
                ["limitSet"] = new JsonObject { ["id"] = r.LimitSet.Id, ["version"] = r.LimitSet.Version, ["kind"] = r.LimitSet.Kind.ToString().ToLowerInvariant() },
                ["inconclusiveReason"] = r.InconclusiveReason,
                ["rois"] = JsonSerializer.SerializeToNode(r.Rois, JsonOptions),
            });
        }
        return array;
    }

    public static void PrintJson(TextWriter output, IReadOnlyList<AnalyzedSet> sets) =>
        output.WriteLine(ToJson(sets).ToJsonString(JsonOptions));
}
