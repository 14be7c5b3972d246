using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Index;

/// <summary>Creates the index schema at start (before the listener and the reconciliation run) and puts SQLite in WAL mode.
/// The schema is made with EnsureCreated: there is one version of it so far; migrations come with the first change.</summary>
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
            bool created = await db.Database.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Index database ready ({Provider}, {State})", options.Value.Provider, created ? "created" : "existing");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
