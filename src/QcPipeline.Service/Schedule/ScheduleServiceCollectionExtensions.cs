using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Service.Schedule;

public static class ScheduleServiceCollectionExtensions
{
    /// <summary>Test plans, due status, scheduled scans (their tables are in the results database: call after AddResults),
    /// and the Modality Worklist C-FIND handler the DICOM listener serves when <c>Schedule:Worklist</c> is on.</summary>
    public static IServiceCollection AddSchedule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ScheduleOptions>().Bind(configuration.GetSection(ScheduleOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ScheduleOptions>, ScheduleOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ITestDueStatus, TestDueStatusService>();
        services.AddSingleton<ScheduleService>();
        services.AddSingleton<WorklistFindHandler>();
        // The listener takes an IFindHandler when there is one: none when the worklist is off.
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ScheduleOptions>>().Value.Worklist
            ? new WorklistFindHandlerRegistration(sp.GetRequiredService<WorklistFindHandler>())
            : new WorklistFindHandlerRegistration(null));
        return services;
    }
}

/// <summary>The find handler the DICOM listener serves, or none.</summary>
public sealed record WorklistFindHandlerRegistration(IFindHandler? Handler);
