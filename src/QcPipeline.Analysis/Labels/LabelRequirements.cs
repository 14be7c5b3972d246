using System.Collections.Frozen;
using QcPipeline.Dicom;

namespace QcPipeline.Analysis.Labels;

/// <summary>One required image label (DB11 §5.2.1, STANDARDS.md §5) and the attributes that carry it. The label is
/// present when every tag of at least one alternative is present with a non-empty value.</summary>
public sealed record LabelRequirement(string Id, string NameZh, string NameEn, IReadOnlyList<DicomTag[]> Alternatives)
{
    public DicomTag[] AllTags { get; } = [.. Alternatives.SelectMany(a => a).Distinct()];
}

/// <summary>The label mapping per modality: CT, MR, and projection radiography (DX, CR, DR); other modalities get the
/// common labels only.</summary>
public static class LabelRequirements
{
    private static LabelRequirement L(string id, string zh, string en, params DicomTag[][] alternatives) => new(id, zh, en, alternatives);
    private static DicomTag[] T(params DicomTag[] tags) => tags;

    /// <summary>受检者基本信息、医院名称、设备名称、检查日期、检查时间、序列及图像序号.</summary>
    public static IReadOnlyList<LabelRequirement> Common { get; } =
    [
        L("patient.name", "姓名", "patient name", T(DicomTags.PatientName)),
        L("patient.sex", "性别", "patient sex", T(DicomTags.PatientSex)),
        L("patient.age", "年龄", "patient age", T(DicomTags.PatientAge)),
        L("patient.birth-date", "出生日期", "date of birth", T(DicomTags.PatientBirthDate)),
        L("patient.id", "受检者ID", "patient ID", T(DicomTags.PatientID)),
        L("institution", "医院名称", "hospital name", T(DicomTags.InstitutionName)),
        L("device", "设备名称", "device name", T(DicomTags.StationName), T(DicomTags.Manufacturer, DicomTags.ManufacturerModelName)),
        L("exam.date", "检查日期", "exam date", T(DicomTags.StudyDate), T(DicomTags.AcquisitionDate)),
        L("exam.time", "检查时间", "exam time", T(DicomTags.StudyTime), T(DicomTags.AcquisitionTime)),
        L("series.number", "序列号", "series number", T(DicomTags.SeriesNumber)),
        L("image.number", "图像序号", "image number", T(DicomTags.InstanceNumber)),
    ];

    private static readonly LabelRequirement PatientPosition = L("position", "体位标识", "patient position", T(DicomTags.PatientPosition));
    private static readonly LabelRequirement Orientation = L("orientation", "方位标识", "image orientation", T(DicomTags.ImageOrientationPatient));
    private static readonly LabelRequirement SliceThickness = L("param.slice-thickness", "层厚", "slice thickness", T(DicomTags.SliceThickness));
    private static readonly LabelRequirement Kvp = L("param.kvp", "管电压", "tube voltage (kVp)", T(DicomTags.KVP));

    public static IReadOnlyList<LabelRequirement> Ct { get; } =
    [
        .. Common, PatientPosition, Orientation, Kvp,
        L("param.tube-current", "管电流或mAs", "tube current or mAs", T(DicomTags.XRayTubeCurrent), T(DicomTags.Exposure)),
        SliceThickness,
        L("param.kernel", "重建算法", "reconstruction kernel", T(DicomTags.ConvolutionKernel)),
    ];

    public static IReadOnlyList<LabelRequirement> Mr { get; } =
    [
        .. Common, PatientPosition, Orientation,
        L("param.tr", "重复时间TR", "repetition time (TR)", T(DicomTags.RepetitionTime)),
        L("param.te", "回波时间TE", "echo time (TE)", T(DicomTags.EchoTime)),
        L("param.field-strength", "场强", "field strength", T(DicomTags.MagneticFieldStrength)),
        SliceThickness,
    ];

    public static IReadOnlyList<LabelRequirement> Projection { get; } =
    [
        .. Common,
        L("position", "体位标识", "view position", T(DicomTags.ViewPosition)),
        L("orientation", "方位标识", "patient orientation", T(DicomTags.PatientOrientation)),
        Kvp,
        L("param.mas", "mAs", "exposure (mAs)", T(DicomTags.Exposure), T(DicomTags.ExposureInuAs)),
        L("param.sid", "源像距SID", "source-image distance (SID)", T(DicomTags.DistanceSourceToDetector)),
    ];

    /// <summary>Left/right is required only where the examined part is paired (STANDARDS.md §5).</summary>
    public static LabelRequirement Laterality { get; } =
        L("laterality", "左右标识", "laterality", T(DicomTags.ImageLaterality), T(DicomTags.Laterality));

    /// <summary>Body Part Examined (0018,0015) terms of paired parts (PS3.16 CID 4031 spellings, plus a few common ones).</summary>
    public static FrozenSet<string> PairedBodyParts { get; } = new[]
    {
        "BREAST", "HAND", "FOOT", "KNEE", "ELBOW", "SHOULDER", "HIP", "WRIST", "ANKLE", "ARM", "LEG", "FOREARM", "HUMERUS",
        "FEMUR", "TIBIA", "FIBULA", "CLAVICLE", "SCAPULA", "FINGER", "TOE", "THUMB", "HEEL", "RADIUS", "ULNA", "UPPER LIMB",
        "LOWER LIMB", "UPRLIMB", "LWRLIMB", "EXTREMITY", "EAR", "EYE", "ORBIT", "KIDNEY", "TMJ", "SACROILIAC", "CALCANEUS", "PATELLA",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static bool IsProjection(string modality) => modality is "DX" or "CR" or "DR";

    public static IReadOnlyList<LabelRequirement> For(string modality) => modality.ToUpperInvariant() switch
    {
        "CT" => Ct,
        "MR" => Mr,
        var m when IsProjection(m) => Projection,
        _ => Common,
    };
}
