namespace QcPipeline.Analysis.Tests.Core;

public class RoiMathTests
{
    private static AnalysisImage Ramp(int w, int h) =>
        new() { Width = w, Height = h, Pixels = Enumerable.Range(0, w * h).Select(i => (float)(i % w)).ToArray() };

    [Fact]
    public void Circle_takes_pixels_whose_centres_are_inside_and_skips_NaN()
    {
        var img = Ramp(11, 11);
        var s = RoiMath.Circle(img, 5, 5, 1);
        Assert.Equal(5, s.Count); // centre plus 4 neighbours
        Assert.Equal(5, s.Mean, 12);
        img.Pixels[5 * 11 + 5] = float.NaN;
        Assert.Equal(4, RoiMath.Circle(img, 5, 5, 1).Count);
    }

    [Fact]
    public void Rectangle_gives_sample_standard_deviation_and_clips_to_the_image()
    {
        var img = Ramp(4, 2);
        var s = RoiMath.Rectangle(img, -2, 0, 4, 5);
        Assert.Equal(4, s.Count); // columns 0..1, rows 0..1
        Assert.Equal(0.5, s.Mean, 12);
        Assert.Equal(Math.Sqrt(1.0 / 3.0), s.StandardDeviation, 12);
    }
}
