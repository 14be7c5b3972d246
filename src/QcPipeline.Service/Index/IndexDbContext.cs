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
