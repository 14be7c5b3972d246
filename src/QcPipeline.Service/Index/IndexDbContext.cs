using Microsoft.EntityFrameworkCore;
using QcPipeline.Service.Bus;

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

/// <summary>Append-only history of what happened to instances beyond the first store (today: replacements); rows older than
/// <c>Retention:IngestEvents</c> are deleted.</summary>
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

/// <summary>A message to publish, written in the same transaction as the change it announces (transactional outbox): a
/// broker outage delays it, nothing loses it. <see cref="OutboxDispatcher"/> publishes rows in id order and stamps
/// <see cref="DispatchedAt"/>; dispatched rows are deleted after <c>Pipeline:OutboxRetention</c>.</summary>
public sealed class OutboxRecord
{
    public long Id { get; set; }
    /// <summary>The contract's name (<c>InstanceStored</c>, <c>AnalyzeSeries</c>).</summary>
    public required string MessageType { get; set; }
    /// <summary>The message as JSON (UIDs and paths, never patient values).</summary>
    public required string Payload { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? DispatchedAt { get; set; }
    public int Attempts { get; set; }
    /// <summary>The last publish failure: the exception type only (short, no message content).</summary>
    public string? LastError { get; set; }
}

/// <summary>Series assembly: one row per series, upserted with every index commit of one of its instances. The sweeper
/// claims series quiet for <c>Pipeline:QuietPeriod</c> (open → claimed, with a new <see cref="ClaimId"/> and an
/// AnalyzeSeries outbox row); the worker marks the claim analyzed, with its kind (<see cref="IsQc"/>) and time; retention
/// deletes the instances of an analysed series after its period and marks it purged; a new instance re-opens the series
/// (a purged one too: it starts again from that instance).</summary>
public sealed class SeriesRecord
{
    public const string Open = "open", Claimed = "claimed", Analyzed = "analyzed", Purged = "purged";

    public long Id { get; set; }
    public required string SeriesInstanceUid { get; set; }
    public required string StudyInstanceUid { get; set; }
    public string? Modality { get; set; }
    /// <summary>Instances inserted into the series (replacements do not count).</summary>
    public int InstanceCount { get; set; }
    public DateTimeOffset FirstInstanceAt { get; set; }
    /// <summary>Commit time of the newest instance (or replacement) of the series.</summary>
    public DateTimeOffset LastInstanceAt { get; set; }
    /// <summary><see cref="Open"/>, <see cref="Claimed"/>, <see cref="Analyzed"/> or <see cref="Purged"/>.</summary>
    public required string State { get; set; }
    public Guid? ClaimId { get; set; }
    public DateTimeOffset? ClaimedAt { get; set; }
    /// <summary>The process that claimed it (host name and process id).</summary>
    public string? ClaimedBy { get; set; }
    /// <summary>Incremented by every change (optimistic concurrency token).</summary>
    public int Version { get; set; }

    /// <summary>Whether the last finished analysis routed the series to phantom analyses (a QC series); null until a worker
    /// of a version that records it has finished the series. Retention keeps QC and other images for different periods.</summary>
    public bool? IsQc { get; set; }

    /// <summary>When a worker last finished the series (marked it analyzed); retention counts its periods from here.</summary>
    public DateTimeOffset? AnalyzedAt { get; set; }

    /// <summary>When retention last deleted the series' instances (state <see cref="Purged"/>; kept after a re-open).</summary>
    public DateTimeOffset? PurgedAt { get; set; }
}

/// <summary>The index. Each provider has its own subclass so that each has its own migrations
/// (<c>Index/Migrations/Sqlite</c>, <c>Index/Migrations/Postgres</c>); the model is the same.</summary>
public abstract class IndexDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<InstanceRecord> Instances => Set<InstanceRecord>();
    public DbSet<IngestEventRecord> IngestEvents => Set<IngestEventRecord>();
    public DbSet<OutboxRecord> Outbox => Set<OutboxRecord>();
    public DbSet<SeriesRecord> Series => Set<SeriesRecord>();

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
            e.Property(x => x.Client).HasMaxLength(Ingest.IngestRequest.ClientMaxLength);
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
        modelBuilder.Entity<OutboxRecord>(e =>
        {
            e.ToTable("Outbox");
            e.HasKey(x => x.Id);
            // The dispatcher's query (undispatched, in id order) and the retention clean-up (dispatched before a time).
            e.HasIndex(x => new { x.DispatchedAt, x.Id });
            e.Property(x => x.MessageType).HasMaxLength(64);
            e.Property(x => x.LastError).HasMaxLength(200);
        });
        modelBuilder.Entity<SeriesRecord>(e =>
        {
            e.ToTable("Series");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.SeriesInstanceUid).IsUnique();
            // The sweeper's query: open and quiet since a time; claimed since a time (timed-out claims).
            e.HasIndex(x => new { x.State, x.LastInstanceAt });
            e.HasIndex(x => x.ClaimId);
            // Retention's query: analysed series of one kind, finished before a time.
            e.HasIndex(x => new { x.State, x.IsQc, x.AnalyzedAt });
            e.Property(x => x.SeriesInstanceUid).HasMaxLength(64);
            e.Property(x => x.StudyInstanceUid).HasMaxLength(64);
            e.Property(x => x.Modality).HasMaxLength(16);
            e.Property(x => x.State).HasMaxLength(16);
            e.Property(x => x.ClaimedBy).HasMaxLength(128);
            e.Property(x => x.Version).IsConcurrencyToken();
        });
    }
}

public sealed class SqliteIndexDbContext(DbContextOptions<SqliteIndexDbContext> options) : IndexDbContext(options)
{
    /// <summary>SQLite has no date type: the outbox's and the series' times are UTC ticks (integers), so the sweeper and the
    /// dispatcher compare them in SQL. (The older Instances/IngestEvents columns keep EF's text form.)</summary>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        var ticks = new UtcTicksConverter();
        modelBuilder.Entity<OutboxRecord>(e =>
        {
            e.Property(x => x.CreatedAt).HasConversion(ticks);
            e.Property(x => x.DispatchedAt).HasConversion(ticks);
        });
        modelBuilder.Entity<SeriesRecord>(e =>
        {
            e.Property(x => x.FirstInstanceAt).HasConversion(ticks);
            e.Property(x => x.LastInstanceAt).HasConversion(ticks);
            e.Property(x => x.ClaimedAt).HasConversion(ticks);
            e.Property(x => x.AnalyzedAt).HasConversion(ticks);
            e.Property(x => x.PurgedAt).HasConversion(ticks);
        });
    }
}

public sealed class PostgresIndexDbContext(DbContextOptions<PostgresIndexDbContext> options) : IndexDbContext(options);

/// <summary>A time as UTC ticks (an integer) on SQLite, which has no date type and where EF Core cannot compare or order
/// DateTimeOffset stored as text; used by the index's outbox and series tables and by the results store.</summary>
internal sealed class UtcTicksConverter() : Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset, long>(
    v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
