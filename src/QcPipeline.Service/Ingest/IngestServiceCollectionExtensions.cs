using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Storage;

namespace QcPipeline.Service.Ingest;

public static class IngestServiceCollectionExtensions
{
    /// <summary>The instance store (every role reads it: the worker its series, the API role WADO-RS) and, in the receiver
    /// role, the ingest path, the start-up reconciliation and the DICOM (DIMSE) listener. Call after AddIndex and AddMetrics:
    /// hosted services start in registration order, and the index schema must exist before reconciliation.</summary>
    public static IServiceCollection AddIngest(this IServiceCollection services, IConfiguration configuration, ServiceRoles roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddSingleton<StoragePaths>();
        services.AddInstanceStore(configuration);
        services.TryAddSingleton(TimeProvider.System);
        if (!roles.Receiver) return services;
        services.AddOptions<DicomOptions>().Bind(configuration.GetSection(DicomOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DicomOptions>, DicomOptionsValidator>();
        services.AddSingleton<IngestService>();
        services.AddSingleton<InstanceStoreReconciler>();
        services.AddSingleton<DimseStoreHandler>();
        services.AddSingleton<DimseObserver>();
        services.AddSingleton<DimseListenerState>();
        services.AddHostedService<DimseListener>();
        return services;
    }
}
