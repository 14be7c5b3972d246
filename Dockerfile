# Multi-stage build. Today the image carries the `qc` CLI and the DICOM toolkit; the service executable
# (src/QcPipeline.Service) replaces the entry point when it lands, with its healthcheck.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props QcPipeline.sln ./
COPY src/ src/
RUN dotnet publish src/QcPipeline.Cli/QcPipeline.Cli.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/runtime:10.0
# Native decoders for JPEG-LS and JPEG 2000 pixel data (loaded at run time when present).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcharls2 libopenjp2-7 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
# The runtime images ship the non-root user "app".
USER app
ENTRYPOINT ["/app/qc"]
