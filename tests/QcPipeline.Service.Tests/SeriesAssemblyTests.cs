using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Tests;

/// <summary>Series assembly and the outbox on the embedded defaults: SQLite and the in-memory bus.</summary>
public sealed class SeriesAssemblyTests
{
    [Fact]
    public Task A_stored_series_is_claimed_once_when_quiet_and_analysed_through_the_outbox() =>
        SeriesAssemblyScenarios.StoredSeriesIsAnalysedOnceAsync();

    [Fact]
    public Task The_sweeper_sleeps_until_the_oldest_open_series_is_quiet() =>
        SeriesAssemblyScenarios.SweeperSleepsUntilTheOldestOpenSeriesIsQuietAsync();

    [Fact]
    public Task Concurrent_sweeps_claim_each_quiet_series_once() =>
        SeriesAssemblyScenarios.ConcurrentSweepsClaimEachSeriesOnceAsync();

    [Fact]
    public Task A_claim_not_finished_within_the_claim_timeout_is_claimed_again() =>
        SeriesAssemblyScenarios.TimedOutClaimIsClaimedAgainAsync();

    [Fact]
    public Task New_instances_reopen_an_analysed_series_for_a_new_claim() =>
        SeriesAssemblyScenarios.NewInstancesReopenAnAnalysedSeriesAsync();

    [Theory]
    [InlineData("--Pipeline:QuietPeriod=00:00:00", "Pipeline:QuietPeriod")]
    [InlineData("--Pipeline:ClaimTimeout=00:00:00", "Pipeline:ClaimTimeout")]
    [InlineData("--Pipeline:OutboxBatchSize=0", "Pipeline:OutboxBatchSize")]
    [InlineData("--Pipeline:OutboxMinBackoff=00:01:00", "Pipeline:OutboxMinBackoff")] // above the 30 s maximum
    public async Task Invalid_pipeline_settings_stop_the_service_at_start(string arg, string key)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => InProcessService.StartAsync(null, _ => { }, arg));
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }
}
