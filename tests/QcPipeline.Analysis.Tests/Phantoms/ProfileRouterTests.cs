using QcPipeline.Analysis.Phantoms;

namespace QcPipeline.Analysis.Tests.Phantoms;

public class ProfileRouterTests
{
    private static AnalysisImage Flat(int instance, double level, double? mas, string modality = "DX", bool block = false, double? z = null)
    {
        const int n = 64;
        var px = new float[n * n];
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
                px[y * n + x] = (float)(block && Math.Abs(x - 32) < 10 && Math.Abs(y - 32) < 10 ? level * 0.05 : level);
        return new AnalysisImage
        {
            Width = n, Height = n, Pixels = px, Modality = modality, InstanceNumber = instance, ExposureMas = mas,
            SopInstanceUid = $"1.2.3.{instance}", SlicePosition = z,
        };
    }

    [Fact]
    public void Dr_session_is_split_into_its_tests()
    {
        AnalysisImage[] images =
        [
            Flat(1, 1100, 2.5), Flat(2, 500, 1), Flat(3, 1100, 2.5), Flat(4, 2100, 5), Flat(5, 4100, 10),
            Flat(6, 100, 0), Flat(7, 1100, 2.5, block: true), Flat(8, 1100, 2.5),
        ];
        var sets = ProfileRouter.Route(images.Reverse().ToArray(), ProfileRouter.Auto);
        Assert.Equal(["dr-stp", "dr-uniformity", "dr-dark", "dr-lag"], sets.Select(s => s.Profile));
        Assert.Equal(5, sets[0].Images.Count);
        Assert.Equal(1, sets[1].Images.Single().InstanceNumber); // nearest the median exposure, first on a tie
        Assert.Equal(6, sets[2].Images.Single().InstanceNumber);
        Assert.Equal([7, 8], sets[3].Images.Select(i => i.InstanceNumber!.Value));
    }

    [Fact]
    public void Few_flat_images_each_get_uniformity_and_a_lone_block_image_is_an_incomplete_lag_pair()
    {
        var sets = ProfileRouter.Route([Flat(1, 1000, 2), Flat(2, 1000, 2), Flat(3, 1000, 2, block: true)], ProfileRouter.Auto);
        Assert.Equal(["dr-uniformity", "dr-uniformity", "dr-lag"], sets.Select(s => s.Profile));
        Assert.NotNull(sets[2].InconclusiveReason);
        var result = ProfileRouter.Run(sets[2], LimitSet.Default);
        Assert.Equal(Verdict.Inconclusive, result.Verdict);
    }

    [Fact]
    public void Mr_images_of_one_slice_pair_up_and_other_slices_stand_alone()
    {
        var sets = ProfileRouter.Route([Flat(1, 1000, null, "MR", z: 0), Flat(2, 1000, null, "MR", z: 0), Flat(3, 1000, null, "MR", z: 10)], ProfileRouter.Auto);
        Assert.Equal([2, 1], sets.Select(s => s.Images.Count));
        Assert.All(sets, s => Assert.Equal("mr-uniform", s.Profile));
    }

    [Fact]
    public void Unknown_modality_is_inconclusive_and_unknown_profile_is_rejected()
    {
        var results = ProfileRouter.Analyze([Flat(1, 10, null, "US")], ProfileRouter.Auto, LimitSet.Default);
        var only = Assert.Single(results);
        Assert.Equal(Verdict.Inconclusive, only.Result.Verdict);
        Assert.Contains("US", only.Result.InconclusiveReason, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ProfileRouter.Route([Flat(1, 10, null)], "ct-bogus"));
    }

    [Fact]
    public void Explicit_profile_on_the_wrong_modality_is_inconclusive()
    {
        var result = Assert.Single(ProfileRouter.Analyze([Flat(1, 10, 1, "MR")], "dr-uniformity", LimitSet.Default)).Result;
        Assert.Equal(Verdict.Inconclusive, result.Verdict);
        Assert.Contains("wrong modality", result.InconclusiveReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FOR PROCESSING", "1.2.840.10008.5.1.4.1.1.1.1.1", false)]
    [InlineData(null, "1.2.840.10008.5.1.4.1.1.1.1.1", false)]
    [InlineData(null, "1.2.840.10008.5.1.4.1.1.1.1", true)]
    [InlineData("FOR PRESENTATION", "1.2.840.10008.5.1.4.1.1.1.1.1", true)]
    public void For_presentation_follows_the_intent_then_the_sop_class(string? intent, string sopClass, bool expected)
    {
        var image = Flat(1, 10, 1) with { PresentationIntentType = intent, SopClassUid = sopClass };
        Assert.Equal(expected, image.IsForPresentation);
    }
}
