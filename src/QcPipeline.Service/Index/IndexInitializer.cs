using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Index;

/// <summary>Brings the index schema up to date at start (EF Core migrations of the provider, before the listener and the
/// reconciliation run) and puts SQLite in WAL mode. On PostgreSQL one process at a time migrates (<see cref="MigrationLock"/>).</summary>
internal sealed class IndexInitializer(IDbContextFactory<IndexDbContext> factory, IOptions<DatabaseOptions> options, StoragePaths paths, ILogger<IndexInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(paths.Root); // the default SQLite file lives there
        var db = await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            if (options.Value.Provider == DatabaseProvider.Sqlite)
            {
                // WAL: readers never block the writer, and a commit is one append + fsync of the log.
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
            }
            int pending;
            var migrationLock = await MigrationLock.AcquireAsync(options.Value, logger, cancellationToken).ConfigureAwait(false);
            await using (migrationLock.ConfigureAwait(false))
            {
                pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)).Count();
                await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            }
            logger.LogInformation("Index database ready ({Provider}, {Applied} migrations applied)", options.Value.Provider, pending);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
