using MassTransit;

namespace QcPipeline.Service.Bus;

/// <summary>Logs and counts consumer failures. A consumer never swallows a failure (DESIGN.md): it throws, the endpoint
/// retries with backoff, and after the last retry the message is moved to the endpoint's <c>_error</c> queue, where it
/// is kept for an operator. Logged without message content: the message type and the exception type only.</summary>
internal sealed class FaultObserver(BusMetrics metrics, ILogger<FaultObserver> logger) : IConsumeObserver
{
    public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context) where T : class
    {
        metrics.ConsumedTotal.WithLabels(BusMetrics.TypeLabel(typeof(T))).Inc();
        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class
    {
        ArgumentNullException.ThrowIfNull(exception);
        metrics.FaultsTotal.WithLabels(BusMetrics.TypeLabel(typeof(T))).Inc();
        logger.LogError("Consuming {MessageType} failed ({ExceptionType}) after {Attempts} attempt(s); message {MessageId} goes to the error queue",
            typeof(T).Name, exception.GetType().Name, context.GetRetryAttempt() + 1, context.MessageId);
        logger.LogDebug(exception, "Consumer failure detail");
        return Task.CompletedTask;
    }
}
