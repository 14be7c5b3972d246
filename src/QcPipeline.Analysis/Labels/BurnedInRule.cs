using QcPipeline.Dicom;

namespace QcPipeline.Analysis.Labels;

/// <summary>Labels burned into the pixels cannot be verified from the header: Burned In Annotation (0028,0301) YES,
/// or a Secondary Capture SOP class (PS3.3 A.8), which is usually a screen grab with its text in the image.</summary>
public static class BurnedInRule
{
    private const string SecondaryCaptureRoot = "1.2.840.10008.5.1.4.1.1.7";

    public static bool IsSecondaryCapture(string? sopClassUid) =>
        sopClassUid is not null && (sopClassUid == SecondaryCaptureRoot || sopClassUid.StartsWith(SecondaryCaptureRoot + ".", StringComparison.Ordinal));

    internal static void Check(SeriesHeaders series, FindingSink sink)
    {
        foreach (var h in series.Instances)
        {
            var ds = h.Dataset;
            string instance = FindingSink.InstanceName(h);
            string? burned = ds.GetString(DicomTags.BurnedInAnnotation);
            if (string.Equals(burned, "YES", StringComparison.OrdinalIgnoreCase))
            {
                sink.Fail("burned-in", FindingSeverity.Warning,
                    "图像含烧录标注（Burned In Annotation = YES），像素中的标识无法从文件头核查",
                    "labels may be burned into the pixels (Burned In Annotation = YES) and cannot be verified from the header",
                    DicomTags.BurnedInAnnotation, burned, instance);
            }
            else if (IsSecondaryCapture(ds.GetString(DicomTags.SOPClassUID)))
            {
                sink.Fail("burned-in", FindingSeverity.Warning,
                    "二次采集（Secondary Capture）图像，标识可能烧录在像素中，无法从文件头核查",
                    "Secondary Capture image: labels may be burned into the pixels and cannot be verified from the header",
                    DicomTags.SOPClassUID, ds.GetString(DicomTags.SOPClassUID), instance);
            }
            else sink.Pass();
        }
    }
}
