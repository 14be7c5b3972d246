using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Schedule;

/// <summary>Test plans, scheduled phantom scans and the modality worklist (configuration section <c>Schedule</c>).</summary>
public sealed record ScheduleOptions
{
    public const string Section = "Schedule";

    /// <summary>Serve the scheduled scans as a Modality Worklist (C-FIND SCP) on the DICOM port.</summary>
    public bool Worklist { get; init; } = true;

    /// <summary>Patient's Name of every worklist item: a phantom, never a person.</summary>
    public string PatientName { get; init; } = "QC^PHANTOM";

    /// <summary>Patient ID of a device's items: this prefix and the device id (one fixed phantom ID per device).</summary>
    public string PatientIdPrefix { get; init; } = "QCPHANTOM-";
}

internal sealed class ScheduleOptionsValidator : IValidateOptions<ScheduleOptions>
{
    public ValidateOptionsResult Validate(string? name, ScheduleOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.PatientName) || o.PatientName.Length > 64 || o.PatientName.Contains('\\', StringComparison.Ordinal) || o.PatientName.Any(char.IsControl))
            errors.Add($"{ScheduleOptions.Section}:PatientName must be 1-64 characters without a backslash or control characters");
        if (o.PatientIdPrefix is null || o.PatientIdPrefix.Length > 40 || o.PatientIdPrefix.Contains('\\', StringComparison.Ordinal) || o.PatientIdPrefix.Any(char.IsControl))
            errors.Add($"{ScheduleOptions.Section}:PatientIdPrefix must be at most 40 characters without a backslash or control characters");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
