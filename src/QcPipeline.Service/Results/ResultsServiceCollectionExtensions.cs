using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace QcPipeline.Service.ResultsStore;

public static class ResultsServiceCollectionExtensions
{
    /// <summary>The results store on the index's database. Call after AddIndex (its options and the schema order).</summary>
    public static IServiceCollection AddResults(this IServiceCollection services)
    {
        services.AddSingleton<IDbContextFactory<ResultsDbContext>, ResultsDbContextFactory>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ResultStore>();
        services.AddHostedService<ResultsInitializer>();
        return services;
    }
}
