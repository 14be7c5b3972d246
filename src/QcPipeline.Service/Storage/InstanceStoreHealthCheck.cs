using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace QcPipeline.Service.Storage;

/// <summary>Readiness of the object store (<c>Storage:Backend</c> S3): HeadBucket answers within the probe's time.</summary>
internal sealed class InstanceStoreHealthCheck(S3InstanceStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await store.CheckBucketAsync(timeout.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"object store reachable, bucket {store.Bucket} present");
        }
        catch (InstanceStoreException ex)
        {
            return HealthCheckResult.Unhealthy("object store not usable: " + ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("object store did not answer within 5 s");
        }
    }
}
