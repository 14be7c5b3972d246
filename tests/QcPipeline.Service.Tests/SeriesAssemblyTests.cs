namespace QcPipeline.Service.Tests;

/// <summary>Series assembly and the outbox on the embedded defaults: SQLite and the in-memory bus.</summary>
public sealed class SeriesAssemblyTests
{
    [Fact]
    public Task A_stored_series_is_claimed_once_when_quiet_and_analysed_through_the_outbox() =>
        SeriesAssemblyScenarios.StoredSeriesIsAnalysedOnceAsync();

    [Fact]
    public Task Concurrent_sweeps_claim_each_quiet_series_once() =>
        SeriesAssemblyScenarios.ConcurrentSweepsClaimEachSeriesOnceAsync();

    [Fact]
    public Task A_claim_not_finished_within_the_claim_timeout_is_claimed_again() =>
        SeriesAssemblyScenarios.TimedOutClaimIsClaimedAgainAsync();

    [Fact]
    public Task New_instances_reopen_an_analysed_series_for_a_new_claim() =>
        SeriesAssemblyScenarios.NewInstancesReopenAnAnalysedSeriesAsync();
}
