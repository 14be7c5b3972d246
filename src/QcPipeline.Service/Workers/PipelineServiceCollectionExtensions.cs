using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Bus;

namespace QcPipeline.Service.Workers;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>Series assembly and the ingest outbox (<see cref="PipelineOptions"/>). The <see cref="SeriesSweeper"/> runs where
    /// <c>Pipeline:SweeperEnabled</c> says, by default wherever the receiver role runs (at least one process must sweep); the
    /// <see cref="OutboxDispatcher"/> runs in every process that writes the outbox (receiver, or a process that sweeps).
    /// Register after the index (its schema is migrated at start first).</summary>
    public static IServiceCollection AddPipeline(this IServiceCollection services, IConfiguration configuration, ServiceRoles roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        services.AddOptions<PipelineOptions>().Bind(configuration.GetSection(PipelineOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<OutboxSignal>();
        services.AddSingleton<SeriesSweeper>();
        var sweep = PipelineOptions.SweeperRuns(configuration, roles);
        if (sweep) services.AddHostedService(sp => sp.GetRequiredService<SeriesSweeper>());
        if (roles.Receiver || sweep)
        {
            services.AddSingleton<OutboxMetrics>();
            services.AddSingleton<OutboxDispatcher>();
            services.AddHostedService(sp => sp.GetRequiredService<OutboxDispatcher>());
        }
        return services;
    }
}
