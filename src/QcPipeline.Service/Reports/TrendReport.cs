namespace QcPipeline.Service.Reports;

// The report model: built once from the database (TrendReportBuilder), then written as JSON (this shape, camelCase, is the
// documented JSON of GET /api/reports/trend?format=json), CSV or PDF. Times are in the report's time zone (Reports:TimeZone)
// with their offset; values are the stored ones (no rounding).

/// <summary>A trend report over one device or the fleet (one section per device).</summary>
/// <param name="SchemaVersion">Bumped when a field changes meaning or goes away (adding fields does not bump it).</param>
/// <param name="From">Start of the period (inclusive).</param>
/// <param name="To">End of the period (exclusive).</param>
/// <param name="Test">The test (analysis profile) the report is limited to, or null for every test.</param>
/// <param name="Clauses">The clauses the report answers to.</param>
public sealed record TrendReport(int SchemaVersion, DateTimeOffset GeneratedAt, DateTimeOffset From, DateTimeOffset To, string TimeZone,
    string? Test, string Language, IReadOnlyList<string> Clauses, IReadOnlyList<DeviceReport> Devices)
{
    public const int CurrentSchemaVersion = 1;
    public static readonly IReadOnlyList<string> ClauseIds = ["CNAS-CL02-A011:2018 §5.6.2.3", "DB11 §5.2"];
}

/// <summary>One device's section.</summary>
/// <param name="Metrics">Each metric of each test over time (from <see cref="Runs"/>), for charts.</param>
/// <param name="Runs">Every run in the period, oldest first.</param>
/// <param name="LatestResultId">The newest run in the period (its ROI image is in the PDF), or null.</param>
public sealed record DeviceReport(ReportDevice Device, RunSummary Summary, IReadOnlyList<MetricTrend> Metrics, IReadOnlyList<ReportRun> Runs,
    DueSection Due, LabelCompliance Labels, long? LatestResultId);

public sealed record ReportDevice(long Id, string Key, string? DisplayName, string? InstitutionName, string? Site, string? Modality,
    string? Manufacturer, string? Model, string? StationName, string? SerialNumber)
{
    /// <summary>What people call it: the display name, else station name, else the key.</summary>
    public string Name => DisplayName ?? StationName ?? Key;
}

public sealed record RunSummary(int Runs, int Passed, int Failed, int Inconclusive);

/// <summary>One result (one analysis of one series with one test).</summary>
/// <param name="Verdict">pass, fail or inconclusive.</param>
/// <param name="LimitSet">The limit set the run was judged by, <c>id vN</c>.</param>
public sealed record ReportRun(long ResultId, DateTimeOffset At, string Test, string Verdict, string AlgorithmVersion, string LimitSet,
    string? InconclusiveReason, IReadOnlyList<ReportMetric> Metrics);

/// <summary>A series-level metric of a run with the limits it was judged by (null: open bound).</summary>
public sealed record ReportMetric(string Name, double? Value, string Unit, double? LimitMin, double? LimitMax, string Verdict);

public sealed record MetricTrend(string Test, string Name, string Unit, IReadOnlyList<TrendPoint> Points);

public sealed record TrendPoint(DateTimeOffset At, long ResultId, double? Value, double? LimitMin, double? LimitMax, string Verdict);

/// <summary>The device's test plan as of the end of the period. <paramref name="Configured"/> is false when the service has
/// no test plans (then <paramref name="Tests"/> is empty and nothing is claimed about overdue tests).</summary>
public sealed record DueSection(bool Configured, DateTimeOffset AsOf, int OverdueCount, IReadOnlyList<DueTest> Tests);

public sealed record DueTest(string Test, double FrequencyDays, DateTimeOffset? LastRunAt, DateTimeOffset? LastPassAt, string? LastVerdict,
    DateTimeOffset? DueAt, bool Overdue);

/// <summary>Label compliance in the period (DB11 §5.2): of the device's series whose labels were checked in the period (every
/// check leaves a <c>SeriesChecks</c> row, clinical series included), the share with no error-severity finding. <paramref name="Rate"/> is null when none was checked.
/// Not limited by the report's test: label checks run on every series.</summary>
public sealed record LabelCompliance(int SeriesChecked, int SeriesCompliant, double? Rate);
