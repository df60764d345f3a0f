# Build: docker build -t cabinet .
# Run:   docker run -e TELOXIDE_TOKEN=… -v cabinet-data:/data cabinet
#
# `docker stop` (or Kubernetes) sends SIGTERM to the bot, which runs as PID 1 through the
# exec-form ENTRYPOINT: it stops polling, finishes the updates in hand, stops its jobs and
# closes the database, then exits. No init process (`--init`, tini) is needed.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The dependencies first, in a layer of their own that is rebuilt only when the manifest or
# the lock file changes (the benches are copied because the manifest declares them).
COPY Cargo.toml Cargo.lock ./
COPY benches ./benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin cabinet \
    && rm -rf src target/release/.fingerprint/cabinet-* target/release/deps/cabinet-* target/release/deps/libcabinet-*
# Then everything the crate includes at compile time (tests/it/ops.rs checks this list), and
# the build script (it lists the transcripts for the tests, and finds none here).
COPY build.rs ./
COPY src ./src
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
STOPSIGNAL SIGTERM
ENTRYPOINT ["cabinet"]
CMD ["run"]
