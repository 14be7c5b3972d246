using QcPipeline.Dicom;

namespace QcPipeline.Service.Ingest;

/// <summary>The UIDs that may name folders and files in the instance store: the toolkit's PS3.5 §9.1 syntax check,
/// except that components with a leading zero (written by some devices) are accepted — refusing a phantom image over
/// that would help no one, and such a value is still only digits and dots, never a path trick ("..", "/", empty).</summary>
public static class UidRules
{
    public static bool IsValid(string? uid) => DicomUids.IsValidUid(uid, allowLeadingZeros: true);
}
