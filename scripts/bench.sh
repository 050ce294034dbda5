#!/usr/bin/env bash
# Load benchmark: the release binary over TLS with keep-alive, driven by wrk
# on 127.0.0.1 with varied reviews (scripts/reviews.lua: a fresh uid and a
# different new object every request), against three baselines of
# examples/tls_baseline.rs in the same run, all on rustls + hyper:
# - axum: an axum router that decodes the review into kube-core's types and
#   answers allowed (kube-rs's admission example without its label check:
#   what a framework costs). This is the headline comparison.
# - floor: parses the review into serde_json::Value and answers with its uid
#   (the work every webhook must do).
# - fixed: a fixed answer, no JSON.
# - terway-guard passing through: the same reviews moved to namespace
#   `default`, which terway-guard decodes (the old object only scanned) and
#   allows without judging: what its own plumbing costs, beside the
#   framework's. The gap between this row
#   and terway-guard's is the judging (Go-faithful parse, rules, hash, audit
#   annotations, log line).
# Each server gets ROUNDS runs, interleaved: terway-guard, the axum baseline
# and the floor run back to back in each round (the order rotates), and the
# headline ratios are medians of the per-round ratios. This machine's
# neighbours swing single runs by ±25 %; runs seconds apart swing together.
# Prints a Markdown table (requests/s, ratios, latency, CPU, RSS).
# Needs: wrk (apt-get install -y wrk).
# Usage: scripts/bench.sh [SECONDS] [CONNECTIONS] [ROUNDS] (default 5 8 5, wrk -t1)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-5}
CONNS=${2:-8}
ROUNDS=${3:-5}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 2; }
cargo build --release --locked --bin terway-guard --example tls_baseline >&2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
bin=target/release/terway-guard
$bin certs --out "$work/certs" --dns localhost --dns 127.0.0.1 >&2

$bin serve --listen 127.0.0.1:18443 --tls-cert "$work/certs/tls.crt" --tls-key "$work/certs/tls.key" \
  --inventory examples/inventory.yaml --metrics-listen 127.0.0.1:19091 2> "$work/serve.log" &
guard=$!
target/release/examples/tls_baseline 127.0.0.1:18444 "$work/certs/tls.crt" "$work/certs/tls.key" fixed &
base=$!
target/release/examples/tls_baseline 127.0.0.1:18445 "$work/certs/tls.crt" "$work/certs/tls.key" echo &
floor=$!
target/release/examples/tls_baseline 127.0.0.1:18446 "$work/certs/tls.crt" "$work/certs/tls.key" axum &
kube=$!
sleep 1

# The reviews of scripts/reviews.lua, and a line wrk prints at the end.
{ cat scripts/reviews.lua; cat <<'LUA'; } > "$work/post.lua"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %.3f\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

rss() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
idle_rss=$(rss $guard VmRSS)

run() { # pid port [namespace of the reviews] -> "rps p50 p99 cpu"
  local c0 c1 out
  c0=$(cpu "$1")
  out=$(REVIEWS_NAMESPACE=${3:-} wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$work/post.lua" "https://127.0.0.1:$2/validate" | awk '/^RESULT/ {print $2, $3, $4}')
  c1=$(cpu "$1")
  echo "$out $(awk -v a="$c0" -v b="$c1" -v t="$tck" -v d="$DURATION" 'BEGIN {printf "%.2f", (b - a) / t / d}')"
}
median() { sort -n -k1,1 | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'; }
# Warm-up, then ROUNDS interleaved runs per server.
wrk -t1 -c"$CONNS" -d2s -s "$work/post.lua" "https://127.0.0.1:18443/validate" >/dev/null
: > "$work/g"; : > "$work/f"; : > "$work/b"; : > "$work/k"; : > "$work/p"
for r in $(seq "$ROUNDS"); do
  case $((r % 3)) in
    1) run $guard 18443 >> "$work/g"; run $kube 18446 >> "$work/k"; run $floor 18445 >> "$work/f" ;;
    2) run $kube 18446 >> "$work/k"; run $floor 18445 >> "$work/f"; run $guard 18443 >> "$work/g" ;;
    0) run $floor 18445 >> "$work/f"; run $guard 18443 >> "$work/g"; run $kube 18446 >> "$work/k" ;;
  esac
  run $base 18444 >> "$work/b"
  run $guard 18443 default >> "$work/p"
done
# Per-round ratios, in round order: to the floor, to the fixed answer, to axum.
paste -d' ' "$work/g" "$work/f" "$work/b" "$work/k" "$work/p" |
  awk '{printf "%.2f %.2f %.2f %.2f\n", $1 / $5, $1 / $9, $1 / $13, $17 / $13}' > "$work/ratios"
read -r g_rps g_p50 g_p99 g_cpu <<< "$(median < "$work/g")"
read -r k_rps k_p50 k_p99 k_cpu <<< "$(median < "$work/k")"
read -r f_rps f_p50 f_p99 f_cpu <<< "$(median < "$work/f")"
read -r b_rps b_p50 b_p99 b_cpu <<< "$(median < "$work/b")"
read -r p_rps p_p50 p_p99 p_cpu <<< "$(median < "$work/p")"
peak_rss=$(rss $guard VmHWM)

# Server-side p99 from terway-guard's own latency histogram.
server_p99=$(curl -s http://127.0.0.1:19091/metrics | awk '
  /^terway_guard_admission_duration_seconds_bucket\{endpoint="validate"/ {
    match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5); n[++k] = $NF; b[k] = le }
  /^terway_guard_admission_duration_seconds_count\{endpoint="validate"/ { total = $NF }
  END { for (i = 1; i <= k; i++) if (n[i] >= 0.99 * total) { print b[i]; exit } }')

ratio=$(cut -d' ' -f1 "$work/ratios" | median)
ratio_fixed=$(cut -d' ' -f2 "$work/ratios" | median)
ratio_kube=$(cut -d' ' -f3 "$work/ratios" | median)
pass_kube=$(cut -d' ' -f4 "$work/ratios" | median)
kube_floor=$(awk -v a="$k_rps" -v b="$f_rps" 'BEGIN {printf "%.2f", a / b}')
of_medians=$(awk -v a="$g_rps" -v b="$f_rps" 'BEGIN {printf "%.2f", a / b}')
cat <<TABLE
| server | requests/s (median of $ROUNDS) | p50 ms | p99 ms | CPU (cores) | RSS |
|---|---|---|---|---|---|
| terway-guard serve | $g_rps | $g_p50 | $g_p99 | $g_cpu | idle $((idle_rss / 1024)) MiB, peak $((peak_rss / 1024)) MiB |
| terway-guard serve, passing through (same reviews in namespace default: decoded, allowed, not judged) | $p_rps | $p_p50 | $p_p99 | $p_cpu | |
| axum + kube-core (decode into AdmissionReview<DynamicObject>, answer allowed) | $k_rps | $k_p50 | $k_p99 | $k_cpu | |
| floor (rustls + hyper, parse into serde_json::Value, echo uid) | $f_rps | $f_p50 | $f_p99 | $f_cpu | |
| baseline (rustls + hyper, fixed answer) | $b_rps | $b_p50 | $b_p99 | $b_cpu | |

Ratio to the axum + kube-core baseline: **$ratio_kube** (median of the per-round ratios $(cut -d' ' -f3 "$work/ratios" | tr '\n' ' ')); that baseline to the floor: $kube_floor.
Passing through, terway-guard to the axum + kube-core baseline: **$pass_kube** (median of the per-round ratios $(cut -d' ' -f4 "$work/ratios" | tr '\n' ' ')).
Ratio to the parse-and-echo floor: **$ratio** (median of the per-round ratios $(cut -d' ' -f1 "$work/ratios" | tr '\n' ' ')| ratio of the medians: $of_medians); to the fixed answer: $ratio_fixed. Server-side p99 (histogram bucket): ≤ ${server_p99} s.
Each run: wrk -t1 -c$CONNS -d${DURATION}s on 127.0.0.1, keep-alive; per round: $(awk '{printf "%s ", $1}' "$work/g")req/s (terway-guard), $(awk '{printf "%s ", $1}' "$work/f")req/s (floor), $(awk '{printf "%s ", $1}' "$work/k")req/s (axum). 2 cores shared by wrk and the server, $(nproc) cores.
TABLE
