namespace QcPipeline.Service.DicomWeb;

/// <summary>DICOMweb (PS3.18) under <c>/dicom-web</c>: STOW-RS, QIDO-RS and WADO-RS.</summary>
public static class DicomWebEndpoints
{
    public const string Prefix = "/dicom-web";

    public static IServiceCollection AddDicomWeb(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddStow(configuration);
        services.AddQidoWado(configuration);
        return services;
    }

    public static RouteGroupBuilder MapDicomWeb(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(Prefix).WithTags("DICOMweb");
        group.MapStow();
        group.MapQidoWado();
        return group;
    }
}
