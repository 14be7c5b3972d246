using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Index;

public static class IndexServiceCollectionExtensions
{
    /// <summary>The ingest index: EF Core on SQLite (default, a file in the data folder) or PostgreSQL, the group-commit
    /// writer, and the schema set-up at start.</summary>
    public static IServiceCollection AddIndex(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
        services.AddSingleton<IDbContextFactory<IndexDbContext>, IndexDbContextFactory>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<Bus.OutboxSignal>();
        services.AddSingleton<IndexWriter>();
        services.AddHostedService<IndexInitializer>();
        return services;
    }
}
