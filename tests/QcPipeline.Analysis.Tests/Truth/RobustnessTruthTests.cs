using QcPipeline.Analysis.Phantoms.Ct;
using QcPipeline.Dicom;
using QcPipeline.Phantoms.Ct;
using QcPipeline.Phantoms.Mr;
using static QcPipeline.Analysis.Tests.Truth.TruthSupport;

namespace QcPipeline.Analysis.Tests.Truth;

/// <summary>Bad input arriving as DICOM (not synthetic arrays) gives Inconclusive with a reason, never a verdict.</summary>
public class RobustnessTruthTests
{
    [Fact]
    public void Ct_phantom_cut_off_by_the_field_of_view_is_inconclusive()
    {
        // 200 mm phantom 30 mm off centre in the default 250 mm display FOV: its edge lies 5 mm outside the image.
        var s = CtWaterPhantom.Generate(CtTruthTests.Base with { OffsetXMm = 30, SliceCount = 1 });
        var r = CtWaterAnalysis.Analyze(RoundTrip(s), CtTruthTests.AnalysisFor(200), LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("cut off", r.InconclusiveReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Mr_image_analysed_as_ct_water_is_inconclusive()
    {
        var mr = MrPhantom.Generate(new MrOptions { ImageCount = 1 });
        var r = CtWaterAnalysis.Analyze([RoundTrip(mr.Images[0])], new QcPipeline.Analysis.Phantoms.Ct.CtWaterOptions(), LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("not CT", r.InconclusiveReason, StringComparison.Ordinal);
        Assert.Empty(r.Metrics);
    }

    [Fact]
    public void All_air_ct_image_is_inconclusive()
    {
        // A simulator slice's header with every stored value 0 (intercept −1024: all −1024 HU, an empty gantry).
        var ds = CtWaterPhantom.Generate(CtTruthTests.Base with { SliceCount = 1 }).Images[0].Dataset.Clone();
        ds.AddOrUpdate(DicomTags.PixelData, DicomVR.OW, new ushort[512 * 512]);
        var image = RoundTrip(ds);
        Assert.All(image.Pixels, v => Assert.Equal(-1024f, v));
        var r = CtWaterAnalysis.Analyze([image], new QcPipeline.Analysis.Phantoms.Ct.CtWaterOptions(), LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.False(string.IsNullOrWhiteSpace(r.InconclusiveReason));
        Assert.All(r.Metrics, m => Assert.Equal(Verdict.Inconclusive, m.Verdict));
    }
}
