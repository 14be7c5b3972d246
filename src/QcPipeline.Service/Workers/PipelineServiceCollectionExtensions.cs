using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Bus;

namespace QcPipeline.Service.Workers;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>Series assembly and the ingest outbox (<see cref="PipelineOptions"/>): the <see cref="SeriesSweeper"/> and the
    /// <see cref="OutboxDispatcher"/>. Register after the index (its schema is migrated at start first).</summary>
    public static IServiceCollection AddPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PipelineOptions>().Bind(configuration.GetSection(PipelineOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<OutboxSignal>();
        services.AddSingleton<OutboxMetrics>();
        services.AddSingleton<OutboxDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxDispatcher>());
        services.AddSingleton<SeriesSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<SeriesSweeper>());
        return services;
    }
}
