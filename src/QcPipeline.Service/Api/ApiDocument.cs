using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace QcPipeline.Service.Api;

/// <summary>What the generated OpenAPI document cannot know from the endpoints: the title, how clients authenticate (API
/// key or bearer JWT, README "HTTP authentication and HTTPS"), and the health probes, which are health-check endpoints
/// (middleware, not route handlers) and so are not described by ASP.NET's endpoint metadata.</summary>
internal static class ApiDocument
{
    public static Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        document.Info = new OpenApiInfo
        {
            Title = "QcPipeline API",
            Version = "v1",
            Description = "DICOM quality control: devices, QC results with their ROIs, re-analysis; DICOMweb (STOW-RS, QIDO-RS, WADO-RS); health. " +
                          "Authentication: an API key (`Authorization: ApiKey KEY` or `X-Api-Key: KEY`) or a bearer JWT, except on a loopback-only " +
                          "binding. Scopes: `read` (GET), `manage` (device edits, re-analysis), `store` (STOW-RS).",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["ApiKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "X-Api-Key",
            Description = "An API key (also accepted as `Authorization: ApiKey KEY`).",
        };
        document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT",
            Description = "A JWT with the scopes qc.read, qc.manage, qc.store.",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("ApiKey", document)] = [] });
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] });

        document.Paths ??= [];
        document.Paths["/health/live"] = HealthPath("HealthLive", "Liveness: 200 while the process runs", false);
        document.Paths["/health/ready"] = HealthPath("HealthReady",
            "Readiness: 200 when the database, the data folder and the DICOM listener are usable (the bus may be Degraded), else 503", true);
        return Task.CompletedTask;
    }

    /// <summary>Names and summaries of the DICOMweb routes (PS3.18), which are mapped without them.</summary>
    private static readonly Dictionary<string, (string Id, string Summary)> DicomWeb = new(StringComparer.Ordinal)
    {
        ["POST dicom-web/studies"] = ("StowRsStudies", "STOW-RS: store instances (multipart/related; type=\"application/dicom\")"),
        ["POST dicom-web/studies/{studyInstanceUid}"] = ("StowRsStudy", "STOW-RS: store instances of one study"),
        ["GET dicom-web/studies"] = ("QidoRsStudies", "QIDO-RS: search studies"),
        ["GET dicom-web/series"] = ("QidoRsSeries", "QIDO-RS: search series"),
        ["GET dicom-web/instances"] = ("QidoRsInstances", "QIDO-RS: search instances"),
        ["GET dicom-web/studies/{study}/series"] = ("QidoRsStudySeries", "QIDO-RS: search the series of a study"),
        ["GET dicom-web/studies/{study}/instances"] = ("QidoRsStudyInstances", "QIDO-RS: search the instances of a study"),
        ["GET dicom-web/studies/{study}/series/{series}/instances"] = ("QidoRsSeriesInstances", "QIDO-RS: search the instances of a series"),
        ["GET dicom-web/studies/{study}"] = ("WadoRsStudy", "WADO-RS: retrieve a study (multipart/related; type=\"application/dicom\")"),
        ["GET dicom-web/studies/{study}/series/{series}"] = ("WadoRsSeries", "WADO-RS: retrieve a series"),
        ["GET dicom-web/studies/{study}/series/{series}/instances/{instance}"] = ("WadoRsInstance", "WADO-RS: retrieve an instance"),
        ["GET dicom-web/studies/{study}/metadata"] = ("WadoRsStudyMetadata", "WADO-RS: metadata of a study (application/dicom+json)"),
        ["GET dicom-web/studies/{study}/series/{series}/metadata"] = ("WadoRsSeriesMetadata", "WADO-RS: metadata of a series"),
        ["GET dicom-web/studies/{study}/series/{series}/instances/{instance}/metadata"] = ("WadoRsInstanceMetadata", "WADO-RS: metadata of an instance"),
        ["GET dicom-web/studies/{study}/series/{series}/instances/{instance}/frames/{frames}"] = ("WadoRsFrames", "WADO-RS: frames of an instance"),
        ["GET dicom-web/studies/{study}/series/{series}/instances/{instance}/bulkdata/{path}"] = ("WadoRsBulkData", "WADO-RS: bulk data a BulkDataURI points to"),
    };

    public static Task DescribeDicomWebAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var d = context.Description;
        if (d.RelativePath is { } path && DicomWeb.TryGetValue($"{d.HttpMethod} {path.TrimEnd('/')}", out var info))
        {
            operation.OperationId ??= info.Id;
            operation.Summary ??= info.Summary;
        }
        return Task.CompletedTask;
    }

    private static OpenApiPathItem HealthPath(string id, string summary, bool ready)
    {
        var responses = new OpenApiResponses
        {
            ["200"] = new OpenApiResponse { Description = "Healthy (or Degraded): JSON {status, durationMs, checks}" },
        };
        if (ready) responses["503"] = new OpenApiResponse { Description = "Unhealthy: JSON with each check's status" };
        var operation = new OpenApiOperation
        {
            OperationId = id, Summary = summary, Responses = responses,
            Security = [], // anonymous: orchestrator probes
        };
        var item = new OpenApiPathItem();
        item.AddOperation(HttpMethod.Get, operation);
        return item;
    }
}
