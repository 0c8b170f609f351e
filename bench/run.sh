#!/usr/bin/env bash
# Runs Codebook's benchmark end to end on this machine and prints every figure:
#   1. import time of one ICD-10-CM release through the CLI (parse + upload + publish) into a
#      fresh server and database, median of 3;
#   2. codebook_bench: in-process storage figures (import per release, database size with all
#      releases vs. the latest alone after compaction, storage lookups/s), then Ping, Lookup and
#      BatchLookup against a server holding the default data, with the ratios;
#   3. bench/postgres.sh: PostgreSQL on the same machine doing the same (import of the same file,
#      batch lookup of 1,000 codes, unary lookup at concurrency 32), and the ratios of the two;
#   4. bench/footprint.sh: the releases of the default data with the counts SOURCES.md gives,
#      then the database folder against its live data and the server's memory after the load,
#      after a restart and after ten import-and-retract cycles.
# Usage: bench/run.sh [extra codebook_bench flags, e.g. --repeat=5 --concurrency=32]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/deploy/build.sh" >/dev/null
bin="$root/build"
data="$root/../shared/data"
[[ -d "$data/icd10cm" ]] || data="$root/data/sample"
work=$(mktemp -d /tmp/codebook-bench-run-XXXXXX)
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start_server() {  # $1: database folder; sets pid and addr
  rm -f "$work/port"
  "$bin/server/codebookd" --plaintext --listen=127.0.0.1:0 --fhir_listen=127.0.0.1:0 --db="$1" \
    --port_file="$work/port" 2>>"$work/server.log" &
  pid=$!
  for _ in $(seq 1 200); do [[ -s "$work/port" ]] && break; sleep 0.05; done
  addr="127.0.0.1:$(head -n 1 "$work/port")"
  fhir="127.0.0.1:$(sed -n 4p "$work/port")"
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

latest=$(ls -d "$data"/icd10cm/[0-9]*/ | sort | tail -1)
latest_file=$(ls "$latest" | grep -E '^icd10cm[-_]order[-_].*\.txt(\.gz)?$' | grep -v addenda | head -1)
echo "== import of one ICD-10-CM release ($latest_file) into a fresh server, CLI end to end"
times=()
for run in 1 2 3; do
  start_server "$work/import-$run"
  line=$("$bin/client/codebook" --server="$addr" import --system=ICD10CM --version=BENCH \
    --effective=2024-10-01 --format=icd10cm-order --publish "$latest$latest_file" 2>&1 >/dev/null |
    grep -o 'total [0-9.]* s')
  echo "  run $run: $line"
  times+=("$(awk '{print $2}' <<<"$line")")
  stop_server
done
import_s=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
printf '  median: %s s (goal <= 0.5 s)\n' "$import_s"

echo "== loading the default data into a fresh server"
start_server "$work/db"
# One line per file imported: the release it belongs to, the file's format, the CLI's total.
"$root/deploy/load-default-data.sh" --server="$addr" "$data" 2>&1 | awk '
  /^== [A-Z0-9-]+ [^ ]+ \(effective/ { release = $2 " " $3; next }
  /total [0-9.]+ s/ {
    format = ""; if (match($0, /\([a-z0-9-]+\)/)) format = substr($0, RSTART, RLENGTH)
    if (match($0, /total [0-9.]+ s/)) printf "  %-22s %-18s %s\n", release, format, substr($0, RSTART + 6, RLENGTH - 6)
  }'
echo "== codebook_bench"
"$bin/bench/codebook_bench" --server="$addr" --fhir="$fhir" --data="$data" "$@" | tee "$work/bench.txt"
stop_server

# PostgreSQL beside it, then the ratios (Codebook's figures from the runs above).
"$root/bench/postgres.sh" "$latest$latest_file" | tee "$work/pg.txt"
figure() { grep -E "^  $1 +[0-9]" "$work/bench.txt" | head -1 | awk '{print $NF}'; }
pg() { grep -oE "$1=[0-9.]+" "$work/pg.txt" | cut -d= -f2; }
batch=$(figure 'batch codes/s') lookup=$(figure 'lookup calls/s')
stream=$(figure 'stream codes/s') stream_basic=$(figure 'stream codes/s, basic view')
ping=$(figure 'ping calls/s') lookup_basic=$(figure 'lookup calls/s, basic view')
echo "== Codebook / PostgreSQL, this run"
ratio() { python3 -c "print(f'{$1 / $2:.2f}')" 2>/dev/null || echo "n/a"; }
printf '  %-58s %8s s / %8s s = %s (goal <= 0.2)\n' "import of one ICD-10-CM release, time" \
  "$import_s" "$(pg import_s)" "$(ratio "$import_s" "$(pg import_s)")"
printf '  %-58s %8s / %8s = %s (goal >= 2)\n' "batch lookup of 1,000 codes, codes/s (answers decoded)" \
  "${batch:-n/a}" "$(pg batch_codes_s)" "$(ratio "${batch:-0}" "$(pg batch_codes_s)")"
printf '  %-58s %8s / %8s = %s (goal >= 2)\n' "LookupStream, batches of 1,000, codes/s (answers decoded)" \
  "${stream:-n/a}" "$(pg batch_codes_s)" "$(ratio "${stream:-0}" "$(pg batch_codes_s)")"
printf '  %-58s %8s / %8s = %s (goal >= 2)\n' "LookupStream, basic view, codes/s (answers decoded)" \
  "${stream_basic:-n/a}" "$(pg batch_codes_s)" "$(ratio "${stream_basic:-0}" "$(pg batch_codes_s)")"
printf '  %-58s %8s / %8s = %s\n' "unary lookup at concurrency 32, calls/s" \
  "${lookup:-n/a}" "$(pg unary_calls_s)" "$(ratio "${lookup:-0}" "$(pg unary_calls_s)")"
printf '  %-58s %8s / %8s = %s (goal >= 0.9)\n' "unary lookup / Ping at concurrency 32, calls/s" \
  "${lookup:-n/a}" "${ping:-n/a}" "$(ratio "${lookup:-0}" "${ping:-1}")"
printf '  %-58s %8s / %8s = %s (goal >= 0.9)\n' "unary lookup, basic view / Ping, calls/s" \
  "${lookup_basic:-n/a}" "${ping:-n/a}" "$(ratio "${lookup_basic:-0}" "${ping:-1}")"
"$root/bench/footprint.sh" "$data"
