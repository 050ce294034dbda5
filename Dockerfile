# The same image scripts/image.sh builds with buildah, for those with a Docker
# engine: a static (musl) terway-guard from scratch (the binary embeds its TLS
# roots), non-root 65532, entrypoint the binary, OCI labels.
# Build: docker build --build-arg REVISION=$(git rev-parse HEAD) -t terway-guard .
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY examples ./examples
COPY benches ./benches
COPY tests ./tests
ENV CC_x86_64_unknown_linux_musl=musl-gcc CARGO_PROFILE_RELEASE_STRIP=symbols
RUN cargo build --release --locked --target x86_64-unknown-linux-musl --bin terway-guard \
 && cp target/x86_64-unknown-linux-musl/release/terway-guard /terway-guard

FROM scratch
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="terway-guard" \
      org.opencontainers.image.description="Guards Terway's eni-config on ACK and grows vSwitch capacity" \
      org.opencontainers.image.source="https://github.com/terway-guard/terway-guard" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build --chmod=0755 /terway-guard /usr/local/bin/terway-guard
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/terway-guard"]
