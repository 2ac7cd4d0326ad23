# syntax=docker/dockerfile:1
# Notary silo image. COPY --parents needs Dockerfile frontend 1.20 or later, which the
# "docker/dockerfile:1" syntax line above selects.

# --- build: restore first (cached while no project file changes), then publish ---------------
# The output is framework-dependent and portable (no runtime identifier), so it builds on the
# build machine's own platform and runs on any platform of the runtime stage.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1

COPY global.json Directory.* ./
COPY --parents src/*/*.csproj src/*/packages.lock.json ./
RUN --mount=type=cache,id=notary-nuget,target=/root/.nuget/packages \
    dotnet restore --locked-mode src/Silo/Silo.csproj

# .editorconfig sets analyzer severities; without it the Release build would differ from CI's.
COPY .editorconfig ./
COPY src/ src/
COPY charts/notary/crds/ charts/notary/crds/
# Only the production host: src/Silo references neither src/Dev nor src/DevCluster nor src/Cli
# (tests/Architecture.Tests), so the image carries no in-memory API server.
RUN --mount=type=cache,id=notary-nuget,target=/root/.nuget/packages \
    dotnet publish src/Silo/Silo.csproj -c Release -o /app --no-restore --no-self-contained -p:UseAppHost=false

# --- runtime ------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
LABEL org.opencontainers.image.title="notary" \
      org.opencontainers.image.description="Certificate lifecycle controller for Kubernetes, built on Orleans"

# Runs with a read-only root filesystem: nothing is written outside /tmp (mount an emptyDir
# there). HOME points there too, so that anything defaulting to the home directory (ASP.NET Core
# data protection keys, for one) does not fail on the read-only root.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    HOME=/tmp \
    TMPDIR=/tmp

# Debian's public root bundle for Truststore sources with defaultCAs: true, read from
# /etc/ssl/certs/ca-certificates.crt (Notary__TrustSources__DefaultCAsPath). The base image has the
# package; installing it here makes the dependency explicit and takes the newest roots of the
# release at build time, so a rebuilt image carries the current list.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && test -s /etc/ssl/certs/ca-certificates.crt

WORKDIR /app
# Owned by root and not writable by the app user.
COPY --from=build --link /app ./

# The non-root "app" user (uid 1654) that the .NET images define; numeric for runAsNonRoot.
USER $APP_UID

# 8080: HTTP API, health and metrics. 11111: Orleans silo-to-silo. 30000: Orleans gateway.
EXPOSE 8080 11111 30000

ENTRYPOINT ["dotnet", "Notary.Silo.dll"]
