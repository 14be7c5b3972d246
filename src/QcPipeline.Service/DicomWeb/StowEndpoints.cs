namespace QcPipeline.Service.DicomWeb;

/// <summary>STOW-RS (PS3.18 §10.5). Placeholder until it is built.</summary>
public static class StowEndpoints
{
    public static IServiceCollection AddStow(this IServiceCollection services, IConfiguration configuration) => services;

    public static RouteGroupBuilder MapStow(this RouteGroupBuilder group) => group;
}
