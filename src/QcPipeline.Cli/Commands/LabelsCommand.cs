using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using QcPipeline.Analysis.Labels;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Cli.Commands;

/// <summary><c>qc labels PATH... [--registry FILE] [--json]</c>: image labels, HR marks and series integrity of the
/// series found under PATHs (files, or folders searched recursively), read header-only and grouped by Series
/// Instance UID. Exit 0 when every series is compliant, 1 when any finding is an error (or an explicitly named
/// file cannot be read), 3 on a usage error (including an unusable registry).</summary>
public static class LabelsCommand
{
    public static Command Create(CliConsole console)
    {
        var paths = FileArgument.Many("PATH", "DICOM files or folders (searched recursively)");
        var registry = new Option<string?>("--registry") { Description = "HR mark registry (YAML or JSON); see deploy/hr-registry.sample.yaml" };
        var json = new Option<bool>("--json") { Description = "Print a JSON array with one object per series" };
        var command = new Command("labels", "Check image labels, HR mutual-recognition marks and series integrity") { paths, registry, json };
        command.SetAction(parseResult => Execute(console, parseResult.GetRequiredValue(paths), parseResult.GetValue(registry), parseResult.GetValue(json)));
        return command;
    }

    public static int Execute(CliConsole console, IReadOnlyList<string> paths, string? registryPath, bool json)
    {
        HrRegistry? registry = null;
        if (registryPath is not null)
        {
            try { registry = HrRegistry.Load(registryPath); }
            catch (HrRegistryException ex) { console.Fail(registryPath, ex.Message); return ExitCodes.Usage; }
            catch (FileNotFoundException) { console.Fail(registryPath, "no such file"); return ExitCodes.Usage; }
            catch (DirectoryNotFoundException) { console.Fail(registryPath, "no such file"); return ExitCodes.Usage; }
            catch (IOException ex) { console.Fail(registryPath, ex.Message); return ExitCodes.Usage; }
            catch (UnauthorizedAccessException ex) { console.Fail(registryPath, ex.Message); return ExitCodes.Usage; }
        }

        var bySeries = new Dictionary<string, List<InstanceHeader>>(StringComparer.Ordinal);
        var inputs = new DicomInputs(console, DicomReadOptions.HeaderOnly);
        inputs.Visit(DicomInputs.Expand(paths), (input, file) => Add(bySeries, new InstanceHeader(file.Dataset, file.TransferSyntax, input.Path)));
        int exitCode = inputs.AnyFailed ? ExitCodes.Failed : ExitCodes.Ok;

        var results = bySeries.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => SeriesQc.Check(new SeriesHeaders(p.Value), new SeriesQcOptions(registry)))
            .ToList();
        if (json) PrintJson(console.Out, results);
        else PrintTable(console.Out, results);
        if (results.Any(r => !r.IsCompliant)) exitCode = ExitCodes.Failed;
        return exitCode;
    }

    private static void Add(Dictionary<string, List<InstanceHeader>> bySeries, InstanceHeader header)
    {
        string key = header.Dataset.GetString(DicomTags.SeriesInstanceUID) ?? "";
        if (!bySeries.TryGetValue(key, out var list)) bySeries[key] = list = [];
        list.Add(header);
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // Chinese messages stay readable
    };

    private static void PrintJson(TextWriter output, List<SeriesCheckResult> results)
    {
        var shaped = results.Select(r => new
        {
            seriesInstanceUid = r.SeriesInstanceUid,
            modality = r.Modality,
            instances = r.InstanceCount,
            checksMade = r.ChecksMade,
            checksPassed = r.ChecksPassed,
            complianceRate = Math.Round(r.ComplianceRate, 4),
            compliant = r.IsCompliant,
            findings = r.Findings,
        });
        output.WriteLine(JsonSerializer.Serialize(shaped, JsonOptions));
    }

    private static void PrintTable(TextWriter output, List<SeriesCheckResult> results)
    {
        if (results.Count == 0) { output.WriteLine("no DICOM series found"); return; }
        for (int s = 0; s < results.Count; s++)
        {
            var r = results[s];
            if (s > 0) output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# Series {(string.IsNullOrEmpty(r.SeriesInstanceUid) ? "(no Series Instance UID)" : r.SeriesInstanceUid)}  {r.Modality}  {r.InstanceCount} instance(s)  {r.ChecksPassed}/{r.ChecksMade} checks passed ({r.ComplianceRate * 100:0.0} %)  {(r.IsCompliant ? "compliant" : "NOT compliant")}"));
            if (r.Findings.Count == 0) { output.WriteLine("no findings"); continue; }
            var rows = r.Findings.Select(f => new[]
            {
                f.Severity.ToString().ToLowerInvariant(), f.RuleId, f.Tag ?? "-", f.Keyword ?? "-",
                f.InstanceCount.ToString(CultureInfo.InvariantCulture), Cut(f.Value), f.MessageEn + " / " + f.MessageZh,
            }).ToList();
            string[] header = ["SEVERITY", "RULE", "TAG", "KEYWORD", "COUNT", "VALUE", "MESSAGE"];
            var widths = new int[header.Length - 1];
            for (int c = 0; c < widths.Length; c++) widths[c] = Math.Max(header[c].Length, rows.Max(row => DisplayWidth(row[c])));
            WriteRow(output, header, widths);
            foreach (var row in rows) WriteRow(output, row, widths);
        }
    }

    private static void WriteRow(TextWriter output, string[] cells, int[] widths)
    {
        var line = new System.Text.StringBuilder();
        for (int c = 0; c < cells.Length; c++)
        {
            line.Append(cells[c]);
            if (c < widths.Length) line.Append(' ', widths[c] - DisplayWidth(cells[c]) + 2);
        }
        output.WriteLine(line.ToString().TrimEnd());
    }

    /// <summary>Columns a terminal gives the text: CJK and full-width characters take two.</summary>
    private static int DisplayWidth(string s)
    {
        int w = 0;
        foreach (char c in s) w += c is >= '\u1100' and <= '\u115F' or >= '\u2E80' and <= '\uA4CF' or >= '\uAC00' and <= '\uD7A3' or >= '\uF900' and <= '\uFAFF' or >= '\uFE30' and <= '\uFE4F' or >= '\uFF00' and <= '\uFF60' or >= '\uFFE0' and <= '\uFFE6' ? 2 : 1;
        return w;
    }

    private static string Cut(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "-";
        var v = value.ReplaceLineEndings(" ");
        return v.Length > 40 ? v[..37] + "..." : v;
    }
}
