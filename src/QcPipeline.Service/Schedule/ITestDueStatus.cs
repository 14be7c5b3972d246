namespace QcPipeline.Service.Schedule;
public sealed record TestDueStatus(long DeviceId, string Test, TimeSpan Frequency, DateTimeOffset? LastRunAt,
    DateTimeOffset? LastPassAt, string? LastVerdict, DateTimeOffset? DueAt, bool Overdue);
public interface ITestDueStatus
{
    /// <summary>Every planned test of one device (or of all devices when null), as of <paramref name="now"/>.</summary>
    Task<IReadOnlyList<TestDueStatus>> GetAsync(long? deviceId, DateTimeOffset now, CancellationToken ct = default);
}
