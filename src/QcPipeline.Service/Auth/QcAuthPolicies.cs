namespace QcPipeline.Service.Auth;

/// <summary>Authorization policy names for the HTTP API. STOW-RS endpoints require <see cref="Store"/>; QIDO-RS and
/// WADO-RS require <see cref="Read"/>.</summary>
public static class QcAuthPolicies
{
    public const string Store = "qc-store";
    public const string Read = "qc-read";

    /// <summary>Placeholder until authentication is built: both policies allow everyone.</summary>
    public static IServiceCollection AddQcAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAuthorizationBuilder()
            .AddPolicy(Store, p => p.RequireAssertion(_ => true))
            .AddPolicy(Read, p => p.RequireAssertion(_ => true));
        return services;
    }

    public static WebApplication UseQcAuth(this WebApplication app)
    {
        app.UseAuthorization();
        return app;
    }
}
