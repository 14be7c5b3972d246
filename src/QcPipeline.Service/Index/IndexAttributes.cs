using QcPipeline.Dicom;

namespace QcPipeline.Service.Index;

/// <summary>The header values the index keeps for QIDO-RS (PS3.18 §10.6): what is searched and what the study, series
/// and instance results return (PS3.18 Tables 10.6.3-3 to -5). Text is decoded with the data set's Specific Character Set
/// (0008,0005), so a GB18030 or ISO 2022 name is stored (and returned) as Unicode.</summary>
public sealed record IndexAttributes
{
    public string? PatientName { get; init; }
    public string? PatientId { get; init; }
    public string? PatientBirthDate { get; init; }
    public string? PatientSex { get; init; }
    public string? StudyDate { get; init; }
    public string? StudyTime { get; init; }
    public string? AccessionNumber { get; init; }
    public string? StudyId { get; init; }
    public string? StudyDescription { get; init; }
    public string? ReferringPhysicianName { get; init; }
    public string? SeriesDescription { get; init; }
    public int? SeriesNumber { get; init; }
    public string? StationName { get; init; }
    public string? PerformedProcedureStepStartDate { get; init; }
    public string? PerformedProcedureStepStartTime { get; init; }
    public int? InstanceNumber { get; init; }
    public int? Rows { get; init; }
    public int? Columns { get; init; }
    public int? BitsAllocated { get; init; }
    public int? NumberOfFrames { get; init; }

    /// <summary>Column widths: the VR's maximum with room for multi-byte text (PN: three component groups). Longer
    /// (non-conformant) values are cut to fit, so a bad header never fails the index commit on PostgreSQL.</summary>
    internal static readonly (string Name, int Max)[] MaxLengths =
    [
        (nameof(PatientName), 400), (nameof(PatientId), 64), (nameof(PatientBirthDate), 16), (nameof(PatientSex), 16),
        (nameof(StudyDate), 16), (nameof(StudyTime), 32), (nameof(AccessionNumber), 64), (nameof(StudyId), 64),
        (nameof(StudyDescription), 128), (nameof(ReferringPhysicianName), 400), (nameof(SeriesDescription), 128),
        (nameof(StationName), 64), (nameof(PerformedProcedureStepStartDate), 16), (nameof(PerformedProcedureStepStartTime), 32),
    ];

    private static readonly Dictionary<string, int> Max = MaxLengths.ToDictionary(x => x.Name, x => x.Max, StringComparer.Ordinal);

    /// <summary>Reads the values from a header (top level only; a header-only read is enough).</summary>
    public static IndexAttributes From(DicomDataset ds)
    {
        ArgumentNullException.ThrowIfNull(ds);
        return new IndexAttributes
        {
            PatientName = Text(ds, DicomTags.PatientName, nameof(PatientName)),
            PatientId = Text(ds, DicomTags.PatientID, nameof(PatientId)),
            PatientBirthDate = Text(ds, DicomTags.PatientBirthDate, nameof(PatientBirthDate)),
            PatientSex = Text(ds, DicomTags.PatientSex, nameof(PatientSex)),
            StudyDate = Text(ds, DicomTags.StudyDate, nameof(StudyDate)),
            StudyTime = Text(ds, DicomTags.StudyTime, nameof(StudyTime)),
            AccessionNumber = Text(ds, DicomTags.AccessionNumber, nameof(AccessionNumber)),
            StudyId = Text(ds, DicomTags.StudyID, nameof(StudyId)),
            StudyDescription = Text(ds, DicomTags.StudyDescription, nameof(StudyDescription)),
            ReferringPhysicianName = Text(ds, DicomTags.ReferringPhysicianName, nameof(ReferringPhysicianName)),
            SeriesDescription = Text(ds, DicomTags.SeriesDescription, nameof(SeriesDescription)),
            SeriesNumber = Int(ds, DicomTags.SeriesNumber),
            StationName = Text(ds, DicomTags.StationName, nameof(StationName)),
            PerformedProcedureStepStartDate = Text(ds, DicomTags.PerformedProcedureStepStartDate, nameof(PerformedProcedureStepStartDate)),
            PerformedProcedureStepStartTime = Text(ds, DicomTags.PerformedProcedureStepStartTime, nameof(PerformedProcedureStepStartTime)),
            InstanceNumber = Int(ds, DicomTags.InstanceNumber),
            Rows = Int(ds, DicomTags.Rows),
            Columns = Int(ds, DicomTags.Columns),
            BitsAllocated = Int(ds, DicomTags.BitsAllocated),
            NumberOfFrames = Int(ds, DicomTags.NumberOfFrames),
        };
    }

    private static string? Text(DicomDataset ds, DicomTag tag, string column)
    {
        string? s;
        try { s = ds.GetString(tag); }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException) { return null; }
        if (string.IsNullOrEmpty(s)) return null;
        s = s.Replace("\0", "", StringComparison.Ordinal); // PostgreSQL text cannot hold NUL
        int max = Max[column];
        return s.Length <= max ? s : s[..max];
    }

    private static int? Int(DicomDataset ds, DicomTag tag) => ds.TryGetInt32(tag, out var v) ? v : null;

    /// <summary>Copies the values onto a row (insert or replacement) and marks it as having them.</summary>
    internal void ApplyTo(InstanceRecord r)
    {
        r.PatientName = PatientName; r.PatientId = PatientId; r.PatientBirthDate = PatientBirthDate; r.PatientSex = PatientSex;
        r.StudyDate = StudyDate; r.StudyTime = StudyTime; r.AccessionNumber = AccessionNumber; r.StudyId = StudyId;
        r.StudyDescription = StudyDescription; r.ReferringPhysicianName = ReferringPhysicianName; r.SeriesDescription = SeriesDescription;
        r.SeriesNumber = SeriesNumber; r.StationName = StationName; r.PerformedProcedureStepStartDate = PerformedProcedureStepStartDate;
        r.PerformedProcedureStepStartTime = PerformedProcedureStepStartTime; r.InstanceNumber = InstanceNumber; r.Rows = Rows;
        r.Columns = Columns; r.BitsAllocated = BitsAllocated; r.NumberOfFrames = NumberOfFrames;
        r.HasQueryAttributes = true;
    }

    /// <summary>Column names and values in a fixed order, for the raw INSERT of the group-commit writer.</summary>
    internal static readonly string[] ColumnNames =
    [
        "PatientName", "PatientId", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "AccessionNumber", "StudyId",
        "StudyDescription", "ReferringPhysicianName", "SeriesDescription", "SeriesNumber", "StationName",
        "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime", "InstanceNumber", "Rows", "Columns", "BitsAllocated", "NumberOfFrames",
    ];

    internal object?[] Values() =>
    [
        PatientName, PatientId, PatientBirthDate, PatientSex, StudyDate, StudyTime, AccessionNumber, StudyId,
        StudyDescription, ReferringPhysicianName, SeriesDescription, SeriesNumber, StationName,
        PerformedProcedureStepStartDate, PerformedProcedureStepStartTime, InstanceNumber, Rows, Columns, BitsAllocated, NumberOfFrames,
    ];
}
