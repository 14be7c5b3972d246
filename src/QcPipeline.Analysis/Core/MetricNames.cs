namespace QcPipeline.Analysis;

/// <summary>The stable metric names of the contract: results, limit sets, `qc analyze --json`, the
/// simulator's truth manifests and (later) metric labels all use these, so they are defined once here.</summary>
public static class MetricNames
{
    public const string CtWaterHu = "ct.water_hu";
    public const string CtNoisePercent = "ct.noise_percent";
    public const string CtUniformityHu = "ct.uniformity_hu";
    public const string CtMtf10 = "ct.mtf10_lpcm";
    public const string DrUniformityCv = "dr.uniformity_cv_percent";
    public const string DrStpR2 = "dr.stp_r2";
    public const string DrDarkMean = "dr.dark_mean";
    public const string DrLagPercent = "dr.lag_percent";
    public const string MrSnr = "mr.snr";
    public const string MrPiu = "mr.piu_percent";
    public const string MrGhosting = "mr.ghosting_percent";
}
