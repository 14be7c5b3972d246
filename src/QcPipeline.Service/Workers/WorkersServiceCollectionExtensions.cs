using QcPipeline.Analysis;
using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Workers;

/// <summary>Routing of series to analyses (configuration section <c>Routing</c>).</summary>
public sealed record RoutingOptions
{
    public const string Section = "Routing";

    /// <summary>A YAML (or JSON) file of selector rules (README "Routing"); none: the built-in phantom naming conventions.</summary>
    public string? File { get; init; }
}

public static class WorkersServiceCollectionExtensions
{
    /// <summary>The analysis worker's services: routing (loaded and checked at start: a bad file stops the service with
    /// its reason) and the series analyzer. The consumer itself is added to the bus by the worker role.</summary>
    public static IServiceCollection AddWorkers(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        services.AddSingleton(sp =>
        {
            var file = sp.GetRequiredService<IOptions<RoutingOptions>>().Value.File;
            return string.IsNullOrWhiteSpace(file) ? SeriesRouting.Default : SeriesRouting.Load(file);
        });
        services.AddSingleton(sp => new SeriesAnalyzer(sp.GetRequiredService<SeriesRouting>(),
            new FrameBufferPool(sp.GetRequiredService<IOptions<PipelineOptions>>().Value.FrameBufferPoolMegabytes * 1024L * 1024)));
        services.AddSingleton<WorkerMetrics>();
        services.AddHostedService<Metrics.MetricsActivator<WorkerMetrics>>();
        return services;
    }
}

internal sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.File)) return ValidateOptionsResult.Success;
        try
        {
            SeriesRouting.Load(o.File);
            return ValidateOptionsResult.Success;
        }
        catch (RoutingException ex)
        {
            return ValidateOptionsResult.Fail($"{RoutingOptions.Section}:File: {ex.Message}");
        }
    }
}
