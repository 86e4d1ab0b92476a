# Build: a release binary from the workspace.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY entities entities
COPY vendor vendor
COPY src src
RUN cargo build --release --locked --bin flatmates

# Run: a slim image with CA certificates for TLS to the database and Sentry.
FROM debian:bookworm-slim
# /data is the one place the service's user may write: /app, the working directory, is
# root's, so a relative SQLite path cannot be created there.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 flatmates \
    && useradd --system --uid 10001 --gid flatmates --home /app flatmates \
    && mkdir /data \
    && chown flatmates:flatmates /data
WORKDIR /app
COPY --from=build /src/target/release/flatmates /usr/local/bin/flatmates
# By number: a platform that refuses root (Kubernetes' runAsNonRoot) can only tell a
# numeric user is not root without reading the image's /etc/passwd.
USER 10001:10001
# Without a DATABASE_URL of its own the container keeps a SQLite file on its volume; give
# it PostgreSQL for anything that must outlive the container or run more than one replica.
ENV HOST=0.0.0.0 PORT=8000 DATABASE_URL=sqlite:///data/flatmates.db?mode=rwc
VOLUME /data
EXPOSE 8000
# Liveness, not readiness: a platform that restarts unhealthy containers must not restart
# one whose database is asleep; the image has no curl, so the binary asks.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["flatmates", "probe", "live"]
CMD ["flatmates", "serve"]
