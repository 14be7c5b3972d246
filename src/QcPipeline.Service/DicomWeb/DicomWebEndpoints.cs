namespace QcPipeline.Service.DicomWeb;

/// <summary>DICOMweb (PS3.18) under <c>/dicom-web</c>: STOW-RS in the receiver role, QIDO-RS and WADO-RS in the API role.</summary>
public static class DicomWebEndpoints
{
    public const string Prefix = "/dicom-web";

    public static IServiceCollection AddDicomWeb(this IServiceCollection services, IConfiguration configuration, ServiceRoles roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        if (roles.Receiver) services.AddStow(configuration);
        if (roles.Api) services.AddQidoWado(configuration);
        return services;
    }

    public static RouteGroupBuilder MapDicomWeb(this IEndpointRouteBuilder app, ServiceRoles roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var group = app.MapGroup(Prefix).WithTags("DICOMweb");
        if (roles.Receiver) group.MapStow();
        if (roles.Api) group.MapQidoWado();
        return group;
    }
}
