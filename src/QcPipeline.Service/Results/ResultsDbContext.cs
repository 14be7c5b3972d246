using Microsoft.EntityFrameworkCore;
using QcPipeline.Service.Index;
using QcPipeline.Service.Schedule;

// Folder Results/ (DESIGN.md), namespace ResultsStore: a namespace named Results would shadow ASP.NET's static Results class
// (Results.Json, Results.Text) in every QcPipeline.Service namespace.
namespace QcPipeline.Service.ResultsStore;

/// <summary>A device that sent images: identified by DeviceSerialNumber, else StationName, else the calling AE title
/// (<see cref="Key"/>), registered when first seen; display name, site and limits are edited afterwards.</summary>
public sealed class DeviceRecord
{
    public long Id { get; set; }
    /// <summary><c>serial:{DeviceSerialNumber}</c>, <c>station:{StationName}</c> or <c>ae:{CallingAE}</c>; unique.</summary>
    public required string Key { get; set; }
    public string? DeviceSerialNumber { get; set; }
    public string? StationName { get; set; }
    public string? CallingAe { get; set; }
    public string? Manufacturer { get; set; }
    public string? ManufacturerModelName { get; set; }
    public string? Modality { get; set; }
    public string? InstitutionName { get; set; }
    /// <summary>Editable: what people call it ("CT 2, east wing").</summary>
    public string? DisplayName { get; set; }
    public string? Site { get; set; }
    /// <summary>Editable: a limit-set override for this device (JSON, the format of <c>qc analyze --limits</c>).</summary>
    public string? LimitsJson { get; set; }
    public DateTimeOffset FirstSeenAt { get; set; }
    public DateTimeOffset LastSeenAt { get; set; }
}

/// <summary>One analysis of one series with one profile: append-only (a re-analysis adds a row). At most one row per
/// series, profile, algorithm version and claim: a redelivered AnalyzeSeries cannot add a second.</summary>
public sealed class ResultRecord
{
    public long Id { get; set; }
    public Guid ClaimId { get; set; }
    public required string StudyInstanceUid { get; set; }
    public required string SeriesInstanceUid { get; set; }
    public long DeviceId { get; set; }
    public required string Profile { get; set; }
    public required string AlgorithmVersion { get; set; }
    /// <summary>pass, fail or inconclusive.</summary>
    public required string Verdict { get; set; }
    public string? InconclusiveReason { get; set; }
    public required string LimitSetId { get; set; }
    public int LimitSetVersion { get; set; }
    public int InstanceCount { get; set; }
    /// <summary>Why it ran: quiet (the series went quiet), reanalyze (asked for).</summary>
    public required string Reason { get; set; }
    public DateTimeOffset AnalyzedAt { get; set; }
    public double DurationMs { get; set; }
    /// <summary>The process that analysed it (host/pid, as <c>ClaimedBy</c> of the series claim); null for rows written before
    /// this column existed.</summary>
    public string? Worker { get; set; }
    /// <summary>The whole result as the analysis returned it (metrics per image, warnings, ROI geometry), JSON.</summary>
    public required string Json { get; set; }
    /// <summary>The analysed images in set order, JSON <c>[{"sopInstanceUid":..,"frame":0},..]</c> (an ROI's frame indexes
    /// it), so the overlay of a result can be drawn on the right image; null for results kept before it was recorded.</summary>
    public string? ImagesJson { get; set; }
    public List<ResultMetricRecord> Metrics { get; set; } = [];
}

/// <summary>A series-level metric of a result, one row each, for trends and alerts.</summary>
public sealed class ResultMetricRecord
{
    public long Id { get; set; }
    public long ResultId { get; set; }
    public required string Name { get; set; }
    public double? Value { get; set; }
    public required string Unit { get; set; }
    public double? LimitMin { get; set; }
    public double? LimitMax { get; set; }
    public required string Verdict { get; set; }
}

/// <summary>A label or integrity finding of a series check (a check run adds rows under its claim).</summary>
public sealed class LabelFindingRecord
{
    public long Id { get; set; }
    public Guid ClaimId { get; set; }
    public required string SeriesInstanceUid { get; set; }
    public long DeviceId { get; set; }
    public required string RuleId { get; set; }
    /// <summary>info, warning or error.</summary>
    public required string Severity { get; set; }
    public required string MessageEn { get; set; }
    public required string MessageZh { get; set; }
    public string? Keyword { get; set; }
    public int InstanceCount { get; set; }
    public string? FirstInstance { get; set; }
    public DateTimeOffset At { get; set; }
}

/// <summary>One label and integrity check of a series (every series gets one per claim, with or without findings): the
/// denominator of label compliance. Findings are in <see cref="LabelFindingRecord"/> under the same claim.</summary>
public sealed class SeriesCheckRecord
{
    public long Id { get; set; }
    public Guid ClaimId { get; set; }
    public required string SeriesInstanceUid { get; set; }
    public long DeviceId { get; set; }
    public DateTimeOffset At { get; set; }
    /// <summary>Instances checked.</summary>
    public int InstanceCount { get; set; }
    /// <summary>Findings by severity; a series is compliant when it has no error.</summary>
    public int Errors { get; set; }
    public int Warnings { get; set; }
}

/// <summary>Who changed what, and when (device edits, limit changes, re-analysis requests). Append-only.</summary>
public sealed class AuditRecord
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    /// <summary>The API key name or JWT subject; "system" for the service itself.</summary>
    public required string Actor { get; set; }
    public required string Action { get; set; }
    public required string Entity { get; set; }
    public required string EntityKey { get; set; }
    /// <summary>JSON: what changed (old and new values).</summary>
    public string? Detail { get; set; }
}

/// <summary>The results store: devices, results and their metrics, label findings, the audit log. Same database as the
/// ingest index (its own migrations and history table), one subclass per provider as for the index.</summary>
public abstract class ResultsDbContext(DbContextOptions options) : DbContext(options)
{
    public const string HistoryTable = "__ResultsMigrationsHistory";

    public DbSet<DeviceRecord> Devices => Set<DeviceRecord>();
    public DbSet<ResultRecord> Results => Set<ResultRecord>();
    public DbSet<ResultMetricRecord> ResultMetrics => Set<ResultMetricRecord>();
    public DbSet<LabelFindingRecord> LabelFindings => Set<LabelFindingRecord>();
    public DbSet<AuditRecord> Audit => Set<AuditRecord>();
    public DbSet<SeriesCheckRecord> SeriesChecks => Set<SeriesCheckRecord>();
    public DbSet<TestPlanRecord> TestPlans => Set<TestPlanRecord>();
    public DbSet<ScheduledScanRecord> ScheduledScans => Set<ScheduledScanRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<DeviceRecord>(e =>
        {
            e.ToTable("Devices");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.Key).IsUnique();
            e.Property(x => x.Key).HasMaxLength(200);
            foreach (var p in new[] { nameof(DeviceRecord.DeviceSerialNumber), nameof(DeviceRecord.StationName), nameof(DeviceRecord.Manufacturer),
                         nameof(DeviceRecord.ManufacturerModelName), nameof(DeviceRecord.InstitutionName), nameof(DeviceRecord.DisplayName), nameof(DeviceRecord.Site) })
                e.Property(p).HasMaxLength(200);
            e.Property(x => x.CallingAe).HasMaxLength(16);
            e.Property(x => x.Modality).HasMaxLength(16);
        });
        modelBuilder.Entity<ResultRecord>(e =>
        {
            e.ToTable("Results");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.SeriesInstanceUid, x.Profile, x.AlgorithmVersion, x.ClaimId }).IsUnique();
            e.HasIndex(x => new { x.DeviceId, x.Profile, x.AnalyzedAt });
            e.HasOne<DeviceRecord>().WithMany().HasForeignKey(x => x.DeviceId).OnDelete(DeleteBehavior.Restrict);
            e.HasMany(x => x.Metrics).WithOne().HasForeignKey(m => m.ResultId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.StudyInstanceUid).HasMaxLength(64);
            e.Property(x => x.SeriesInstanceUid).HasMaxLength(64);
            e.Property(x => x.Profile).HasMaxLength(32);
            e.Property(x => x.AlgorithmVersion).HasMaxLength(64);
            e.Property(x => x.Verdict).HasMaxLength(16);
            e.Property(x => x.InconclusiveReason).HasMaxLength(500);
            e.Property(x => x.LimitSetId).HasMaxLength(100);
            e.Property(x => x.Reason).HasMaxLength(32);
            e.Property(x => x.Worker).HasMaxLength(100);
        });
        modelBuilder.Entity<ResultMetricRecord>(e =>
        {
            e.ToTable("ResultMetrics");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.ResultId, x.Name });
            e.Property(x => x.Name).HasMaxLength(64);
            e.Property(x => x.Unit).HasMaxLength(16);
            e.Property(x => x.Verdict).HasMaxLength(16);
        });
        modelBuilder.Entity<LabelFindingRecord>(e =>
        {
            e.ToTable("LabelFindings");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.SeriesInstanceUid, x.ClaimId });
            e.HasIndex(x => new { x.DeviceId, x.At });
            e.HasOne<DeviceRecord>().WithMany().HasForeignKey(x => x.DeviceId).OnDelete(DeleteBehavior.Restrict);
            e.Property(x => x.SeriesInstanceUid).HasMaxLength(64);
            e.Property(x => x.RuleId).HasMaxLength(64);
            e.Property(x => x.Severity).HasMaxLength(16);
            e.Property(x => x.MessageEn).HasMaxLength(1000);
            e.Property(x => x.MessageZh).HasMaxLength(1000);
            e.Property(x => x.Keyword).HasMaxLength(64);
            e.Property(x => x.FirstInstance).HasMaxLength(64);
        });
        modelBuilder.Entity<SeriesCheckRecord>(e =>
        {
            e.ToTable("SeriesChecks");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.SeriesInstanceUid, x.ClaimId }).IsUnique();
            e.HasIndex(x => new { x.DeviceId, x.At });
            e.HasOne<DeviceRecord>().WithMany().HasForeignKey(x => x.DeviceId).OnDelete(DeleteBehavior.Restrict);
            e.Property(x => x.SeriesInstanceUid).HasMaxLength(64);
        });
        modelBuilder.Entity<AuditRecord>(e =>
        {
            e.ToTable("Audit");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.Entity, x.EntityKey, x.At });
            e.Property(x => x.Actor).HasMaxLength(128);
            e.Property(x => x.Action).HasMaxLength(64);
            e.Property(x => x.Entity).HasMaxLength(64);
            e.Property(x => x.EntityKey).HasMaxLength(200);
        });
        ScheduleModel.Configure(modelBuilder);
    }
}

public sealed class SqliteResultsDbContext(DbContextOptions<SqliteResultsDbContext> options) : ResultsDbContext(options)
{
    /// <summary>SQLite has no date type, and EF Core cannot compare or order DateTimeOffset stored as text: stored as UTC
    /// ticks (an integer) here, so period queries (trends, reports) run in the database.</summary>
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
    }
}

public sealed class PostgresResultsDbContext(DbContextOptions<PostgresResultsDbContext> options) : ResultsDbContext(options);
