#!/usr/bin/env bash
# Builds the container image without Docker: a static (musl) terway-guard in
# an OCI image from scratch (no base image to pull; the binary embeds its TLS
# roots), non-root user 65532, with OCI labels, written as an OCI archive:
#
#   target/image/terway-guard-<version>.oci.tar
#
# Load it with `podman load -i …`, `skopeo copy oci-archive:… docker://…`
# or `ctr images import …`. Installs what it needs (buildah, musl-tools, the
# musl target) when it may.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
need=()
command -v buildah >/dev/null || need+=(buildah)
command -v musl-gcc >/dev/null || need+=(musl-tools)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "image.sh needs: ${need[*]} (apt-get install -y ${need[*]})" >&2
    exit 2
  fi
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url="https://github.com/terway-guard/terway-guard"
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# Symbols stripped: the image carries what runs, nothing else. The release
# profile (Cargo.toml: fat LTO, one codegen unit) is what the benches measure.
CC_x86_64_unknown_linux_musl=musl-gcc CARGO_PROFILE_RELEASE_STRIP=symbols \
  cargo build --release --locked --target "$target" --bin terway-guard
bin="target/$target/release/terway-guard"

out="target/image"
archive="$out/terway-guard-$version.oci.tar"
mkdir -p "$out"
rm -f "$archive"

# vfs storage works wherever buildah does (no overlay mounts needed).
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah copy --chmod 0755 "$ctr" "$bin" /usr/local/bin/terway-guard >/dev/null
buildah config \
  --user 65532:65532 \
  --entrypoint '["/usr/local/bin/terway-guard"]' \
  --cmd "[]" \
  --created-by "scripts/image.sh: static musl binary, from scratch" \
  --label org.opencontainers.image.title=terway-guard \
  --label "org.opencontainers.image.description=Guards Terway's eni-config on ACK and grows vSwitch capacity" \
  --label "org.opencontainers.image.source=$source_url" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.created=$created" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  "$ctr"
image="localhost/terway-guard:$version"
buildah commit --quiet --format oci --rm "$ctr" "$image" >/dev/null
trap - EXIT
buildah push --quiet "$image" "oci-archive:$archive:terway-guard:$version"
buildah rmi "$image" >/dev/null 2>&1 || true

size=$(stat -c %s "$archive")
echo "$archive ($((size / 1024 / 1024)) MiB, $size bytes; binary $(stat -c %s "$bin") bytes)"
