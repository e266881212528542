# syntax=docker/dockerfile:1
#
# Fleet's container image: one binary for every role (serve, worker, recommender, migrate).
#
#   docker build -t fleet .
#   docker run --rm -p 8080:8080 -v fleet-data:/var/lib/fleet fleet      # T0: SQLite in the volume
#
# Kubernetes runs it with the manifests in deploy/kubernetes/ (read-only root, UID 10001).
# Not built by the test command (no container runtime on the CI machine): keep it small,
# and scripts/k8s-check.sh checks it statically (multi-stage, static Swift standard
# library, non-root numeric USER that matches the manifests' runAsUser).

ARG SWIFT_VERSION=6.2

# --- build: the Swift toolchain on Debian 12, the same distribution as the runtime below,
# so the binary links against the same glibc, libstdc++ and SQLite it will find there.
FROM swift:${SWIFT_VERSION}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when the manifest changes.
COPY Package.* ./
RUN swift package resolve
COPY . .
# --static-swift-stdlib links the Swift runtime and Foundation into the binary, so the
# runtime image needs no Swift toolchain, only the system libraries below.
# TRAITS=OTLP builds in the OTLP trace exporter (docker build --build-arg TRAITS=OTLP).
ARG TRAITS=""
RUN swift build -c release --product fleet --static-swift-stdlib ${TRAITS:+--traits "$TRAITS"} \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/fleet" /out/fleet

# --- runtime: Debian slim, the binary, and nothing to build with.
FROM debian:bookworm-slim
# libsqlite3-0: the embedded database (T0, and the system SQLite Fleet links);
# ca-certificates: an https OTLP collector (and any TLS Fleet adds later); tzdata: local
# times in logs where TZ is set. The other libraries the binary links (glibc, libstdc++,
# libgcc, zlib) are in every Debian image, since apt and dpkg need them; /bin/sleep
# (coreutils) is the Kubernetes preStop pause.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-0 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 fleet \
 && useradd --system --uid 10001 --gid fleet --home-dir /var/lib/fleet --shell /usr/sbin/nologin fleet \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/fleet
COPY --from=build /out/fleet /usr/local/bin/fleet

# A numeric user, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/fleet
# Listen on the container's interfaces (Fleet's own default is loopback); the admin
# listener stays on loopback unless it is set too (the Kubernetes manifests do, behind a
# NetworkPolicy). data.dir holds the SQLite file and generated secret when no database
# URL and JWT secret are given.
ENV FLEET_HTTP_HOST=0.0.0.0 \
    FLEET_DATA_DIR=/var/lib/fleet
EXPOSE 8080 9464 8092
ENTRYPOINT ["/usr/local/bin/fleet"]
CMD ["serve"]
