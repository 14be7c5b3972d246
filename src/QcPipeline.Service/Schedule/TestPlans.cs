using System.Globalization;
using QcPipeline.Analysis.Phantoms;

namespace QcPipeline.Service.Schedule;

/// <summary>How often a test must pass: a whole number of days, weeks, months or years (ISO 8601 <c>PnD</c>, <c>PnW</c>,
/// <c>PnM</c>, <c>PnY</c>). Months and years are calendar steps: one month after 31 January is 28 (or 29) February.</summary>
public readonly record struct TestPeriod(int Count, char Unit)
{
    public static TestPeriod Monthly { get; } = new(1, 'M');
    public static TestPeriod SixMonthly { get; } = new(6, 'M');
    public static TestPeriod Yearly { get; } = new(1, 'Y');

    /// <summary>The ISO 8601 text (<c>P1M</c>).</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"P{Count}{Unit}");

    /// <summary>The end of the period that starts at <paramref name="start"/>.</summary>
    public DateTimeOffset After(DateTimeOffset start) => Unit switch
    {
        'D' => start.AddDays(Count),
        'W' => start.AddDays(7 * Count),
        'M' => start.AddMonths(Count),
        _ => start.AddYears(Count),
    };

    /// <summary>The nominal length (a month counts 30 days, a year 365), for display and the <see cref="TestDueStatus"/>
    /// contract; due dates use <see cref="After"/>.</summary>
    public TimeSpan Nominal => Unit switch
    {
        'D' => TimeSpan.FromDays(Count),
        'W' => TimeSpan.FromDays(7 * Count),
        'M' => TimeSpan.FromDays(30 * Count),
        _ => TimeSpan.FromDays(365 * Count),
    };

    /// <summary>Reads <c>daily</c>, <c>weekly</c>, <c>monthly</c>, <c>quarterly</c>, <c>six-monthly</c>, <c>yearly</c> or an
    /// ISO period <c>P1D</c>…; at most ten years.</summary>
    public static bool TryParse(string? text, out TestPeriod period)
    {
        period = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var t = text.Trim().ToUpperInvariant();
        switch (t)
        {
            case "DAILY": period = new(1, 'D'); return true;
            case "WEEKLY": period = new(1, 'W'); return true;
            case "MONTHLY": period = Monthly; return true;
            case "QUARTERLY": period = new(3, 'M'); return true;
            case "SIX-MONTHLY" or "SEMIANNUAL" or "HALF-YEARLY": period = SixMonthly; return true;
            case "YEARLY" or "ANNUAL": period = Yearly; return true;
        }
        if (t.Length < 3 || t[0] != 'P' || "DWMY".IndexOf(t[^1], StringComparison.Ordinal) < 0) return false;
        if (!int.TryParse(t.AsSpan(1, t.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1) return false;
        var p = new TestPeriod(n, t[^1]);
        if (p.Nominal > TimeSpan.FromDays(3660)) return false;
        period = p;
        return true;
    }
}

/// <summary>A test of a plan as it applies: explicit (a row) or a default of the device's modality.</summary>
public sealed record PlannedTest(string Test, TestPeriod Frequency, bool Enabled, bool IsDefault, string? UpdatedBy, DateTimeOffset? UpdatedAt);

/// <summary>The default test plans (STANDARDS.md §4) and the tests that can be planned.</summary>
public static class TestPlans
{
    /// <summary>Profiles that can be planned and scheduled: every analysis profile except <c>auto</c> (a scheduled scan names its test).</summary>
    public static IReadOnlyList<string> Tests { get; } = [.. ProfileRouter.Profiles.Where(p => p != ProfileRouter.Auto)];

    /// <summary>Defaults by modality. CT (§4, after GB 17589): <c>ct-water</c> measures water CT number, uniformity and noise,
    /// of which the first two are monthly, so monthly; <c>ct-mtf</c> (spatial resolution) every six months. DR and MR
    /// constancy tests: monthly (§4 default).</summary>
    public static IReadOnlyList<(string Test, TestPeriod Frequency)> Defaults(string? modality) => modality?.Trim().ToUpperInvariant() switch
    {
        "CT" => [("ct-water", TestPeriod.Monthly), ("ct-mtf", TestPeriod.SixMonthly)],
        "DX" or "CR" or "DR" or "RG" => [("dr-uniformity", TestPeriod.Monthly), ("dr-stp", TestPeriod.Monthly), ("dr-dark", TestPeriod.Monthly), ("dr-lag", TestPeriod.Monthly)],
        "MR" => [("mr-uniform", TestPeriod.Monthly)],
        _ => [],
    };

    /// <summary>The modality a test is acquired on, when the device does not say.</summary>
    public static string ModalityOf(string test) => test.StartsWith("ct-", StringComparison.Ordinal) ? "CT"
        : test.StartsWith("mr-", StringComparison.Ordinal) ? "MR" : "DX";

    /// <summary>The Scheduled Procedure Step Description of a test: English and Chinese, so the technologist recognises it.</summary>
    public static string Description(string test) => test switch
    {
        "ct-water" => "QC ct-water: CT number of water, uniformity, noise / 水模 CT值 均匀性 噪声",
        "ct-mtf" => "QC ct-mtf: high-contrast resolution / 高对比度分辨力",
        "dr-uniformity" => "QC dr-uniformity: response uniformity / 响应均匀性",
        "dr-stp" => "QC dr-stp: signal transfer, 4+ exposures / 信号传递特性",
        "dr-dark" => "QC dr-dark: dark noise, no exposure / 暗噪声",
        "dr-lag" => "QC dr-lag: residual image / 残影",
        "mr-uniform" => "QC mr-uniform: uniformity, SNR / 均匀性 信噪比",
        _ => "QC " + test,
    };

    /// <summary>The plan of a device from its rows (when it has any) or its modality's defaults.</summary>
    public static IReadOnlyList<PlannedTest> Effective(string? modality, IReadOnlyCollection<TestPlanRecord> rows) =>
        rows.Count > 0
            ? [.. rows.OrderBy(r => r.Test, StringComparer.Ordinal).Select(r => new PlannedTest(r.Test,
                TestPeriod.TryParse(r.Frequency, out var f) ? f : TestPeriod.Monthly, r.Enabled, false, r.UpdatedBy, r.UpdatedAt))]
            : [.. Defaults(modality).Select(d => new PlannedTest(d.Test, d.Frequency, true, true, null, null))];

    /// <summary>STANDARDS.md §4: due at the end of the period after the last passing result, overdue after that. A test that
    /// has never passed has been due since <paramref name="planStart"/> (the device was first seen, or the test planned),
    /// and is overdue once a whole period has gone by from then without a pass.</summary>
    public static (DateTimeOffset DueAt, bool Overdue) Due(TestPeriod frequency, DateTimeOffset? lastPass, DateTimeOffset planStart, DateTimeOffset now)
    {
        if (lastPass is { } p)
        {
            var due = frequency.After(p);
            return (due, now > due);
        }
        return (planStart, now > frequency.After(planStart));
    }
}
