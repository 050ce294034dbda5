#!/usr/bin/env bash
# Deterministic companion to scripts/bench.sh: user-space instructions per
# request of the whole server (TLS, HTTP, decode, rules, response, log line),
# counted by valgrind's callgrind while wrk drives the same reviews as bench.sh,
# for terway-guard, terway-guard passing through (the same reviews in namespace
# `default`: decoded, allowed, not judged; what its plumbing costs), the
# axum + kube-core baseline and the parse-and-echo floor. Unlike req/s, the count
# barely moves with the machine's neighbours (about ±1 % run to run).
# Kernel time (syscalls) is not counted, and under valgrind ring computes
# SHA-256 without the CPU's SHA extensions, so the config hash costs more
# here than natively.
# Needs: valgrind and wrk (apt-get install -y valgrind wrk).
# Usage: scripts/instructions.sh [SECONDS] (default 8; ~1500-3000 requests)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-8}
for tool in valgrind callgrind_control callgrind_annotate wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool is needed: apt-get install -y valgrind wrk curl" >&2; exit 2; }
done
cargo build --release --locked --bin terway-guard --example tls_baseline >&2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
bin=target/release/terway-guard
$bin certs --out "$work/certs" --dns localhost --dns 127.0.0.1 >&2
count() { # name port [pass] cmd... -> "requests instructions"
  local name=$1 port=$2 ns=; shift 2
  if [ "${1:-}" = pass ]; then ns=default; shift; fi
  valgrind --tool=callgrind --callgrind-out-file="$work/$name.%p" "$@" 2> "$work/$name.err" > /dev/null &
  local pid=$!
  for _ in $(seq 60); do
    curl -sk "https://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
    sleep 1
  done
  REVIEWS_NAMESPACE=$ns wrk -t1 -c4 -d3s -s scripts/reviews.lua "https://127.0.0.1:$port/validate" > /dev/null
  callgrind_control -z "$pid" > /dev/null
  local n
  n=$(REVIEWS_NAMESPACE=$ns wrk -t1 -c4 -d"${DURATION}s" --timeout 10s -s scripts/reviews.lua "https://127.0.0.1:$port/validate" | awk '/requests in/ {print $1}')
  callgrind_control -d "$pid" > /dev/null
  kill "$pid"; wait "$pid" 2> /dev/null || true
  local dump
  dump=$(ls -t "$work/$name".*.1 | head -1)
  echo "$n $(callgrind_annotate "$dump" 2> /dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
}

read -r g_n g_ir <<< "$(count guard 18481 $bin serve --listen 127.0.0.1:18481 \
  --tls-cert "$work/certs/tls.crt" --tls-key "$work/certs/tls.key" \
  --inventory examples/inventory.yaml --metrics-listen off)"
read -r p_n p_ir <<< "$(count pass 18484 pass $bin serve --listen 127.0.0.1:18484 \
  --tls-cert "$work/certs/tls.crt" --tls-key "$work/certs/tls.key" \
  --inventory examples/inventory.yaml --metrics-listen off)"
read -r f_n f_ir <<< "$(count floor 18482 target/release/examples/tls_baseline 127.0.0.1:18482 \
  "$work/certs/tls.crt" "$work/certs/tls.key" echo)"
read -r k_n k_ir <<< "$(count axum 18483 target/release/examples/tls_baseline 127.0.0.1:18483 \
  "$work/certs/tls.crt" "$work/certs/tls.key" axum)"
awk -v pn="$p_n" -v pi="$p_ir" -v gn="$g_n" -v gi="$g_ir" -v fn="$f_n" -v fi="$f_ir" -v kn="$k_n" -v ki="$k_ir" 'BEGIN {
  g = gi / gn; f = fi / fn; k = ki / kn; p = pi / pn
  printf "| server | requests | instructions per request |\n|---|---|---|\n"
  printf "| terway-guard serve | %d | %.0f k |\n", gn, g / 1000
  printf "| terway-guard serve, passing through (namespace default: decoded, allowed, not judged) | %d | %.0f k |\n", pn, p / 1000
  printf "| axum + kube-core (decode into AdmissionReview<DynamicObject>, answer allowed) | %d | %.0f k |\n", kn, k / 1000
  printf "| floor (parse into serde_json::Value, echo uid) | %d | %.0f k |\n", fn, f / 1000
  printf "\naxum + kube-core / terway-guard, instructions per request: **%.2f**; floor / terway-guard: %.2f\n", k / g, f / g
  printf "passing through: axum + kube-core / terway-guard: **%.2f**; judging adds %.0f k per review\n", k / p, (g - p) / 1000
}'
