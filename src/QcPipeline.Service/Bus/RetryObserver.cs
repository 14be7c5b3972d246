using MassTransit;

namespace QcPipeline.Service.Bus;

/// <summary>Counts and logs each retry of a receive endpoint's consumer (the failure before it: exception type only, never
/// message content), so an outage that the retries ride out is still visible.</summary>
internal sealed class RetryObserver(BusMetrics metrics, ILogger logger, string endpoint) : IRetryObserver
{
    public Task PostCreate<T>(RetryPolicyContext<T> context) where T : class, PipeContext => Task.CompletedTask;

    public Task PostFault<T>(RetryContext<T> context) where T : class, PipeContext => Task.CompletedTask;

    public Task PreRetry<T>(RetryContext<T> context) where T : class, PipeContext
    {
        ArgumentNullException.ThrowIfNull(context);
        metrics.RetriesTotal.WithLabels(endpoint).Inc();
        // Debug: MassTransit itself logs each retry as a warning (R-RETRY).
        logger.LogDebug("Consuming on {Endpoint} failed ({ExceptionType}); retry {Attempt} in {Delay}",
            endpoint, context.Exception.GetType().Name, context.RetryAttempt + 1, context.Delay);
        return Task.CompletedTask;
    }

    public Task RetryFault<T>(RetryContext<T> context) where T : class, PipeContext => Task.CompletedTask;

    public Task RetryComplete<T>(RetryContext<T> context) where T : class, PipeContext => Task.CompletedTask;
}
