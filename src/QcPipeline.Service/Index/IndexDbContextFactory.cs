using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Options;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Index;

/// <summary>Creates the provider's context from <see cref="DatabaseOptions"/>. The options object is built once, so EF Core's
/// internal service provider and compiled model are shared by every context.</summary>
public sealed class IndexDbContextFactory : IDbContextFactory<IndexDbContext>
{
    private readonly Func<IndexDbContext> _create;

    public IndexDbContextFactory(IOptions<DatabaseOptions> options, StoragePaths paths)
    {
        var db = options.Value;
        Provider = db.Provider;
        if (db.Provider == DatabaseProvider.Postgres)
        {
            var o = new DbContextOptionsBuilder<PostgresIndexDbContext>().UseNpgsql(db.ConnectionString).Options;
            _create = () => new PostgresIndexDbContext(o);
        }
        else
        {
            var cs = db.SqliteConnectionString(paths.Root);
            var o = new DbContextOptionsBuilder<SqliteIndexDbContext>().UseSqlite(cs).AddInterceptors(new SqlitePragmaInterceptor(db.SqliteSynchronous)).Options;
            _create = () => new SqliteIndexDbContext(o);
        }
    }

    public DatabaseProvider Provider { get; }

    public IndexDbContext CreateDbContext() => _create();
}

/// <summary>For <c>dotnet ef migrations add NAME --context SqliteIndexDbContext --output-dir Index/Migrations/Sqlite</c>.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteIndexDbContext>
{
    public SqliteIndexDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteIndexDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

/// <summary>For <c>dotnet ef migrations add NAME --context PostgresIndexDbContext --output-dir Index/Migrations/Postgres</c> (no server needed).</summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresIndexDbContext>
{
    public PostgresIndexDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresIndexDbContext>().UseNpgsql("Host=localhost;Database=qc").Options);
}
