# Build: docker build -t cabinet .
# Run:   docker run -e TELOXIDE_TOKEN=… -v cabinet-data:/data cabinet
#
# `docker stop` (or Kubernetes) sends SIGTERM to the bot, which runs as PID 1 through the
# exec-form ENTRYPOINT: it stops polling, finishes the updates in hand, stops its jobs and
# closes the database, then exits. No init process (`--init`, tini) is needed.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The dependencies first, in a layer of their own that is rebuilt only when a manifest or the
# lock file changes (the benches are copied because the manifest declares them; each crate
# of the workspace gets an empty stand-in until its sources come).
COPY Cargo.toml Cargo.lock ./
COPY crates/core/Cargo.toml crates/core/
COPY crates/sandbox/Cargo.toml crates/sandbox/
COPY crates/replay/Cargo.toml crates/replay/
COPY benches ./benches
RUN for crate in . crates/core crates/sandbox crates/replay; do mkdir -p "$crate/src" && touch "$crate/src/lib.rs"; done \
    && echo 'fn main() {}' > src/main.rs \
    && cargo build --release --locked --bin cabinet \
    && rm -rf src crates target/release/.fingerprint/cabinet* target/release/deps/cabinet* target/release/deps/libcabinet*
# Then everything the crates include at compile time (tests/it/ops.rs checks this list), and
# the build script (it lists the transcripts for the tests, and finds none here).
COPY build.rs ./
COPY src ./src
COPY crates ./crates
COPY migrations ./migrations
COPY locales ./locales
COPY dialogues ./dialogues
COPY demo ./demo
COPY assets ./assets
COPY cabinet.toml.example ./
RUN cargo build --release --locked --bin cabinet

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cabinet \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /data cabinet \
    && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /src/target/release/cabinet /usr/local/bin/cabinet
# A numeric user, so that runtimes enforcing non-root users (runAsNonRoot) can verify it.
USER 10001:10001
WORKDIR /data
ENV DATABASE_URL=sqlite:///data/cabinet.db RUST_LOG=info
# /healthz, /metrics and, in webhook mode (CABINET_WEBHOOK_URL), the webhook.
ENV CABINET_LISTEN=0.0.0.0:8080
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["cabinet"]
CMD ["run"]
