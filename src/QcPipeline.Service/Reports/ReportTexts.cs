using System.Collections.Frozen;
using QcPipeline.Analysis;

namespace QcPipeline.Service.Reports;

/// <summary>The report's languages: Chinese (the default: audits follow the Chinese standards) and English.</summary>
public enum ReportLanguage
{
    Zh,
    En,
}

/// <summary>Every text of the PDF report in both languages, in one table, so that a wording is changed in one place and a
/// missing translation is seen side by side. Clause citations quote the seed documents (shared/STANDARDS.md).</summary>
public static class ReportTexts
{
    private static readonly FrozenDictionary<string, (string Zh, string En)> Table = new Dictionary<string, (string Zh, string En)>(StringComparer.Ordinal)
    {
        ["title"] = ("设备质量控制趋势报告", "Equipment quality-control trend report"),
        ["subtitle"] = ("供认可评审使用", "For accreditation assessment"),
        ["institution"] = ("医疗机构", "Institution"),
        ["devices"] = ("设备", "Devices"),
        ["device"] = ("设备", "Device"),
        ["fleet"] = ("全部设备", "All devices"),
        ["period"] = ("报告期间", "Period"),
        ["test"] = ("检测项目", "Test"),
        ["all-tests"] = ("全部检测项目", "All tests"),
        ["generated"] = ("生成时间", "Generated at"),
        ["timezone"] = ("时区", "Time zone"),
        ["clauses"] = ("依据条款", "Clauses cited"),
        ["clause-cnas"] = ("CNAS-CL02-A011:2018《医学实验室质量和能力认可准则在CT检查领域的应用说明》§5.6.2.3：CT 设备质控数据（水的CT值、均匀度、床移动精确度每月；噪声、分辨率每半年；层厚偏差、CT剂量指数每年，检测频率参照 GB 17589）。",
            "CNAS-CL02-A011:2018 (application of CNAS-CL02 to CT) §5.6.2.3: CT equipment QC data (CT number of water, uniformity, table movement monthly; noise, resolution every six months; slice thickness, CT dose index yearly; frequencies after GB 17589)."),
        ["clause-db11"] = ("DB11《医疗服务放射影像检查结果生成质量控制规范》§5.2：检查标识（§5.2.1 基本标识；§5.2.2 互认标识 HR/BJHR/JJJHR，标注于医疗机构名称后）。",
            "DB11 (Beijing) radiology result QC specification §5.2: image labels (§5.2.1 basic labels; §5.2.2 mutual-recognition marks HR/BJHR/JJJHR after the institution name)."),
        ["clause-limits"] = ("限值：每次结果保存其判定所用的限值（默认值取自 GB 17589、WS 519-2019、WS 76-2020 的状态/稳定性检测要求）。",
            "Limits: each result keeps the limit set it was judged by (defaults from the constancy requirements of GB 17589, WS 519-2019, WS 76-2020)."),
        ["summary"] = ("摘要", "Summary"),
        ["runs"] = ("检测次数", "Runs"),
        ["passed"] = ("合格", "Passed"),
        ["failed"] = ("不合格", "Failed"),
        ["inconclusive"] = ("无法判定", "Inconclusive"),
        ["pass"] = ("合格", "pass"),
        ["fail"] = ("不合格", "fail"),
        ["overdue"] = ("逾期", "overdue"),
        ["trends"] = ("指标趋势（绿色带为合格限值范围）", "Metric trends (green band: acceptance limits)"),
        ["no-runs"] = ("本期间内无检测结果。", "No results in the period."),
        ["no-values"] = ("无数值", "no values"),
        ["limit"] = ("限值", "Limit"),
        ["value"] = ("测量值", "Value"),
        ["unit"] = ("单位", "Unit"),
        ["verdict"] = ("结论", "Verdict"),
        ["date"] = ("日期", "Date"),
        ["metric"] = ("指标", "Metric"),
        ["run-table"] = ("全部检测记录", "Every run"),
        ["result-id"] = ("结果号", "Result"),
        ["due"] = ("检测计划与逾期项目（CNAS-CL02-A011 §5.6.2.3）", "Test plan and overdue tests (CNAS-CL02-A011 §5.6.2.3)"),
        ["due-not-configured"] = ("未配置检测计划：无法判断逾期项目。", "Test plans not configured: overdue tests cannot be determined."),
        ["due-none"] = ("该设备没有计划的检测项目。", "No tests are planned for this device."),
        ["frequency"] = ("频率", "Frequency"),
        ["last-run"] = ("最近检测", "Last run"),
        ["last-pass"] = ("最近合格", "Last pass"),
        ["due-at"] = ("到期", "Due"),
        ["status"] = ("状态", "Status"),
        ["on-time"] = ("按期", "on time"),
        ["overdue-count"] = ("逾期项目数", "Overdue tests"),
        ["labels"] = ("图像标识合规率（DB11 §5.2）", "Image label compliance (DB11 §5.2)"),
        ["labels-rate"] = ("合规率", "Compliance rate"),
        ["labels-checked"] = ("检查的序列", "Series checked"),
        ["labels-compliant"] = ("无错误级问题的序列", "Series without an error-level finding"),
        ["labels-definition"] = ("合规率 = 本期间内该设备被检查且没有任何错误级标识问题的序列数 ÷ 被检查的序列数（每个接收的序列都检查标识，包括临床序列）。",
            "Rate = series of the device checked in the period with no error-severity label finding ÷ series checked (the labels of every received series are checked, clinical ones included)."),
        ["labels-none"] = ("本期间内无被检查的序列。", "No series were checked in the period."),
        ["roi"] = ("最近一次结果的感兴趣区（ROI）图像", "ROI image of the latest result"),
        ["roi-missing"] = ("图像不可用（实例已不在存储中）。", "Image not available (the instances are no longer in the store)."),
        ["page"] = ("第 {0} 页 / 共 {1} 页", "Page {0} of {1}"),
        ["days"] = ("{0} 天", "{0} days"),
        ["monthly"] = ("每月", "monthly"),
        ["half-yearly"] = ("每半年", "every six months"),
        ["yearly"] = ("每年", "yearly"),
        ["manufacturer"] = ("厂家/型号", "Manufacturer / model"),
        ["modality"] = ("设备类型", "Modality"),
        ["site"] = ("位置", "Site"),
        ["key"] = ("设备标识", "Device key"),
        ["contents"] = ("报告内容：每台设备的指标趋势图（含限值带）、全部检测记录、逾期项目、图像标识合规率、最近结果的 ROI 图像。",
            "Contents: per device, metric trend charts with limit bands, every run, overdue tests, label compliance, the ROI image of the latest result."),
        [MetricNames.CtWaterHu] = ("水的CT值", "CT number of water"),
        [MetricNames.CtNoisePercent] = ("噪声", "Noise"),
        [MetricNames.CtUniformityHu] = ("均匀性", "Uniformity"),
        [MetricNames.CtMtf10] = ("高对比分辨力（MTF10%）", "High-contrast resolution (MTF 10 %)"),
        [MetricNames.DrUniformityCv] = ("响应均匀性", "Response uniformity"),
        [MetricNames.DrStpR2] = ("信号传递特性 R²", "Signal transfer R²"),
        [MetricNames.DrDarkMean] = ("暗噪声", "Dark noise"),
        [MetricNames.DrLagPercent] = ("残影", "Residual image (lag)"),
        [MetricNames.MrSnr] = ("信噪比", "SNR"),
        [MetricNames.MrPiu] = ("百分比积分均匀性", "Percent integral uniformity"),
        [MetricNames.MrGhosting] = ("伪影（鬼影）比", "Ghosting ratio"),
        ["test:ct-water"] = ("CT 水模（CT值、噪声、均匀性）", "CT water phantom (CT number, noise, uniformity)"),
        ["test:ct-mtf"] = ("CT 高对比分辨力", "CT high-contrast resolution"),
        ["test:dr-uniformity"] = ("DR 响应均匀性", "DR response uniformity"),
        ["test:dr-stp"] = ("DR 信号传递特性", "DR signal transfer characteristic"),
        ["test:dr-dark"] = ("DR 暗噪声", "DR dark noise"),
        ["test:dr-lag"] = ("DR 残影", "DR residual image"),
        ["test:mr-uniform"] = ("MR 均匀体模（信噪比、均匀性、伪影）", "MR uniform phantom (SNR, uniformity, ghosting)"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The text of <paramref name="key"/>; a key without an entry (an unknown metric) is shown as itself.</summary>
    public static string Get(string key, ReportLanguage lang) =>
        Table.TryGetValue(key, out var t) ? (lang == ReportLanguage.Zh ? t.Zh : t.En) : key;

    public static bool Has(string key) => Table.ContainsKey(key);

    /// <summary>A metric's name for people, with its stable id beside it (auditors and the CSV use the id).</summary>
    public static string Metric(string name, ReportLanguage lang) => Has(name) ? $"{Get(name, lang)} ({name})" : name;

    public static string Test(string profile, ReportLanguage lang) => Has("test:" + profile) ? $"{Get("test:" + profile, lang)} [{profile}]" : profile;

    public static string Verdict(string verdict, ReportLanguage lang) => verdict switch
    {
        "pass" => Get("pass", lang),
        "fail" => Get("fail", lang),
        _ => Get("inconclusive", lang),
    };

    /// <summary>A test frequency in the words of CNAS-CL02-A011 §5.6.2.3 when it is one of its periods, else in days.</summary>
    public static string Frequency(TimeSpan f, ReportLanguage lang) => f.TotalDays switch
    {
        >= 28 and <= 31 => Get("monthly", lang),
        >= 180 and <= 184 => Get("half-yearly", lang),
        >= 365 and <= 366 => Get("yearly", lang),
        _ => string.Format(System.Globalization.CultureInfo.InvariantCulture, Get("days", lang), Math.Round(f.TotalDays, 1)),
    };
}
