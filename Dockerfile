# Multi-stage build of the service (src/QcPipeline.Service) with the `qc` CLI beside it.
#   docker build -t qcpipeline .
#   docker run -p 11112:11112 -p 8080:8080 -v qcdata:/data \
#     -e QC__Http__Auth__ApiKeys__0__Name=pacs -e QC__Http__Auth__ApiKeys__0__KeySha256="$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)" \
#     qcpipeline
# The HTTP API listens beyond loopback here, so it requires credentials: without an API key or a JWT issuer the service
# refuses to start (exit code 2, the reason on stderr). README "HTTP authentication and HTTPS".
# The deploy issue adds the compose stack (RabbitMQ, PostgreSQL, Prometheus, Grafana) around it.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props QcPipeline.sln ./
COPY src/ src/
RUN dotnet publish src/QcPipeline.Service/QcPipeline.Service.csproj -c Release -o /app --nologo \
 && dotnet publish src/QcPipeline.Cli/QcPipeline.Cli.csproj -c Release -o /app/cli --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# Native decoders for JPEG-LS and JPEG 2000 pixel data (loaded at run time when present); curl for the healthcheck.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcharls2 libopenjp2-7 curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown app:app /data
WORKDIR /app
COPY --from=build /app .
RUN ln -s /app/cli/qc /usr/local/bin/qc
# In a container the HTTP port must be reachable from outside: DICOMweb and the API then need credentials (see above);
# /health/* stays anonymous for the healthcheck and orchestrator probes.
ENV QC__Storage__DataPath=/data \
    QC__Http__Urls=http://0.0.0.0:8080
VOLUME /data
EXPOSE 11112 8080
# The runtime images ship the non-root user "app".
USER app
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["dotnet", "/app/QcPipeline.Service.dll"]
