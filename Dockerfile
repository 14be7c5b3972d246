# Multi-stage build of the service (src/QcPipeline.Service) with the `qc` CLI beside it.
#   docker build -t qcpipeline .
#   docker run -p 11112:11112 -p 8080:8080 -v qcdata:/data qcpipeline
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
# In a container the HTTP port must be reachable from outside; today it serves only /health/* and /metrics.
ENV QC__Storage__DataPath=/data \
    QC__Http__Urls=http://0.0.0.0:8080
VOLUME /data
EXPOSE 11112 8080
# The runtime images ship the non-root user "app".
USER app
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["dotnet", "/app/QcPipeline.Service.dll"]
