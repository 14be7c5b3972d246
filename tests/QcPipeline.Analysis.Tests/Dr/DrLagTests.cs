using QcPipeline.Analysis.Phantoms.Dr;

namespace QcPipeline.Analysis.Tests.Dr;

public class DrLagTests
{
    private static readonly PixelRectangle Block = new(150, 120, 100, 90);

    private static bool Inside(int x, int y) => x >= Block.X && x < Block.X + Block.Width && y >= Block.Y && y < Block.Y + Block.Height;

    private static (AnalysisImage First, AnalysisImage Second) Pair(double lagPercent, double noise = 0, int size = 400) =>
        (DrImages.Make(size, size, (x, y) => Inside(x, y) ? 300 : 1000, noise, seed: 11),
         DrImages.Make(size, size, (x, y) => Inside(x, y) ? 1000 * (1 + lagPercent / 100) : 1000, noise, seed: 12));

    [Theory]
    [InlineData(3.0)]
    [InlineData(-2.0)]
    [InlineData(8.0)]
    public void Lag_matches_truth_within_0_2_percentage_points(double lag)
    {
        var (a, b) = Pair(lag, noise: 5);
        var r = DrLag.Analyze(a, b);
        Assert.Equal(Math.Abs(lag), r.Metrics.Single().Value!.Value, 0.2);
        var detected = Assert.IsType<RectangleRoi>(r.Rois[0]);
        Assert.Equal((149.5, 119.5, 100.0, 90.0), (detected.X, detected.Y, detected.Width, detected.Height));
    }

    [Theory]
    [InlineData(4.99, Verdict.Pass)]
    [InlineData(5.01, Verdict.Fail)]
    public void Verdict_flips_where_lag_crosses_5_percent(double lag, Verdict expected)
    {
        var (a, b) = Pair(lag);
        var r = DrLag.Analyze(a, b);
        Assert.Equal(lag, r.Metrics.Single().Value!.Value, 1e-3);
        Assert.Equal(expected, r.Verdict);
    }

    [Fact]
    public void A_given_region_is_used_as_is()
    {
        var (a, b) = Pair(2.5, noise: 5);
        var flat = DrImages.Flat(400, 1000, 5);
        var r = DrLag.Analyze(flat, b, new DrLagOptions { AttenuatorRegion = Block });
        Assert.Equal(2.5, r.Metrics.Single().Value!.Value, 0.2);
        Assert.Equal("attenuator (given)", r.Rois[0].Label);
    }

    [Fact]
    public void No_block_in_the_first_image_is_inconclusive()
    {
        var r = DrLag.Analyze(DrImages.Flat(200, 1000, 5), DrImages.Flat(200, 1000, 5));
        Assert.Equal(Verdict.Inconclusive, r.Verdict);
        Assert.Contains("no attenuator", r.InconclusiveReason);
    }

    [Fact]
    public void Mismatched_or_unusable_images_are_inconclusive()
    {
        var (a, b) = Pair(1);
        Assert.Contains("differ in size", DrLag.Analyze(a, DrImages.Flat(100, 1000)).InconclusiveReason);
        Assert.Contains("wrong modality", DrLag.Analyze(a, b with { Modality = "MR" }).InconclusiveReason);
        Assert.Equal(Verdict.Inconclusive, DrLag.Analyze(a, new AnalysisImage { Width = 0, Height = 0, Pixels = [] }).Verdict);
        Assert.Contains("too small", DrLag.Analyze(a, b, new DrLagOptions { AttenuatorRegion = new PixelRectangle(10, 10, 3, 3) }).InconclusiveReason);
        Assert.Contains("no room", DrLag.Analyze(a, b, new DrLagOptions { AttenuatorRegion = new PixelRectangle(0, 0, 400, 400) }).InconclusiveReason);
    }

    [Fact]
    public void For_presentation_images_are_flagged()
    {
        var (a, b) = Pair(1);
        var r = DrLag.Analyze(a, b with { PresentationIntentType = "FOR PRESENTATION" });
        Assert.Contains(r.Warnings, w => w.Contains("image 1 is For Presentation"));
    }
}
