using Microsoft.Extensions.Options;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>The instance store of <c>Storage:Backend</c> as <see cref="IInstanceStore"/>: the local folder, or the S3
    /// store (then also registered as itself, with its start-up work: old read copies swept, the bucket made when
    /// <c>Storage:S3:CreateBucket</c>). Every role uses it. Needs the <see cref="StorageOptions"/> binding of AddIngest.</summary>
    public static IServiceCollection AddInstanceStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var backend = configuration.GetSection(StorageOptions.Section)[nameof(StorageOptions.Backend)];
        if (string.Equals(backend, StorageBackends.S3, StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton<S3InstanceStore>();
            services.AddSingleton<IInstanceStore>(sp => sp.GetRequiredService<S3InstanceStore>());
            services.AddHostedService<S3StoreStartup>();
        }
        else
        {
            // An unknown value also lands here; the options validation refuses it at start (exit code 2).
            services.AddSingleton<IInstanceStore, LocalInstanceStore>();
        }
        return services;
    }
}

/// <summary>Start-up of the S3 store: sweeps old read copies and, with <c>Storage:S3:CreateBucket</c>, makes the bucket.
/// An unreachable store does not stop the start (the readiness check reports it, and ingest answers A700 meanwhile).</summary>
internal sealed class S3StoreStartup(S3InstanceStore store, IOptions<StorageOptions> options, ILogger<S3StoreStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        store.SweepCache();
        if (!options.Value.S3.CreateBucket) return;
        try
        {
            await store.EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InstanceStoreException ex)
        {
            logger.LogError("Instance store: the bucket could not be checked or created at start ({Reason}); instances are refused until the store is usable", ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
