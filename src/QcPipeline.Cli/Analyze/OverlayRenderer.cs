using System.Globalization;
using QcPipeline.Overlays;
using SkiaSharp;

namespace QcPipeline.Cli.Analyze;

/// <summary>Writes the overlay PNGs of <c>qc analyze --overlay DIR</c>: the drawing is <see cref="RoiOverlay"/> (shared with
/// the service's results API); this class picks the images and the file names. File names come from the profile and the
/// SOP Instance UID (or the set and frame index), never from patient data.</summary>
public sealed class OverlayRenderer(string directory)
{
    /// <summary>The outline colour of every ROI (tests look for it).</summary>
    public static SKColor RoiColor => RoiOverlay.RoiColor;

    private readonly HashSet<string> _written = new(StringComparer.Ordinal);

    /// <summary>Writes the images of <paramref name="set"/> that carry ROIs (the first image when none does); returns the paths.</summary>
    public IReadOnlyList<string> Write(AnalyzedSet set, int setIndex)
    {
        var paths = new List<string>();
        var images = set.Set.Images;
        var frames = Enumerable.Range(0, images.Count).Where(f => set.Result.Rois.Any(r => r.Frame == f)).ToList();
        if (frames.Count == 0 && images.Count > 0) frames.Add(0);
        foreach (int f in frames)
        {
            var path = Path.Combine(directory, UniqueName(set, setIndex, f));
            using var data = RoiOverlay.Render(images[f], set.Result, f, images.Count);
            using var stream = File.Create(path);
            data.SaveTo(stream);
            paths.Add(path);
        }
        return paths;
    }

    private string UniqueName(AnalyzedSet set, int setIndex, int frame)
    {
        string stem = set.Set.Images[frame].SopInstanceUid is { Length: > 0 } sop && sop.All(c => char.IsAsciiDigit(c) || c == '.')
            ? $"{set.Result.Profile}_{sop}"
            : string.Create(CultureInfo.InvariantCulture, $"{set.Result.Profile}_set{setIndex + 1}_frame{frame}");
        string name = stem + ".png";
        for (int n = 2; !_written.Add(name); n++) name = string.Create(CultureInfo.InvariantCulture, $"{stem}_{n}.png");
        return name;
    }
}
