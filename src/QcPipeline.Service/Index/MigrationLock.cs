using Npgsql;

namespace QcPipeline.Service.Index;

/// <summary>Serialises schema migrations across processes. Every role migrates at start, and several processes (a receiver,
/// N workers, an API) often start together against one PostgreSQL: EF Core's own migration lock (<c>LOCK TABLE</c> on the
/// history table) is taken only after the history table has been created, and two concurrent <c>CREATE TABLE IF NOT
/// EXISTS</c> can still collide in the catalog. A session-level advisory lock, held on its own unpooled connection from
/// before the first look at the schema until the migration has committed, makes the second process wait and then find
/// nothing to do. A process that dies while holding it loses its session, and with it the lock. SQLite needs none: the
/// database lives on one host and EF Core takes its own lock there.</summary>
internal sealed class MigrationLock : IAsyncDisposable
{
    /// <summary>Any fixed 64-bit key, the same in every version of the service ("QCPIPE" and 1).</summary>
    private const long Key = 0x5143_5049_5045_0001;

    private readonly NpgsqlConnection? _connection;

    private MigrationLock(NpgsqlConnection? connection) => _connection = connection;

    public static async Task<MigrationLock> AcquireAsync(DatabaseOptions options, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Provider != DatabaseProvider.Postgres) return new MigrationLock(null);
        // Unpooled: a pooled connection returned with the lock released is fine, but one returned after a failed unlock
        // would keep the lock for as long as the pool keeps the session.
        var cs = new NpgsqlConnectionStringBuilder(options.ConnectionString) { Pooling = false }.ConnectionString;
        var connection = new NpgsqlConnection(cs);
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            await using (var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_lock(@k)", connection))
            {
                tryLock.Parameters.AddWithValue("k", Key);
                if (await tryLock.ExecuteScalarAsync(ct).ConfigureAwait(false) is true) return new MigrationLock(connection);
            }
            logger.LogInformation("Another process is migrating the database; waiting for it");
            await using (var wait = new NpgsqlCommand("SELECT pg_advisory_lock(@k)", connection) { CommandTimeout = 0 })
            {
                wait.Parameters.AddWithValue("k", Key);
                await wait.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            return new MigrationLock(connection);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is null) return;
        // Closing the (unpooled) connection ends the session, which releases the lock even if this statement fails.
        try
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@k)", _connection);
            unlock.Parameters.AddWithValue("k", Key);
            await unlock.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (NpgsqlException) { }
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
