using System.Globalization;
using QcPipeline.Analysis.Phantoms.Ct;
using QcPipeline.Analysis.Phantoms.Dr;
using QcPipeline.Analysis.Phantoms.Mr;

namespace QcPipeline.Analysis.Phantoms;

/// <summary>One analysis to run: a profile and the images it gets, in the order it gets them (ROI frames index this list).</summary>
public sealed record RoutedSet(string Profile, IReadOnlyList<AnalysisImage> Images)
{
    /// <summary>Set when the router already knows the analysis cannot judge (e.g. a lag image without its flat image).</summary>
    public string? InconclusiveReason { get; init; }
}

/// <summary>A routed set with its result.</summary>
public sealed record RoutedResult(RoutedSet Set, AnalysisResult Result);

/// <summary>Options of the analyses the router runs; every default is the analysis's own.</summary>
public sealed record ProfileOptions
{
    public CtWaterOptions CtWater { get; init; } = new();
    public CtMtfOptions CtMtf { get; init; } = new();
    public DrUniformityOptions DrUniformity { get; init; } = new();
    public DrSignalTransferOptions DrSignalTransfer { get; init; } = new();
    public DrDarkOptions DrDark { get; init; } = new();
    public DrLagOptions DrLag { get; init; } = new();
    public MrUniformOptions MrUniform { get; init; } = new();
}

/// <summary>Chooses the analysis profiles for the images of one set (normally one series) and runs them. Pure: images
/// in, results out. With <see cref="Auto"/>:
/// <list type="bullet">
/// <item>CT → <c>ct-water</c> over all slices, then <c>ct-mtf</c> from the phantom edge when ct-water found the phantom
/// (no MTF result for an image without a phantom: it would only repeat the same inconclusive reason).</item>
/// <item>DX/CR/RG (and "DR") → the images, in instance-number order, are split: dark images (Exposure 0, or "DARK" in
/// Image Type / Series Description, or — exposure unknown — a mean below 10 % of the set's median) → <c>dr-dark</c> each;
/// an image with a low-signal central block (centre mean below half the quadrant means) and the image after it →
/// <c>dr-lag</c>; the remaining flat images → <c>dr-stp</c> when at least 4 distinct exposures, plus <c>dr-uniformity</c>
/// on the image nearest the median exposure; else <c>dr-uniformity</c> on each.</item>
/// <item>MR → <c>mr-uniform</c> per slice position; two images of the same slice make a pair (two-image SNR).</item>
/// <item>Anything else → one inconclusive result, profile <c>auto</c>.</item>
/// </list>
/// An explicit profile takes the images as they are; a wrong modality makes the analysis itself inconclusive.</summary>
public static class ProfileRouter
{
    public const string Auto = "auto";
    public const string AlgorithmVersion = "router/1.0";

    /// <summary>The profile names accepted, <see cref="Auto"/> first.</summary>
    public static IReadOnlyList<string> Profiles { get; } =
    [
        Auto, CtWaterAnalysis.Profile, CtMtfAnalysis.Profile, DrUniformity.Profile, DrSignalTransfer.Profile,
        DrDark.Profile, DrLag.Profile, MrUniform.Profile,
    ];

    private static readonly HashSet<string> DrModalities = new(StringComparer.OrdinalIgnoreCase) { "DX", "CR", "RG", "DR" };

    /// <summary>Routes and runs: one result per routed set (auto CT may add a ct-mtf result to the ct-water one).</summary>
    public static IReadOnlyList<RoutedResult> Analyze(IReadOnlyList<AnalysisImage> images, string profile, LimitSet limits, ProfileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(limits);
        options ??= new ProfileOptions();
        var results = new List<RoutedResult>();
        bool auto = string.Equals(profile, Auto, StringComparison.Ordinal);
        foreach (var set in Route(images, profile))
        {
            var result = Run(set, limits, options);
            results.Add(new RoutedResult(set, result));
            if (auto && set.Profile == CtWaterAnalysis.Profile && result.InconclusiveReason is null)
            {
                var mtf = set with { Profile = CtMtfAnalysis.Profile };
                results.Add(new RoutedResult(mtf, Run(mtf, limits, options)));
            }
        }
        return results;
    }

    /// <summary>The analyses to run on <paramref name="images"/> with <paramref name="profile"/> (see the class summary).</summary>
    /// <exception cref="ArgumentException">an unknown profile</exception>
    public static IReadOnlyList<RoutedSet> Route(IReadOnlyList<AnalysisImage> images, string profile)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (!Profiles.Contains(profile, StringComparer.Ordinal))
            throw new ArgumentException($"unknown profile '{profile}' (one of {string.Join(", ", Profiles)})", nameof(profile));
        if (images.Count == 0) return [];
        var ordered = InInstanceOrder(images);
        return profile switch
        {
            Auto => RouteAuto(ordered),
            CtWaterAnalysis.Profile or CtMtfAnalysis.Profile or DrSignalTransfer.Profile => [new RoutedSet(profile, ordered)],
            DrUniformity.Profile or DrDark.Profile => ordered.Select(i => new RoutedSet(profile, [i])).ToList(),
            DrLag.Profile => RouteLag(ordered),
            MrUniform.Profile => RouteMr(ordered),
            _ => throw new ArgumentException($"unknown profile '{profile}'", nameof(profile)),
        };
    }

    /// <summary>Runs one routed set.</summary>
    public static AnalysisResult Run(RoutedSet set, LimitSet limits, ProfileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(limits);
        options ??= new ProfileOptions();
        var images = set.Images;
        if (set.InconclusiveReason is { } why)
            return AnalysisResult.InconclusiveBecause(set.Profile, AlgorithmVersionOf(set.Profile), limits.Reference, why);
        if (images.Count == 0)
            return AnalysisResult.InconclusiveBecause(set.Profile, AlgorithmVersionOf(set.Profile), limits.Reference, "no images");
        return set.Profile switch
        {
            CtWaterAnalysis.Profile => CtWaterAnalysis.Analyze(images, options.CtWater, limits),
            CtMtfAnalysis.Profile => CtMtfAnalysis.Analyze(images, options.CtMtf, limits),
            DrUniformity.Profile => DrUniformity.Analyze(images[0], options.DrUniformity, limits),
            DrDark.Profile => DrDark.Analyze(images[0], options.DrDark, limits),
            DrSignalTransfer.Profile => DrSignalTransfer.Analyze(images, options.DrSignalTransfer, limits),
            DrLag.Profile when images.Count >= 2 => DrLag.Analyze(images[0], images[1], options.DrLag, limits),
            DrLag.Profile => AnalysisResult.InconclusiveBecause(DrLag.Profile, DrLag.AlgorithmVersion, limits.Reference,
                "the lag test needs two images: the exposure with the attenuator block, then a flat exposure"),
            MrUniform.Profile => MrUniform.Analyze(images[0], images.Count > 1 ? images[1] : null, options.MrUniform, limits),
            _ => AnalysisResult.InconclusiveBecause(set.Profile, AlgorithmVersion, limits.Reference, $"no analysis for profile '{set.Profile}'"),
        };
    }

    private static string AlgorithmVersionOf(string profile) => profile switch
    {
        CtWaterAnalysis.Profile => CtWaterAnalysis.AlgorithmVersion,
        CtMtfAnalysis.Profile => CtMtfAnalysis.AlgorithmVersion,
        DrUniformity.Profile => DrUniformity.AlgorithmVersion,
        DrDark.Profile => DrDark.AlgorithmVersion,
        DrSignalTransfer.Profile => DrSignalTransfer.AlgorithmVersion,
        DrLag.Profile => DrLag.AlgorithmVersion,
        MrUniform.Profile => MrUniform.AlgorithmVersion,
        _ => AlgorithmVersion,
    };

    private static List<RoutedSet> RouteAuto(List<AnalysisImage> images)
    {
        var sets = new List<RoutedSet>();
        // A series has one modality; a hand-made set may not, so each modality is routed on its own.
        foreach (var group in images.GroupBy(i => i.Modality.Trim().ToUpperInvariant()))
        {
            var list = group.ToList();
            switch (group.Key)
            {
                case "CT": sets.Add(new RoutedSet(CtWaterAnalysis.Profile, list)); break;
                case "MR": sets.AddRange(RouteMr(list)); break;
                case var m when DrModalities.Contains(m): sets.AddRange(RouteDr(list)); break;
                default:
                    sets.Add(new RoutedSet(Auto, list)
                    {
                        InconclusiveReason = group.Key.Length == 0
                            ? "no Modality: choose a profile with --profile"
                            : $"no QC profile for modality {group.Key} (profiles cover CT, DX/CR/RG and MR)",
                    });
                    break;
            }
        }
        return sets;
    }

    private static List<RoutedSet> RouteDr(List<AnalysisImage> images)
    {
        var sets = new List<RoutedSet>();
        var means = images.Select(MeanOf).ToArray();
        var sortedMeans = means.Where(double.IsFinite).Order().ToArray();
        double median = sortedMeans.Length > 0 ? sortedMeans[sortedMeans.Length / 2] : double.NaN;
        var flats = new List<AnalysisImage>();
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i];
            if (IsDark(image, means[i], median, images.Count)) { sets.Add(new RoutedSet(DrDark.Profile, [image])); continue; }
            if (HasCentralBlock(image))
            {
                // The lag pair: this image, then the next exposure, which must not itself carry the block.
                if (i + 1 < images.Count && !HasCentralBlock(images[i + 1]) && !IsDark(images[i + 1], means[i + 1], median, images.Count))
                {
                    sets.Add(new RoutedSet(DrLag.Profile, [image, images[i + 1]]));
                    i++;
                }
                else
                {
                    sets.Add(new RoutedSet(DrLag.Profile, [image])
                    {
                        InconclusiveReason = "an image with an attenuator block is not followed by a flat exposure (lag pair incomplete)",
                    });
                }
                continue;
            }
            flats.Add(image);
        }

        var exposures = flats.Select(f => f.ExposureMas).Where(e => e is > 0).Select(e => Math.Round(e!.Value, 3)).Distinct().Count();
        if (flats.Count >= DrSignalTransfer.MinImages && exposures >= DrSignalTransfer.MinImages)
        {
            sets.Add(new RoutedSet(DrSignalTransfer.Profile, flats));
            // One uniformity result for the session: the image nearest the median exposure (the reference exposure
            // of a constancy session sits in the middle of the signal-transfer range).
            var withExposure = flats.Where(f => f.ExposureMas is > 0).ToList();
            var ordered = withExposure.Select(f => f.ExposureMas!.Value).Order().ToArray();
            double mid = ordered[(ordered.Length - 1) / 2];
            var reference = withExposure.MinBy(f => Math.Abs(f.ExposureMas!.Value - mid))!;
            sets.Add(new RoutedSet(DrUniformity.Profile, [reference]));
        }
        else
        {
            sets.AddRange(flats.Select(f => new RoutedSet(DrUniformity.Profile, [f])));
        }
        // Report in the order of the images, whatever test they belong to.
        return sets.OrderBy(s => images.IndexOf(s.Images[0])).ToList();
    }

    private static List<RoutedSet> RouteLag(List<AnalysisImage> images)
    {
        for (int i = 0; i + 1 < images.Count; i++)
            if (HasCentralBlock(images[i])) return [new RoutedSet(DrLag.Profile, [images[i], images[i + 1]])];
        // No block found: take the images in order and let the analysis say what it finds.
        return [new RoutedSet(DrLag.Profile, images.Take(2).ToList())];
    }

    private static List<RoutedSet> RouteMr(List<AnalysisImage> images)
    {
        var sets = new List<RoutedSet>();
        foreach (var slice in images.GroupBy(i => i.SlicePosition is { } p && double.IsFinite(p) ? Math.Round(p, 2).ToString("R", CultureInfo.InvariantCulture) : ""))
        {
            var list = slice.ToList();
            if (slice.Key.Length == 0)
            {
                // Without a position two images cannot be known to show the same slice: each on its own.
                sets.AddRange(list.Select(i => new RoutedSet(MrUniform.Profile, [i])));
                continue;
            }
            for (int k = 0; k < list.Count; k += 2)
                sets.Add(new RoutedSet(MrUniform.Profile, k + 1 < list.Count ? [list[k], list[k + 1]] : [list[k]]));
        }
        return sets;
    }

    /// <summary>Stable order by Instance Number (images without one keep their place after those with one).</summary>
    private static List<AnalysisImage> InInstanceOrder(IReadOnlyList<AnalysisImage> images) =>
        images.Select((image, index) => (image, index))
            .OrderBy(p => p.image.InstanceNumber is null ? 1 : 0)
            .ThenBy(p => p.image.InstanceNumber ?? 0)
            .ThenBy(p => p.index)
            .Select(p => p.image)
            .ToList();

    private static bool IsDark(AnalysisImage image, double mean, double median, int count)
    {
        if (Hints(image, "DARK")) return true;
        if (image.ExposureMas is { } mas) return mas <= 0;
        // Exposure unknown: only a comparison with the other images of the set can tell.
        return count > 1 && double.IsFinite(mean) && median > 0 && mean < 0.1 * median;
    }

    private static bool Hints(AnalysisImage image, string word) =>
        (image.ImageType?.Contains(word, StringComparison.OrdinalIgnoreCase) ?? false)
        || (image.SeriesDescription?.Contains(word, StringComparison.OrdinalIgnoreCase) ?? false);

    /// <summary>A centred low-signal block (the lag test's attenuator): the mean of a central square of side min(W,H)/8
    /// below half the mean of squares of the same size at the four quadrant centres.</summary>
    internal static bool HasCentralBlock(AnalysisImage image)
    {
        int side = Math.Min(image.Width, image.Height) / 8;
        if (side < 2 || image.Pixels.Length < image.Width * image.Height) return false;
        double Square(double fx, double fy) =>
            RoiMath.Rectangle(image, (int)(fx * image.Width) - side / 2, (int)(fy * image.Height) - side / 2, side, side).Mean;
        double centre = Square(0.5, 0.5);
        double around = (Square(0.25, 0.25) + Square(0.75, 0.25) + Square(0.25, 0.75) + Square(0.75, 0.75)) / 4;
        return double.IsFinite(centre) && double.IsFinite(around) && around > 0 && centre < 0.5 * around;
    }

    private static double MeanOf(AnalysisImage image) =>
        RoiMath.Rectangle(image, 0, 0, image.Width, image.Height).Mean;
}
