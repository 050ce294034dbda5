# Static (musl) terway-guard on a minimal non-root base.
# Build: docker build -t terway-guard .
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY examples ./examples
COPY benches ./benches
ENV CC_x86_64_unknown_linux_musl=musl-gcc
RUN cargo build --release --locked --target x86_64-unknown-linux-musl --bin terway-guard \
 && cp target/x86_64-unknown-linux-musl/release/terway-guard /terway-guard

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /terway-guard /usr/local/bin/terway-guard
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/terway-guard"]
