# Multi-stage build of the service (src/QcPipeline.Service) with the `qc` CLI beside it.
#   docker build -t qcpipeline .
#   docker run -p 11112:11112 -p 8080:8080 -v qcdata:/data \
#     -e QC__Http__Auth__ApiKeys__0__Name=pacs -e QC__Http__Auth__ApiKeys__0__KeySha256="$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)" \
#     qcpipeline
# The HTTP API listens beyond loopback here, so it requires credentials: without an API key or a JWT issuer the service
# refuses to start (exit code 2, the reason on stderr). README "HTTP authentication and HTTPS".
# One image for every role: `--roles receiver|worker|api` (or QC__Service__Roles). The compose stack is
# deploy/docker-compose.yml, the Kubernetes manifests deploy/k8s/, operations docs/operations.md.
# The .NET 10 images are Ubuntu 24.04 ("noble"); the runtime packages below are Ubuntu's (main and universe).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props QcPipeline.sln ./
# Project files first, so `dotnet restore` is its own layer and a code change does not download every package again.
# Every project the service and the CLI reference (DeployManifestTests checks this list against the ProjectReferences).
COPY src/QcPipeline.Dicom/QcPipeline.Dicom.csproj src/QcPipeline.Dicom/
COPY src/QcPipeline.Analysis/QcPipeline.Analysis.csproj src/QcPipeline.Analysis/
COPY src/QcPipeline.Overlays/QcPipeline.Overlays.csproj src/QcPipeline.Overlays/
COPY src/QcPipeline.Phantoms/QcPipeline.Phantoms.csproj src/QcPipeline.Phantoms/
COPY src/QcPipeline.Service/QcPipeline.Service.csproj src/QcPipeline.Service/
COPY src/QcPipeline.Cli/QcPipeline.Cli.csproj src/QcPipeline.Cli/
RUN dotnet restore src/QcPipeline.Service/QcPipeline.Service.csproj \
 && dotnet restore src/QcPipeline.Cli/QcPipeline.Cli.csproj
COPY src/ src/
RUN dotnet publish src/QcPipeline.Service/QcPipeline.Service.csproj -c Release -o /app --no-restore --nologo \
 && dotnet publish src/QcPipeline.Cli/QcPipeline.Cli.csproj -c Release -o /app/cli --no-restore --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# At run time, beyond the ASP.NET runtime (which brings ICU and tzdata, needed for GB18030 text and Reports:TimeZone):
#   libcharls2, libopenjp2-7   native JPEG-LS and JPEG 2000 decoders, loaded when present (libcharls.so.2, libopenjp2.so.7)
#   fonts-wqy-microhei         the CJK TrueType font of the PDF trend reports (Reports:FontPath's first default); without
#                              it PDF requests answer 503
#   curl                       the healthcheck below
# SkiaSharp (charts, ROI overlays) ships its own native library without fontconfig (NativeAssets.Linux.NoDependencies).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcharls2 libopenjp2-7 fonts-wqy-microhei tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown "$APP_UID:$APP_UID" /data
WORKDIR /app
COPY --from=build /app .
RUN ln -s /app/cli/qc /usr/local/bin/qc
# In a container the HTTP port must be reachable from outside: DICOMweb and the API then need credentials (see above);
# /health/* stays anonymous for the healthcheck and orchestrator probes. ASPNETCORE_HTTP_PORTS (set by the base image) is
# cleared so that Http:Urls alone says where HTTP listens.
ENV QC__Storage__DataPath=/data \
    QC__Http__Urls=http://0.0.0.0:8080 \
    ASPNETCORE_HTTP_PORTS=
VOLUME /data
EXPOSE 11112 8080
# The runtime images ship the non-root user "app"; its numeric id (APP_UID, 1654) so that Kubernetes' runAsNonRoot can
# verify it (a user name cannot be checked without the image's /etc/passwd).
USER $APP_UID
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["dotnet", "/app/QcPipeline.Service.dll"]
