using Microsoft.EntityFrameworkCore;

namespace QcPipeline.Service.Index;

/// <summary>One stored instance: the newest version of its SOP Instance UID.</summary>
public sealed class InstanceRecord
{
    public long Id { get; set; }
    public required string SopInstanceUid { get; set; }
    public required string SopClassUid { get; set; }
    public required string StudyInstanceUid { get; set; }
    public required string SeriesInstanceUid { get; set; }
    public string? Modality { get; set; }
    public required string TransferSyntaxUid { get; set; }
    /// <summary>Relative to the data folder, forward slashes.</summary>
    public required string Path { get; set; }
    public long Size { get; set; }
    /// <summary>SHA-256 (lower-case hex) of the data set bytes as received, without preamble and File Meta Information.</summary>
    public required string Sha256 { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    /// <summary>dimse, stow or reconcile.</summary>
    public required string Source { get; set; }
    public string? CallingAe { get; set; }
    /// <summary>1 for the first version; incremented by each replacement.</summary>
    public int Version { get; set; } = 1;

    /// <summary>Who sent it over HTTP (STOW-RS: the API key's name or JWT subject); null for DIMSE.</summary>
    public string? Client { get; set; }

    // Query attributes for QIDO-RS (PS3.18 §10.6), copied from the header at ingest and decoded with the data set's
    // Specific Character Set. Null in rows indexed before these columns existed until start-up reconciliation fills them.
    public string? PatientName { get; set; }
    public string? PatientId { get; set; }
    public string? PatientBirthDate { get; set; }
    public string? PatientSex { get; set; }
    public string? StudyDate { get; set; }
    public string? StudyTime { get; set; }
    public string? AccessionNumber { get; set; }
    public string? StudyId { get; set; }
    public string? StudyDescription { get; set; }
    public string? ReferringPhysicianName { get; set; }
    public string? SeriesDescription { get; set; }
    public int? SeriesNumber { get; set; }
    public string? StationName { get; set; }
    public string? PerformedProcedureStepStartDate { get; set; }
    public string? PerformedProcedureStepStartTime { get; set; }
    public int? InstanceNumber { get; set; }
    public int? Rows { get; set; }
    public int? Columns { get; set; }
    public int? BitsAllocated { get; set; }
    public int? NumberOfFrames { get; set; }
    /// <summary>True once the query attributes above were read from the file (false: a row from before they existed).</summary>
    public bool HasQueryAttributes { get; set; }
}

/// <summary>Append-only history of what happened to instances beyond the first store (today: replacements).</summary>
public sealed class IngestEventRecord
{
    public long Id { get; set; }
    public required string SopInstanceUid { get; set; }
    public required string Kind { get; set; }
    public string? OldSha256 { get; set; }
    public string? NewSha256 { get; set; }
    public DateTimeOffset At { get; set; }
    public string? Source { get; set; }
    public string? CallingAe { get; set; }
}

/// <summary>The index. Each provider has its own subclass so that each has its own migrations
/// (<c>Index/Migrations/Sqlite</c>, <c>Index/Migrations/Postgres</c>); the model is the same.</summary>
public abstract class IndexDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<InstanceRecord> Instances => Set<InstanceRecord>();
    public DbSet<IngestEventRecord> IngestEvents => Set<IngestEventRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<InstanceRecord>(e =>
        {
            e.ToTable("Instances");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.SopInstanceUid).IsUnique();
            e.HasIndex(x => new { x.StudyInstanceUid, x.SeriesInstanceUid });
            e.Property(x => x.SopInstanceUid).HasMaxLength(64);
            e.Property(x => x.SopClassUid).HasMaxLength(64);
            e.Property(x => x.StudyInstanceUid).HasMaxLength(64);
            e.Property(x => x.SeriesInstanceUid).HasMaxLength(64);
            e.Property(x => x.Modality).HasMaxLength(16);
            e.Property(x => x.TransferSyntaxUid).HasMaxLength(64);
            e.Property(x => x.Path).HasMaxLength(300);
            e.Property(x => x.Sha256).HasMaxLength(64);
            e.Property(x => x.Source).HasMaxLength(16);
            e.Property(x => x.CallingAe).HasMaxLength(16);
            e.Property(x => x.Client).HasMaxLength(128);
            foreach (var (name, max) in IndexAttributes.MaxLengths) e.Property(name).HasMaxLength(max);
            // The searched keys (QIDO-RS): study, then series level.
            e.HasIndex(x => x.StudyDate);
            e.HasIndex(x => x.PatientId);
            e.HasIndex(x => x.PatientName);
            e.HasIndex(x => x.AccessionNumber);
            e.HasIndex(x => x.Modality);
            e.HasIndex(x => x.StationName);
            e.HasIndex(x => x.SeriesInstanceUid);
        });
        modelBuilder.Entity<IngestEventRecord>(e =>
        {
            e.ToTable("IngestEvents");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.SopInstanceUid);
            e.Property(x => x.SopInstanceUid).HasMaxLength(64);
            e.Property(x => x.Kind).HasMaxLength(32);
            e.Property(x => x.OldSha256).HasMaxLength(64);
            e.Property(x => x.NewSha256).HasMaxLength(64);
            e.Property(x => x.Source).HasMaxLength(16);
            e.Property(x => x.CallingAe).HasMaxLength(16);
        });
    }
}

public sealed class SqliteIndexDbContext(DbContextOptions<SqliteIndexDbContext> options) : IndexDbContext(options);

public sealed class PostgresIndexDbContext(DbContextOptions<PostgresIndexDbContext> options) : IndexDbContext(options);
