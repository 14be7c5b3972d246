namespace QcPipeline.Dicom.IO;

/// <summary>Our implementation identity (PS3.7 D.3.3.2): written into File Meta and association negotiation.</summary>
public static class DicomImplementation
{
    /// <summary>A UUID-derived UID (PS3.5 §B.2) that identifies QcPipeline's DICOM toolkit.</summary>
    public const string ClassUid = "2.25.190213993445201362575953189133092366817";

    /// <summary>At most 16 characters (SH).</summary>
    public const string VersionName = "QCPIPE_010";
}
