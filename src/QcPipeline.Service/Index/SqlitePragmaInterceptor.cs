using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace QcPipeline.Service.Index;

/// <summary>PRAGMA synchronous and busy_timeout are per connection in SQLite, so each opened connection gets them.
/// (journal_mode=WAL is stored in the database file and set once by <see cref="IndexInitializer"/>.)</summary>
internal sealed class SqlitePragmaInterceptor(string synchronous) : DbConnectionInterceptor
{
    private readonly string _sql = $"PRAGMA synchronous={synchronous.ToUpperInvariant()}; PRAGMA busy_timeout=10000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = _sql;
        cmd.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        var cmd = connection.CreateCommand();
        await using (cmd.ConfigureAwait(false))
        {
            cmd.CommandText = _sql;
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
