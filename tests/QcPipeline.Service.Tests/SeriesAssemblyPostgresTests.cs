namespace QcPipeline.Service.Tests;

/// <summary>Series assembly and the outbox with the index on a real PostgreSQL (claims by <c>FOR UPDATE SKIP LOCKED</c>).</summary>
[Collection(PostgresCollection.Name)]
public sealed class SeriesAssemblyPostgresTests(PostgresFixture pg)
{
    private async Task<string[]> PgArgs() => ["--Database:Provider=Postgres", $"--Database:ConnectionString={await pg.CreateDatabaseAsync()}"];

    [Fact]
    public async Task A_stored_series_is_claimed_once_when_quiet_and_analysed_through_the_outbox_on_postgres() =>
        await SeriesAssemblyScenarios.StoredSeriesIsAnalysedOnceAsync(await PgArgs());

    [Fact]
    public async Task The_sweeper_sleeps_until_the_oldest_open_series_is_quiet_on_postgres() =>
        await SeriesAssemblyScenarios.SweeperSleepsUntilTheOldestOpenSeriesIsQuietAsync(await PgArgs());

    [Fact]
    public async Task Concurrent_sweeps_claim_each_quiet_series_once_on_postgres() =>
        await SeriesAssemblyScenarios.ConcurrentSweepsClaimEachSeriesOnceAsync(await PgArgs());

    [Fact]
    public async Task A_claim_not_finished_within_the_claim_timeout_is_claimed_again_on_postgres() =>
        await SeriesAssemblyScenarios.TimedOutClaimIsClaimedAgainAsync(await PgArgs());

    [Fact]
    public async Task New_instances_reopen_an_analysed_series_for_a_new_claim_on_postgres() =>
        await SeriesAssemblyScenarios.NewInstancesReopenAnAnalysedSeriesAsync(await PgArgs());
}
