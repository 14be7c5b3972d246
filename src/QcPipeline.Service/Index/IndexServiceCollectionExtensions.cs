using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Index;

public static class IndexServiceCollectionExtensions
{
    /// <summary>The ingest index: EF Core on SQLite (default, a file in the data folder) or PostgreSQL, the group-commit
    /// writer, and the schema set-up at start.</summary>
    public static IServiceCollection AddIndex(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
        services.AddDbContextFactory<IndexDbContext>((sp, o) =>
        {
            var db = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            switch (db.Provider)
            {
                case DatabaseProvider.Postgres:
                    o.UseNpgsql(db.ConnectionString);
                    break;
                default:
                    var cs = string.IsNullOrWhiteSpace(db.ConnectionString)
                        ? $"Data Source={Path.Combine(sp.GetRequiredService<StoragePaths>().Root, "qc.db")}"
                        : db.ConnectionString;
                    o.UseSqlite(cs).AddInterceptors(new SqlitePragmaInterceptor(db.SqliteSynchronous));
                    break;
            }
        });
        services.AddSingleton<IndexWriter>();
        services.AddHostedService<IndexInitializer>();
        return services;
    }
}
