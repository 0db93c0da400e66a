# syntax=docker/dockerfile:1
# The eda suite's images. One multi-stage build:
#   docker build -t eda .                                  # every binary (target `runtime`)
#   docker build --target provisioner -t eda-provisioner . # the same plus the helm binary
# Both run as the non-root user 10001 on Debian slim; the binaries are in /usr/local/bin and the
# built-in catalog's chart (helm/demo-product) in /usr/share/eda (PROVISIONER_CHART_ROOT).

ARG RUST_VERSION=1.95
ARG DEBIAN=bookworm

# --- build: a plain release build of every binary of the workspace ---------------------------------
FROM rust:${RUST_VERSION}-slim-${DEBIAN} AS builder
WORKDIR /src
COPY . .
# The cache mounts keep the registry and target directory between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
    && mkdir -p /out \
    && for b in producer consumer dbwriter provisioner k8s-event-exporter; do cp "target/release/$b" /out/; done

# --- runtime: every binary, non-root ------------------------------------------------------------------
FROM debian:${DEBIAN}-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 eda \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin eda
COPY --from=builder /out/ /usr/local/bin/
COPY catalog/ /usr/share/eda/catalog/
COPY helm/demo-product/ /usr/share/eda/helm/demo-product/
COPY --chmod=0755 deploy/docker/healthcheck.sh /usr/local/bin/eda-healthcheck
ENV LOG_FORMAT=json \
    PROVISIONER_CHART_ROOT=/usr/share/eda \
    HOME=/tmp
USER 10001:10001
# Liveness of whichever service runs (its /healthz; the port from HTTP_ADDR or its default).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/eda-healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# Pick the service with the command, e.g. `docker run eda producer --help`.
CMD ["producer", "--help"]

# --- helm, fetched from the official release and checked against its published SHA-256 -------------
FROM debian:${DEBIAN}-slim AS helm
ARG HELM_VERSION=v3.16.3
# From https://get.helm.sh/helm-v3.16.3-linux-amd64.tar.gz.sha256sum
ARG HELM_SHA256_AMD64=f5355c79190951eed23c5432a3b920e071f4c00a64f75e077de0dd4cb7b294ea
ARG TARGETARCH=amd64
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN set -eu; \
    [ "$TARGETARCH" = amd64 ] || { echo "pin HELM_SHA256 for $TARGETARCH first" >&2; exit 1; }; \
    curl -fsSLo /tmp/helm.tgz "https://get.helm.sh/helm-${HELM_VERSION}-linux-${TARGETARCH}.tar.gz"; \
    echo "${HELM_SHA256_AMD64}  /tmp/helm.tgz" | sha256sum -c -; \
    tar -xzf /tmp/helm.tgz -C /tmp "linux-${TARGETARCH}/helm"; \
    install -m 0755 "/tmp/linux-${TARGETARCH}/helm" /usr/local/bin/helm

# --- the provisioner: the runtime plus helm ---------------------------------------------------------
FROM runtime AS provisioner
COPY --from=helm /usr/local/bin/helm /usr/local/bin/helm
# helm keeps cache and config under these; the chart mounts an emptyDir on /tmp.
ENV HELM_CACHE_HOME=/tmp/helm/cache \
    HELM_CONFIG_HOME=/tmp/helm/config \
    HELM_DATA_HOME=/tmp/helm/data
CMD ["provisioner", "--help"]
