namespace QcPipeline.Service.DicomWeb;

/// <summary>QIDO-RS (PS3.18 §10.6) and WADO-RS (§10.4). Placeholder until they are built.</summary>
public static class QidoWadoEndpoints
{
    public static IServiceCollection AddQidoWado(this IServiceCollection services, IConfiguration configuration) => services;

    public static RouteGroupBuilder MapQidoWado(this RouteGroupBuilder group) => group;
}
