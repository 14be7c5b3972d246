using System.Text.Json;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Json;
using QcPipeline.Dicom.Network;
using QcPipeline.Dicom.Xml;

namespace QcPipeline.Service.DicomWeb;

/// <summary>The Store Instances Response Module (PS3.18 Annex I) of one STOW-RS request, built as the parts are handled.</summary>
internal sealed class StowResponse(string baseUrl, string? pathStudy)
{
    private readonly List<DicomDataset> _stored = [];
    private readonly List<DicomDataset> _failed = [];
    private string? _singleStudy;
    private bool _severalStudies;

    public int Stored => _stored.Count;
    public int Failed => _failed.Count;
    public int Warnings { get; private set; }
    public int Parts => Stored + Failed;

    /// <summary>{base}/dicom-web/studies/{study}/series/{series}/instances/{sop} (the Instance resource of PS3.18 §10.4).</summary>
    public string InstanceUrl(string study, string series, string sop) => $"{StudyUrl(study)}/series/{series}/instances/{sop}";

    public string StudyUrl(string study) => $"{baseUrl}{DicomWebEndpoints.Prefix}/studies/{study}";

    /// <summary>A stored instance; <paramref name="warning"/> is a Warning Reason (0008,1196) (PS3.18 Annex I.2.1) or null.</summary>
    public void AddStored(string sopClass, string sopInstance, string study, string series, ushort? warning)
    {
        var item = new DicomDataset();
        item.AddOrUpdate(DicomTags.ReferencedSOPClassUID, DicomVR.UI, sopClass);
        item.AddOrUpdate(DicomTags.ReferencedSOPInstanceUID, DicomVR.UI, sopInstance);
        item.AddOrUpdate(DicomTags.RetrieveURL, DicomVR.UR, InstanceUrl(study, series, sopInstance));
        if (warning is { } w)
        {
            item.AddOrUpdate<ushort>(DicomTags.WarningReason, DicomVR.US, w);
            Warnings++;
        }
        _stored.Add(item);
        if (_singleStudy is null) _singleStudy = study;
        else if (_singleStudy != study) _severalStudies = true;
    }

    /// <summary>A failed part. UIDs that could not be read (not DICOM, cut short, over the limit) are sent present but
    /// empty: PS3.18 Annex I has no form for an instance without UIDs, and an empty value says "unknown" honestly.</summary>
    public void AddFailed(string? sopClass, string? sopInstance, ushort reason)
    {
        var item = new DicomDataset();
        item.AddOrUpdate(DicomTags.ReferencedSOPClassUID, DicomVR.UI, Echo(sopClass));
        item.AddOrUpdate(DicomTags.ReferencedSOPInstanceUID, DicomVR.UI, Echo(sopInstance));
        item.AddOrUpdate<ushort>(DicomTags.FailureReason, DicomVR.US, reason);
        _failed.Add(item);
    }

    /// <summary>A UID as the sender wrote it, when it can be sent back as a UI value (at most 64 printable ASCII
    /// characters); anything else (a huge or binary value) is left out.</summary>
    private static string Echo(string? uid) =>
        uid is { Length: > 0 and <= 64 } && uid.All(c => c is >= ' ' and <= '~' and not '\\') ? uid : "";

    /// <summary>HTTP status of PS3.18 Table 10.5.3-1 from what happened to the parts.</summary>
    public int StatusCode => Stored == 0 ? StatusCodes.Status409Conflict
        : Failed > 0 || Warnings > 0 ? StatusCodes.Status202Accepted
        : StatusCodes.Status200OK;

    public DicomDataset ToDataset()
    {
        var ds = new DicomDataset();
        // Retrieve URL (0008,1190), type 2: the study's URL when the stored instances are of one study (always so with
        // /studies/{uid}); empty when nothing was stored or they span several studies.
        string? study = Stored == 0 ? null : pathStudy ?? (_severalStudies ? null : _singleStudy);
        ds.AddOrUpdate(DicomTags.RetrieveURL, DicomVR.UR, study is null ? "" : StudyUrl(study));
        if (_failed.Count > 0) ds.AddOrUpdate(new DicomSequence(DicomTags.FailedSOPSequence, _failed));
        if (_stored.Count > 0) ds.AddOrUpdate(new DicomSequence(DicomTags.ReferencedSOPSequence, _stored));
        return ds;
    }

    public byte[] Serialize(bool xml) => xml
        ? DicomXml.SerializeToUtf8Bytes(ToDataset())
        : DicomJson.SerializeToUtf8Bytes(ToDataset());

    /// <summary>A warning status of the ingest (Bxxx) is a Warning Reason; success has none.</summary>
    public static ushort? WarningOf(ushort status) => DicomStatus.Category(status) == "warning" ? status : null;
}
