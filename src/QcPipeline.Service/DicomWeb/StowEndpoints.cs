using Microsoft.Extensions.Options;
using QcPipeline.Service.Auth;

namespace QcPipeline.Service.DicomWeb;

/// <summary>STOW-RS (PS3.18 §10.5): <c>POST /dicom-web/studies</c> and <c>POST /dicom-web/studies/{StudyInstanceUID}</c>
/// with a <c>multipart/related; type="application/dicom"</c> body. See <see cref="StowHandler"/>.</summary>
public static class StowEndpoints
{
    public static IServiceCollection AddStow(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DicomWebOptions>().Bind(configuration.GetSection(DicomWebOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DicomWebOptions>, DicomWebOptionsValidator>();
        services.AddSingleton<StowHandler>();
        return services;
    }

    public static RouteGroupBuilder MapStow(this RouteGroupBuilder group)
    {
        group.MapPost("/studies", (HttpContext context, StowHandler stow) => stow.HandleAsync(context, null))
            .RequireAuthorization(QcAuthPolicies.Store)
            .WithName("StowRsStudies");
        group.MapPost("/studies/{studyInstanceUid}", (HttpContext context, string studyInstanceUid, StowHandler stow) => stow.HandleAsync(context, studyInstanceUid))
            .RequireAuthorization(QcAuthPolicies.Store)
            .WithName("StowRsStudy");
        return group;
    }
}
