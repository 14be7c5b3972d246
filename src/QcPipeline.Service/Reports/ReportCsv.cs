using System.Globalization;
using CsvHelper;

namespace QcPipeline.Service.Reports;

/// <summary>The CSV of a report, for spreadsheets: one row per run × metric (a run without metrics, e.g. an inconclusive
/// one, is one row with the metric columns empty). UTF-8 with a byte-order mark, so that Excel shows Chinese names;
/// ISO 8601 times with their offset; invariant numbers (shortest round-trip form), written as numbers so that the formula-injection guard leaves a
/// negative value alone. The column names are stable ids; the
/// <c>*_label</c> columns are in the report's language.</summary>
public static class ReportCsv
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "device_id", "device_key", "device_name", "institution", "test", "test_label", "result_id", "analyzed_at", "run_verdict",
        "metric", "metric_label", "value", "unit", "limit_min", "limit_max", "metric_verdict", "limit_set", "algorithm_version",
    ];

    public static async Task WriteAsync(TrendReport report, Stream output, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        var lang = report.Language == "en" ? ReportLanguage.En : ReportLanguage.Zh;
        // Injection escaped: device and institution names are edited by people, and a name starting with '=' must not become
        // a spreadsheet formula.
        var options = new CsvWriterOptions { WriteByteOrderMark = true, Injection = CsvInjection.Escape, FormatProvider = CultureInfo.InvariantCulture };
        var csv = CsvWriter.Create(output, options, leaveOpen: true);
        await using (csv.ConfigureAwait(false))
        {
            foreach (var c in Columns) csv.WriteField(c);
            await csv.EndRecordAsync(ct).ConfigureAwait(false);
            foreach (var section in report.Devices)
            {
                var d = section.Device;
                foreach (var run in section.Runs)
                {
                    ct.ThrowIfCancellationRequested();
                    IEnumerable<ReportMetric?> metrics = run.Metrics.Count == 0 ? new ReportMetric?[] { null } : run.Metrics.Cast<ReportMetric?>();
                    foreach (var m in metrics)
                    {
                        csv.WriteField(d.Id, default);
                        csv.WriteField(d.Key);
                        csv.WriteField(d.Name);
                        csv.WriteField(d.InstitutionName ?? "");
                        csv.WriteField(run.Test);
                        csv.WriteField(ReportTexts.Has("test:" + run.Test) ? ReportTexts.Get("test:" + run.Test, lang) : run.Test);
                        csv.WriteField(run.ResultId, default);
                        csv.WriteField(Iso(run.At));
                        csv.WriteField(run.Verdict);
                        csv.WriteField(m?.Name ?? "");
                        csv.WriteField(m is null ? "" : ReportTexts.Get(m.Name, lang));
                        csv.WriteField(m?.Value, default);
                        csv.WriteField(m?.Unit ?? "");
                        csv.WriteField(m?.LimitMin, default);
                        csv.WriteField(m?.LimitMax, default);
                        csv.WriteField(m?.Verdict ?? "");
                        csv.WriteField(run.LimitSet);
                        csv.WriteField(run.AlgorithmVersion);
                        await csv.EndRecordAsync(ct).ConfigureAwait(false);
                    }
                }
            }
            await csv.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    public static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
}
