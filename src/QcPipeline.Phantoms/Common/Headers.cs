using System.Globalization;
using QcPipeline.Dicom;

namespace QcPipeline.Phantoms.Common;

/// <summary>Writes the modules every generated image shares: SOP Common, Patient, General Study, General Series,
/// General Equipment, General Image and Image Pixel (PS3.3 C.7.1.1, C.7.2.1, C.7.3.1, C.7.5.1, C.7.6.1, C.7.6.3,
/// C.12.1).</summary>
internal static class Headers
{
    public static DicomDataset Start(PhantomHeader h, string sopClass, string sopInstance, string study, string series,
        string frameOfReference, string modality, int instanceNumber, int seconds)
    {
        var ds = new DicomDataset();
        // (0008,0005) first, so every text value after it is encoded in UTF-8 (PS3.5 §6.1.2.5.3).
        ds.AddOrUpdate(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 192");
        var t = h.StudyDateTime;
        var acq = t.AddSeconds(seconds);
        string Da(DateTime d) => d.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        string Tm(DateTime d) => d.ToString("HHmmss", CultureInfo.InvariantCulture);
        ds.AddOrUpdate(DicomTags.SOPClassUID, DicomVR.UI, sopClass);
        ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, sopInstance);
        ds.AddOrUpdate(DicomTags.StudyDate, DicomVR.DA, Da(t));
        ds.AddOrUpdate(DicomTags.SeriesDate, DicomVR.DA, Da(t));
        ds.AddOrUpdate(DicomTags.AcquisitionDate, DicomVR.DA, Da(acq));
        ds.AddOrUpdate(DicomTags.ContentDate, DicomVR.DA, Da(acq));
        ds.AddOrUpdate(DicomTags.StudyTime, DicomVR.TM, Tm(t));
        ds.AddOrUpdate(DicomTags.SeriesTime, DicomVR.TM, Tm(t));
        ds.AddOrUpdate(DicomTags.AcquisitionTime, DicomVR.TM, Tm(acq));
        ds.AddOrUpdate(DicomTags.ContentTime, DicomVR.TM, Tm(acq));
        ds.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, h.AccessionNumber);
        ds.AddOrUpdate(DicomTags.Modality, DicomVR.CS, modality);
        ds.AddOrUpdate(DicomTags.Manufacturer, DicomVR.LO, h.Manufacturer);
        ds.AddOrUpdate(DicomTags.InstitutionName, DicomVR.LO, h.InstitutionName);
        ds.AddOrUpdate(DicomTags.ReferringPhysicianName, DicomVR.PN, "");
        ds.AddOrUpdate(DicomTags.StationName, DicomVR.SH, h.StationName);
        ds.AddOrUpdate(DicomTags.StudyDescription, DicomVR.LO, h.StudyDescription);
        ds.AddOrUpdate(DicomTags.SeriesDescription, DicomVR.LO, h.SeriesDescription);
        ds.AddOrUpdate(DicomTags.ManufacturerModelName, DicomVR.LO, h.ManufacturerModelName);
        ds.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, h.PatientName);
        ds.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, h.PatientId);
        ds.AddOrUpdate(DicomTags.PatientBirthDate, DicomVR.DA, "");
        ds.AddOrUpdate(DicomTags.PatientSex, DicomVR.CS, "O");
        ds.AddOrUpdate(DicomTags.BodyPartExamined, DicomVR.CS, h.BodyPartExamined);
        ds.AddOrUpdate(DicomTags.DeviceSerialNumber, DicomVR.LO, h.DeviceSerialNumber);
        ds.AddOrUpdate(DicomTags.SoftwareVersions, DicomVR.LO, "QcPipeline.Phantoms " + PhantomManifest.CurrentGeneratorVersion);
        ds.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, study);
        ds.AddOrUpdate(DicomTags.SeriesInstanceUID, DicomVR.UI, series);
        ds.AddOrUpdate(DicomTags.StudyID, DicomVR.SH, "1");
        ds.AddOrUpdate(DicomTags.SeriesNumber, DicomVR.IS, h.SeriesNumber);
        ds.AddOrUpdate(DicomTags.AcquisitionNumber, DicomVR.IS, 1);
        ds.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, instanceNumber);
        if (frameOfReference.Length > 0)
        {
            ds.AddOrUpdate(DicomTags.FrameOfReferenceUID, DicomVR.UI, frameOfReference);
            ds.AddOrUpdate(DicomTags.PositionReferenceIndicator, DicomVR.LO, "");
        }
        return ds;
    }

    /// <summary>Image Pixel module for a single-sample 16-bit image. <paramref name="stored"/> are the stored values.</summary>
    public static void Pixels(DicomDataset ds, int rows, int columns, int bitsStored, bool signed, string photometric, int[] stored)
    {
        ds.AddOrUpdate(DicomTags.SamplesPerPixel, DicomVR.US, 1);
        ds.AddOrUpdate(DicomTags.PhotometricInterpretation, DicomVR.CS, photometric);
        ds.AddOrUpdate(DicomTags.Rows, DicomVR.US, rows);
        ds.AddOrUpdate(DicomTags.Columns, DicomVR.US, columns);
        ds.AddOrUpdate(DicomTags.BitsAllocated, DicomVR.US, 16);
        ds.AddOrUpdate(DicomTags.BitsStored, DicomVR.US, bitsStored);
        ds.AddOrUpdate(DicomTags.HighBit, DicomVR.US, bitsStored - 1);
        ds.AddOrUpdate(DicomTags.PixelRepresentation, DicomVR.US, signed ? 1 : 0);
        if (signed)
        {
            var s = new short[stored.Length];
            for (int i = 0; i < s.Length; i++) s[i] = (short)stored[i];
            ds.AddOrUpdate(DicomTags.PixelData, DicomVR.OW, s);
        }
        else
        {
            var u = new ushort[stored.Length];
            for (int i = 0; i < u.Length; i++) u[i] = (ushort)stored[i];
            ds.AddOrUpdate(DicomTags.PixelData, DicomVR.OW, u);
        }
    }

    /// <summary>Rounds to the nearest integer (halves away from zero) and clamps to [min, max].</summary>
    public static int Quantise(double v, int min, int max)
    {
        if (double.IsNaN(v)) return min;
        double r = Math.Round(v, MidpointRounding.AwayFromZero);
        return r < min ? min : r > max ? max : (int)r;
    }

    public static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
