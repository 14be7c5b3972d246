using Microsoft.EntityFrameworkCore;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Schedule;

/// <summary>One test of a device's test plan (an analysis profile and how often it must pass). A device without rows
/// has the defaults of its modality (<see cref="TestPlans.Defaults"/>); once it has rows, they are its plan.</summary>
public sealed class TestPlanRecord
{
    public long Id { get; set; }
    public long DeviceId { get; set; }
    /// <summary>An analysis profile (<c>ct-water</c>, <c>dr-uniformity</c>, …).</summary>
    public required string Test { get; set; }
    /// <summary>ISO 8601 period: <c>P1M</c>, <c>P6M</c>, <c>P1Y</c>, <c>P7D</c> (<see cref="TestPeriod"/>).</summary>
    public required string Frequency { get; set; }
    public bool Enabled { get; set; } = true;
    public required string UpdatedBy { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A phantom scan planned for a device on a day: served on the modality worklist until it is done or cancelled,
/// and tied to the series that comes back by its accession number.</summary>
public sealed class ScheduledScanRecord
{
    public const string Scheduled = "scheduled";
    public const string InProgress = "in-progress";
    public const string Done = "done";
    public const string Cancelled = "cancelled";

    public long Id { get; set; }
    public long DeviceId { get; set; }
    public required string Test { get; set; }
    /// <summary>Scheduled Procedure Step Start Date/Time: the scanner's local (wall-clock) date and time, as DICOM DA/TM carry them.</summary>
    public DateOnly ScheduledDate { get; set; }
    public TimeOnly ScheduledTime { get; set; }
    /// <summary>Generated, unique, at most 16 characters (SH).</summary>
    public required string AccessionNumber { get; set; }
    public required string RequestedProcedureId { get; set; }
    public required string StudyInstanceUid { get; set; }
    public required string StationAeTitle { get; set; }
    public required string Modality { get; set; }
    public required string Status { get; set; }
    public long? ResultId { get; set; }
    public required string CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>The schedule's part of the results model (called from <see cref="ResultsDbContext"/>).</summary>
public static class ScheduleModel
{
    public static void Configure(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.Entity<TestPlanRecord>(e =>
        {
            e.ToTable("TestPlans");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.DeviceId, x.Test }).IsUnique();
            e.HasOne<DeviceRecord>().WithMany().HasForeignKey(x => x.DeviceId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.Test).HasMaxLength(32);
            e.Property(x => x.Frequency).HasMaxLength(16);
            e.Property(x => x.UpdatedBy).HasMaxLength(128);
        });
        modelBuilder.Entity<ScheduledScanRecord>(e =>
        {
            e.ToTable("ScheduledScans");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.AccessionNumber).IsUnique();
            e.HasIndex(x => new { x.Status, x.ScheduledDate });
            e.HasIndex(x => new { x.DeviceId, x.ScheduledDate });
            e.HasOne<DeviceRecord>().WithMany().HasForeignKey(x => x.DeviceId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<ResultRecord>().WithMany().HasForeignKey(x => x.ResultId).OnDelete(DeleteBehavior.Restrict);
            e.Property(x => x.Test).HasMaxLength(32);
            e.Property(x => x.AccessionNumber).HasMaxLength(16);
            e.Property(x => x.RequestedProcedureId).HasMaxLength(16);
            e.Property(x => x.StudyInstanceUid).HasMaxLength(64);
            e.Property(x => x.StationAeTitle).HasMaxLength(16);
            e.Property(x => x.Modality).HasMaxLength(16);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.CreatedBy).HasMaxLength(128);
        });
    }
}
