using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;

namespace QcPipeline.Analysis;

/// <summary>One image as the analyses see it: modality values (HU for CT; MONOCHROME1 already inverted to
/// MONOCHROME2 sense; padding pixels NaN) with the geometry and acquisition attributes the analyses use.
/// Built from a dataset by <see cref="FromDicom"/>; analyses never touch files.</summary>
public sealed record AnalysisImage
{
    public required int Width { get; init; }
    public required int Height { get; init; }
    /// <summary>Row-major, Width × Height.</summary>
    public required float[] Pixels { get; init; }
    /// <summary>Column spacing (x) and row spacing (y) in mm; null when the image has no spacing attribute.</summary>
    public double? PixelSpacingX { get; init; }
    public double? PixelSpacingY { get; init; }
    public string Modality { get; init; } = "";
    public string? SopClassUid { get; init; }
    public string? SopInstanceUid { get; init; }
    public string? SeriesInstanceUid { get; init; }
    public int? InstanceNumber { get; init; }
    /// <summary>Position along the slice normal (mm), from Image Position/Orientation (Patient), else Slice Location.</summary>
    public double? SlicePosition { get; init; }
    public double? SliceThickness { get; init; }
    public double? Kvp { get; init; }
    /// <summary>Exposure in mAs: (0018,1153) µAs / 1000, else (0018,1152), else tube current × exposure time.</summary>
    public double? ExposureMas { get; init; }
    public double? MagneticFieldStrength { get; init; }
    /// <summary>(0008,0068) FOR PROCESSING or FOR PRESENTATION (DX), or null.</summary>
    public string? PresentationIntentType { get; init; }
    public string PhotometricInterpretation { get; init; } = "MONOCHROME2";
    public bool IsLossy { get; init; }
    public string? ImageType { get; init; }
    public string? SeriesDescription { get; init; }

    public float this[int x, int y] => Pixels[y * Width + x];

    /// <summary>Presentation Intent Type decides when present; else the SOP Class: the DX, mammography and intra-oral
    /// "For Presentation" classes (…1.1.1.1, …1.1.1.2, …1.1.1.3; their "For Processing" twins append ".1", PS3.4 §B.5).</summary>
    public bool IsForPresentation =>
        PresentationIntentType is { Length: > 0 } intent
            ? string.Equals(intent.Trim(), "FOR PRESENTATION", StringComparison.OrdinalIgnoreCase)
            : SopClassUid is DicomUids.DigitalXRayImageStorageForPresentation or DicomUids.DigitalMammographyXRayImageStorageForPresentation
                or DicomUids.DigitalIntraOralXRayImageStorageForPresentation;

    /// <summary>Builds the image from a dataset (decoding compressed pixel data through the toolkit's codecs).</summary>
    /// <exception cref="DicomPixelDataException">no usable pixel data</exception>
    /// <exception cref="NotSupportedException">pixel data in a syntax we cannot decode</exception>
    public static AnalysisImage FromDicom(DicomFile file, int frame = 0) => FromDicom(file, frame, null);

    /// <summary>As <see cref="FromDicom(DicomFile, int)"/>, with the pixel array from <paramref name="pool"/> (its exact
    /// length, Rows × Columns): the caller returns it to the pool once the image is no longer used.</summary>
    public static AnalysisImage FromDicom(DicomFile file, int frame, FrameBufferPool? pool)
    {
        ArgumentNullException.ThrowIfNull(file);
        var ds = file.Dataset;
        var pixels = DicomPixelData.Create(ds);
        int count = checked(pixels.Rows * pixels.Columns);
        var values = pool?.Rent(count) ?? new float[count];
        try
        {
            pixels.ReadModalityFrame(frame, file.TransferSyntax, values);
            return WithHeader(file, pixels, values);
        }
        catch
        {
            // Whatever fails after the rent (the frame, or a malformed attribute read) gives the array back.
            pool?.Return(values);
            throw;
        }
    }

    /// <summary>The image around decoded <paramref name="values"/>: size, geometry and acquisition attributes.</summary>
    private static AnalysisImage WithHeader(DicomFile file, DicomPixelData pixels, float[] values)
    {
        var ds = file.Dataset;
        double? spacingY = null, spacingX = null;
        var spacing = ds.GetDoubles(DicomTags.PixelSpacing);
        if (spacing.Length < 2) spacing = ds.GetDoubles(DicomTags.ImagerPixelSpacing);
        if (spacing.Length >= 2 && spacing[0] > 0 && spacing[1] > 0) { spacingY = spacing[0]; spacingX = spacing[1]; }

        double? mas = null;
        if (ds.TryGetDouble(DicomTags.ExposureInuAs, out var uas)) mas = uas / 1000.0;
        else if (ds.TryGetDouble(DicomTags.ExposureInmAs, out var m)) mas = m;
        else if (ds.TryGetDouble(DicomTags.Exposure, out var e)) mas = e;
        else if (ds.TryGetDouble(DicomTags.XRayTubeCurrent, out var ma) && ds.TryGetDouble(DicomTags.ExposureTime, out var ms)) mas = ma * ms / 1000.0;

        return new AnalysisImage
        {
            Width = pixels.Columns,
            Height = pixels.Rows,
            Pixels = values,
            PixelSpacingX = spacingX,
            PixelSpacingY = spacingY,
            Modality = ds.GetStringOrEmpty(DicomTags.Modality),
            SopClassUid = ds.GetString(DicomTags.SOPClassUID),
            SopInstanceUid = ds.GetString(DicomTags.SOPInstanceUID),
            SeriesInstanceUid = ds.GetString(DicomTags.SeriesInstanceUID),
            InstanceNumber = ds.TryGetInt32(DicomTags.InstanceNumber, out var n) ? n : null,
            SlicePosition = SlicePositionOf(ds),
            SliceThickness = ds.TryGetDouble(DicomTags.SliceThickness, out var st) ? st : null,
            Kvp = ds.TryGetDouble(DicomTags.KVP, out var kvp) ? kvp : null,
            ExposureMas = mas,
            MagneticFieldStrength = ds.TryGetDouble(DicomTags.MagneticFieldStrength, out var b0) ? b0 : null,
            PresentationIntentType = ds.GetString(DicomTags.PresentationIntentType),
            PhotometricInterpretation = pixels.PhotometricInterpretation,
            IsLossy = file.TransferSyntax.IsLossy || ds.GetString(DicomTags.LossyImageCompression) == "01",
            ImageType = ds.GetString(DicomTags.ImageType),
            SeriesDescription = ds.GetString(DicomTags.SeriesDescription),
        };
    }

    /// <summary>Projection of Image Position (Patient) on the normal of Image Orientation (Patient) (PS3.3 C.7.6.2.1.1).</summary>
    public static double? SlicePositionOf(DicomDataset ds)
    {
        var ipp = ds.GetDoubles(DicomTags.ImagePositionPatient);
        var iop = ds.GetDoubles(DicomTags.ImageOrientationPatient);
        if (ipp.Length == 3 && iop.Length == 6)
        {
            double nx = iop[1] * iop[5] - iop[2] * iop[4];
            double ny = iop[2] * iop[3] - iop[0] * iop[5];
            double nz = iop[0] * iop[4] - iop[1] * iop[3];
            return ipp[0] * nx + ipp[1] * ny + ipp[2] * nz;
        }
        return ds.TryGetDouble(DicomTags.SliceLocation, out var sl) ? sl : null;
    }
}
