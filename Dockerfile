# Build: docker build -t cabinet .
# Run:   docker run -e TELOXIDE_TOKEN=… -v cabinet-data:/data cabinet
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY locales ./locales
COPY dialogues ./dialogues
COPY demo ./demo
RUN cargo build --release --locked --bin cabinet

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /data cabinet \
    && mkdir -p /data && chown cabinet /data
COPY --from=build /src/target/release/cabinet /usr/local/bin/cabinet
USER cabinet
WORKDIR /data
ENV DATABASE_URL=sqlite:///data/cabinet.db RUST_LOG=info
ENTRYPOINT ["cabinet"]
CMD ["run"]
