namespace QcPipeline.Phantoms;

/// <summary>Identification and equipment attributes written into every image of a set. Text is written in
/// UTF-8 (Specific Character Set ISO_IR 192), so Chinese institution names are fine.</summary>
public sealed record PhantomHeader
{
    public string PatientName { get; init; } = "QC^WATER";
    public string PatientId { get; init; } = "QC-PHANTOM";
    public string StudyDescription { get; init; } = "QC CT water phantom";
    public string SeriesDescription { get; init; } = "Water phantom axial";
    public string InstitutionName { get; init; } = "北京协和医院 BJHR";
    public string StationName { get; init; } = "CT01";
    public string Manufacturer { get; init; } = "QcPipeline Simulated";
    public string ManufacturerModelName { get; init; } = "SimCT 64";
    public string DeviceSerialNumber { get; init; } = "SIM-0001";
    public string BodyPartExamined { get; init; } = "PHANTOM";
    public string AccessionNumber { get; init; } = "QC0001";
    public int SeriesNumber { get; init; } = 1;
    /// <summary>Study, series, acquisition and content date/time (fixed by default so output is reproducible).</summary>
    public DateTime StudyDateTime { get; init; } = new(2025, 1, 6, 8, 30, 0, DateTimeKind.Unspecified);
}
