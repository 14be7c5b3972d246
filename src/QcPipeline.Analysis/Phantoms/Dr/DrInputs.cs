namespace QcPipeline.Analysis.Phantoms.Dr;

/// <summary>Input checks shared by the DR analyses (STANDARDS.md §2): modality, usable pixels, processing state.</summary>
internal static class DrInputs
{
    /// <summary>Projection radiography modalities (PS3.3 C.7.3.1.1.1): DX, CR, RG; "DR" is not a defined term but
    /// some devices send it.</summary>
    private static readonly HashSet<string> Modalities = new(StringComparer.OrdinalIgnoreCase) { "DX", "CR", "RG", "DR" };

    /// <summary>Null when the image can be analysed, else the reason it cannot.</summary>
    public static string? Problem(AnalysisImage? image, string role)
    {
        if (image is null) return $"{role}: no image";
        if (image.Width <= 0 || image.Height <= 0 || image.Pixels is null || image.Pixels.Length < (long)image.Width * image.Height)
            return $"{role}: empty image (no pixels)";
        if (!string.IsNullOrEmpty(image.Modality) && !Modalities.Contains(image.Modality))
            return $"{role}: wrong modality {image.Modality} (DR analyses need DX, CR or RG)";
        if (AllNaN(image))
            return $"{role}: no valid pixels (all padding)";
        return null;
    }

    private static bool AllNaN(AnalysisImage image)
    {
        foreach (var v in image.Pixels.AsSpan(0, image.Width * image.Height)) if (!float.IsNaN(v)) return false;
        return true;
    }

    /// <summary>Warnings about the processing state of the images: QC needs raw ("For Processing") data, and lossy
    /// compression changes pixel values.</summary>
    public static void AddInputWarnings(IReadOnlyList<AnalysisImage> images, List<string> warnings)
    {
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i];
            string which = images.Count == 1 ? "the image" : $"image {i}";
            if (image.IsForPresentation)
                warnings.Add($"{which} is For Presentation (processed images: use For Processing for QC)");
            if (image.IsLossy)
                warnings.Add($"{which} was lossy compressed: pixel values are altered, QC values are indicative only");
            if (string.IsNullOrEmpty(image.Modality))
                warnings.Add($"{which} has no Modality; assumed to be DR");
        }
    }

    /// <summary>A square of side <paramref name="side"/> centred on (cx, cy), as pixel indices.</summary>
    public static (int X, int Y) SquareAt(double cx, double cy, int side) =>
        ((int)Math.Round(cx - side / 2.0, MidpointRounding.AwayFromZero), (int)Math.Round(cy - side / 2.0, MidpointRounding.AwayFromZero));

    /// <summary>The drawable geometry of the pixel-index rectangle [x, x+w) × [y, y+h): pixel centres are integer
    /// coordinates, so the rectangle's outline lies half a pixel outside them.</summary>
    public static RectangleRoi Rect(string label, int frame, int x, int y, int w, int h) => new(label, frame, x - 0.5, y - 0.5, w, h);

    /// <summary>The side of the default central square ROI: <paramref name="fraction"/> of the shorter image side.</summary>
    public static int RoiSide(AnalysisImage image, double fraction) =>
        Math.Max(1, (int)Math.Round(Math.Clamp(fraction, 0, 1) * Math.Min(image.Width, image.Height), MidpointRounding.AwayFromZero));

    /// <summary>Smallest ROI side (pixels) we measure on: below this a mean is one or a few noisy pixels.</summary>
    public const int MinRoiSide = 4;
}
