# syntax=docker/dockerfile:1
# The Postd Connector Host image: the release `postd-host` and the connector components.
#   docker build -t postd-host .                        the host (the last stage, the default)
#   docker build --target sandbox -t postd-sandbox .    the platform sandbox (compose.yaml)
# Runs as uid 10001 on a read-only root filesystem: only /var/lib/postd (data: local vault key,
# SQLite when no database URL is given) and /var/cache/postd (compiled components) are written.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS source
WORKDIR /src
# Installed here once rather than by `make toolchain` at every build.
RUN rustup target add wasm32-wasip2
COPY . .

# `make release` builds the Makefile's CONNECTORS into plugins/ and the optimized host, so the
# image carries the same components as `make run`. The cache mounts keep crates and compiled
# dependencies between builds; what the image needs is copied out of them.
FROM source AS build
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    make release CARGO="cargo --locked" \
    && install -D -m 0755 target/release/postd-host /out/bin/postd-host \
    && install -d /out/plugins \
    && cp plugins/*.wasm /out/plugins/

FROM source AS sandbox-build
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p postd-sandbox \
    && install -D -m 0755 target/release/postd-sandbox /out/bin/postd-sandbox

FROM ${RUNTIME_IMAGE} AS base
# CA certificates for the platforms' HTTPS APIs, nothing else. Not pinned to a version, so a
# rebuild picks up Debian's certificate updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 postd \
    && useradd --system --uid 10001 --gid postd --home-dir /var/lib/postd --no-create-home \
       --shell /usr/sbin/nologin postd

# The platform sandbox (local imitations of the five platform APIs), for compose.yaml only.
FROM base AS sandbox
COPY --from=sandbox-build /out/bin/postd-sandbox /usr/local/bin/postd-sandbox
USER 10001:10001
EXPOSE 7700
# It stops on Ctrl-C (SIGINT) only.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7700 && printf 'GET /_control/endpoints HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["postd-sandbox"]
CMD ["--listen", "0.0.0.0:7700"]

FROM base AS host
COPY --from=build /out/bin/postd-host /usr/local/bin/postd-host
COPY --from=build /out/plugins/ /usr/lib/postd/plugins/
# Defaults meant to be replaced by mounts (a ConfigMap, a bind mount): no plugin is enabled
# until the operator's plugins.toml grants it its hosts.
COPY deploy/docker/postd.toml deploy/docker/plugins.toml /etc/postd/
RUN install -d -o postd -g postd -m 0700 /var/lib/postd /var/cache/postd
ENV POSTD_CONFIG=/etc/postd/postd.toml \
    POSTD_PLUGINS=/etc/postd/plugins.toml \
    POSTD_DATA_DIR=/var/lib/postd \
    POSTD_CACHE_DIR=/var/cache/postd \
    POSTD_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/postd", "/var/cache/postd"]
USER 10001:10001
EXPOSE 8080
# postd-host has no probe command and the image no HTTP client: bash (already in the base image,
# unlike curl, which would add a dozen libraries) sends GET /livez over /dev/tcp to the port of
# POSTD_LISTEN and passes on a 200 status line.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${POSTD_LISTEN##*:} && printf 'GET /livez HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["postd-host"]
CMD ["run"]
