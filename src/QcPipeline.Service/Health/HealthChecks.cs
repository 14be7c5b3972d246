using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using QcPipeline.Service.Index;
using QcPipeline.Service.Ingest;
using QcPipeline.Service.Storage;

namespace QcPipeline.Service.Health;

internal sealed class DatabaseHealthCheck(IDbContextFactory<IndexDbContext> factory) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var db = await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            return await db.Database.CanConnectAsync(cancellationToken).ConfigureAwait(false)
                ? HealthCheckResult.Healthy("index database reachable")
                : HealthCheckResult.Unhealthy("index database not reachable");
        }
    }
}

/// <summary>Creates and deletes a probe file in tmp/, where every instance starts.</summary>
internal sealed class DataFolderHealthCheck(StoragePaths paths) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var probe = Path.Combine(paths.Tmp, $"health-{Guid.NewGuid():N}.probe");
        try
        {
            await File.WriteAllBytesAsync(probe, [1], cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("data folder writable");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return HealthCheckResult.Unhealthy("data folder not writable: " + ex.GetType().Name);
        }
        finally
        {
            try { File.Delete(probe); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>Workers and the API role only read the store: the data folder must exist and be listable (a shared volume that
/// is not mounted fails here).</summary>
internal sealed class DataFolderReadableHealthCheck(StoragePaths paths) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            _ = Directory.EnumerateFileSystemEntries(paths.Root).Take(1).Count();
            return Task.FromResult(HealthCheckResult.Healthy("data folder readable"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("data folder not readable: " + ex.GetType().Name));
        }
    }
}

internal sealed class DimseListenerHealthCheck(DimseListenerState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.IsBound ? HealthCheckResult.Healthy($"bound on port {state.Port}") : HealthCheckResult.Unhealthy("not bound"));
}

public static class HealthServiceCollectionExtensions
{
    private const string Ready = "ready";

    /// <summary>/health/live: the process answers. /health/ready, by role: the index database reachable (every role); the
    /// data folder writable and the DICOM listener bound (receiver); the data folder readable (worker, api, without the
    /// receiver) or, with <c>Storage:Backend</c> S3, the bucket instead (HeadBucket, <c>instance_store</c>, every role; the
    /// receiver keeps <c>data_folder</c> for its spool). The bus adds its own check (<c>bus</c>) in the receiver and worker
    /// roles.</summary>
    public static IServiceCollection AddHealth(this IServiceCollection services, IConfiguration configuration, ServiceRoles roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var checks = services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: [Ready]);
        bool s3 = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>()?.IsS3 ?? false;
        if (roles.Receiver)
        {
            // With S3 the receiver still spools into tmp/ under the data folder: both must work.
            checks.AddCheck<DataFolderHealthCheck>("data_folder", tags: [Ready]);
            checks.AddCheck<DimseListenerHealthCheck>("dicom_listener", tags: [Ready]);
        }
        else if (!s3)
        {
            checks.AddCheck<DataFolderReadableHealthCheck>("data_folder", tags: [Ready]);
        }
        if (s3) checks.AddCheck<InstanceStoreHealthCheck>("instance_store", tags: [Ready]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJson });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteJson });
        return endpoints;
    }

    private static Task WriteJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            durationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}
