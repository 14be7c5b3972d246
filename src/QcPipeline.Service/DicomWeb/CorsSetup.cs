using Microsoft.Extensions.Options;

namespace QcPipeline.Service.DicomWeb;

/// <summary>CORS for <c>/dicom-web</c> when <see cref="DicomWebReadOptions.CorsOrigins"/> lists origins: a viewer served
/// from another origin (OHIF) can then query and retrieve. Added as a startup filter so the host's pipeline is untouched;
/// it runs before routing and authorization, so preflight requests (which carry no credentials) are answered here.</summary>
internal sealed class CorsStartupFilter(IOptions<DicomWebReadOptions> options) : IStartupFilter
{
    public const string Policy = "dicom-web";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        if (options.Value.CorsOrigins is { Length: > 0 })
            app.UseWhen(c => c.Request.Path.StartsWithSegments(DicomWebEndpoints.Prefix, StringComparison.OrdinalIgnoreCase), b => b.UseCors(Policy));
        next(app);
    };

    public static void AddPolicy(IServiceCollection services, IConfiguration configuration)
    {
        var origins = configuration.GetSection(DicomWebReadOptions.Section).Get<DicomWebReadOptions>()?.CorsOrigins ?? [];
        services.AddCors(o => o.AddPolicy(Policy, p =>
        {
            if (origins.Contains("*")) p.AllowAnyOrigin(); else p.WithOrigins(origins);
            // Authorization: the bearer token or API key header of the auth layer; Accept: the media type negotiation.
            p.AllowAnyHeader().WithMethods("GET", "POST", "OPTIONS").WithExposedHeaders("Warning", "Content-Type", "Content-Length")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        }));
    }
}
