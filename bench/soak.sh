#!/usr/bin/env bash
# Soak test: a fresh server with the default data (metrics and the access log on, as in
# production) under the benchmark's highest concurrency for a while (default 5 minutes) of mixed
# calls (codebook_bench --phases=soak: Lookup, Search, BatchLookup, ValidateCode). Prints the
# load per 30 s, the server's resident memory after the first minute and at the end, and the
# errors seen by the client and counted by the server.
# Passes (exit 0) with zero errors and memory at the end within 10% of memory after 1 minute.
# Usage: bench/soak.sh [SECONDS] [extra codebook_bench flags]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-300}"
shift || true
"$root/deploy/build.sh" >/dev/null
bin="$root/build"
data="$root/../shared/data"
[[ -d "$data/icd10cm" ]] || data="$root/data/sample"
work=$(mktemp -d /tmp/codebook-soak-XXXXXX)
pid="" sampler=""
cleanup() {
  [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/server/codebookd" --plaintext --listen=127.0.0.1:0 --db="$work/db" --port_file="$work/ports" \
  --metrics_listen=127.0.0.1:0 --access_log=/dev/null 2>>"$work/server.log" &
pid=$!
for _ in $(seq 1 200); do [[ -s "$work/ports" ]] && break; sleep 0.05; done
addr="127.0.0.1:$(sed -n 1p "$work/ports")"
metrics="http://127.0.0.1:$(sed -n 2p "$work/ports")/metrics"
echo "== loading the default data ($data)"
"$root/deploy/load-default-data.sh" --server="$addr" "$data" > "$work/load.log" 2>&1
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }  # KiB
# Calls and errors the server has counted so far (the load's own NOT_FOUND probes included).
counted() { curl -s "$metrics" | awk -v m="$1" '$0 ~ "^" m {s += $2} END {print s + 0}'; }
errors_before=$(counted codebook_rpc_errors_total)
calls_before=$(counted codebook_rpc_calls_total)
echo "== soak: ${seconds} s; server pid $pid, resident memory $(($(rss) / 1024)) MiB after loading"
begin=$(date +%s)
( while kill -0 "$pid" 2>/dev/null; do echo "$(( $(date +%s) - begin )) $(rss)"; sleep 5; done ) \
  > "$work/rss.log" &
sampler=$!
"$bin/bench/codebook_bench" --server="$addr" --data="$data" --phases=soak \
  --soak_seconds="$seconds" --concurrency=32 "$@" | tee "$work/bench.log"
end_kib=$(rss)
kill "$sampler" 2>/dev/null || true
sampler=""
first_kib=$(awk '$1 >= 60 {print $2; exit}' "$work/rss.log")
server_errors=$(( $(counted codebook_rpc_errors_total) - errors_before ))
server_calls=$(( $(counted codebook_rpc_calls_total) - calls_before ))
client_errors=$(sed -nE 's/^soak: .* ([0-9]+) errors.*/\1/p' "$work/bench.log")
echo "== memory (VmRSS) of codebookd, sampled every 5 s:"
awk '{printf "  %4d s  %7.1f MiB\n", $1, $2 / 1024}' "$work/rss.log" | awk 'NR % 6 == 1'
awk -v a="$first_kib" -v b="$end_kib" 'BEGIN {
  printf "  after the first minute: %.1f MiB; at the end: %.1f MiB; end / first minute = %.3f\n",
         a / 1024, b / 1024, b / a }'
echo "== errors during the soak: client ${client_errors:-?}; server ${server_errors} of ${server_calls} calls (its metrics)"
ok=$(awk -v a="$first_kib" -v b="$end_kib" 'BEGIN { print (b <= 1.10 * a) ? 1 : 0 }')
if [[ "$ok" == 1 && "${client_errors:-1}" == 0 && "$server_errors" == 0 ]]; then
  echo "soak: passed (zero errors, memory within 10% of the first minute)"
else
  echo "soak: FAILED"
  exit 1
fi
