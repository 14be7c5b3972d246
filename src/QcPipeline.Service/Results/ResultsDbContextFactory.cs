using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Index;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.ResultsStore;

/// <summary>Creates the provider's results context on the index's database (<see cref="DatabaseOptions"/>).</summary>
public sealed class ResultsDbContextFactory : IDbContextFactory<ResultsDbContext>
{
    private readonly Func<ResultsDbContext> _create;

    public ResultsDbContextFactory(IOptions<DatabaseOptions> options, StoragePaths paths)
    {
        var db = options.Value;
        Provider = db.Provider;
        if (db.Provider == DatabaseProvider.Postgres)
        {
            var o = new DbContextOptionsBuilder<PostgresResultsDbContext>()
                .UseNpgsql(db.ConnectionString, n => n.MigrationsHistoryTable(ResultsDbContext.HistoryTable)).Options;
            _create = () => new PostgresResultsDbContext(o);
        }
        else
        {
            var cs = db.SqliteConnectionString(paths.Root);
            var o = new DbContextOptionsBuilder<SqliteResultsDbContext>()
                .UseSqlite(cs, s => s.MigrationsHistoryTable(ResultsDbContext.HistoryTable))
                .AddInterceptors(new SqlitePragmaInterceptor(db.SqliteSynchronous)).Options;
            _create = () => new SqliteResultsDbContext(o);
        }
    }

    public DatabaseProvider Provider { get; }

    public ResultsDbContext CreateDbContext() => _create();
}

/// <summary>For <c>dotnet ef migrations add NAME --context SqliteResultsDbContext --output-dir Results/Migrations/Sqlite --namespace QcPipeline.Service.ResultsStore.Migrations.Sqlite</c>
/// (the namespace: a <c>QcPipeline.Service.Results</c> namespace, from the folder, would shadow ASP.NET's <c>Results</c> class).</summary>
internal sealed class SqliteResultsDesignTimeFactory : IDesignTimeDbContextFactory<SqliteResultsDbContext>
{
    public SqliteResultsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteResultsDbContext>().UseSqlite("Data Source=design-time.db", s => s.MigrationsHistoryTable(ResultsDbContext.HistoryTable)).Options);
}

/// <summary>For <c>dotnet ef migrations add NAME --context PostgresResultsDbContext --output-dir Results/Migrations/Postgres --namespace QcPipeline.Service.ResultsStore.Migrations.Postgres</c>.</summary>
internal sealed class PostgresResultsDesignTimeFactory : IDesignTimeDbContextFactory<PostgresResultsDbContext>
{
    public PostgresResultsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresResultsDbContext>().UseNpgsql("Host=localhost;Database=qc", n => n.MigrationsHistoryTable(ResultsDbContext.HistoryTable)).Options);
}

/// <summary>Brings the results schema up to date at start (after the index's; one process at a time on PostgreSQL).</summary>
internal sealed class ResultsInitializer(IDbContextFactory<ResultsDbContext> factory, IOptions<DatabaseOptions> options, ILogger<ResultsInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var db = await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            int pending;
            // One process at a time on PostgreSQL (several roles start together).
            var migrationLock = await MigrationLock.AcquireAsync(options.Value, logger, cancellationToken).ConfigureAwait(false);
            await using (migrationLock.ConfigureAwait(false))
            {
                pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)).Count();
                await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            }
            logger.LogInformation("Results database ready ({Applied} migrations applied)", pending);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
