using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Retention;

public static class RetentionServiceCollectionExtensions
{
    /// <summary>Data retention (<see cref="RetentionOptions"/>): the <see cref="RetentionService"/>. Call after AddIndex,
    /// AddResults, AddIngest and AddMetrics: it deletes through the index, the instance store and the ingest locks, and
    /// audits through the results store; as a hosted service it starts after start-up reconciliation.</summary>
    public static IServiceCollection AddRetention(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RetentionOptions>().Bind(configuration.GetSection(RetentionOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<RetentionMetrics>();
        services.AddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        return services;
    }
}
