#!/usr/bin/env bash
# Disk and memory footprint of a server holding the default data, at three points:
#   1. right after deploy/load-default-data.sh has loaded everything into a fresh database;
#   2. after a graceful restart of the same database;
#   3. after N more import-and-retract cycles of one ICD-10-CM release (default 10).
# Prints the releases loaded first (bench/release_table.py). At each point: the bytes of the files in the database folder (as du -sb counts them), the bytes of its write-ahead log files (*.log),
# the live data RocksDB reports (rocksdb.estimate-live-data-size, summed over the column
# families, read from the server's /metrics), the SST bytes of a fully compacted copy (the
# exact live data), the ratios of the files to both, and the server's resident memory.
#
#   bench/footprint.sh [--cycles=N] [DATA_DIR]
# DATA_DIR defaults to ../shared/data beside the repo when it exists, else data/sample. Needs a
# built tree (deploy/build.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/build"
cycles=10
data=""
for arg in "$@"; do
  case "$arg" in
    --cycles=*) cycles="${arg#--cycles=}" ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) data="$arg" ;;
  esac
done
if [[ -z "$data" ]]; then
  data="$root/../shared/data"
  [[ -d "$data/icd10cm" ]] || data="$root/data/sample"
fi
work=$(mktemp -d /tmp/codebook-footprint-XXXXXX)
db="$work/db"
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start_server() {
  rm -f "$work/port"
  "$bin/server/codebookd" --plaintext --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 ${CODEBOOKD_FLAGS:-} \
    --db="$db" --port_file="$work/port" 2>>"$work/server.log" &
  pid=$!
  for _ in $(seq 1 600); do [[ -s "$work/port" ]] && break; sleep 0.05; done
  [[ -s "$work/port" ]] || { echo "codebookd did not start:"; tail -5 "$work/server.log"; exit 1; }
  addr="127.0.0.1:$(sed -n 1p "$work/port")"
  metrics="127.0.0.1:$(sed -n 2p "$work/port")"
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
cli() { "$bin/client/codebook" --server="$addr" "$@"; }

# Waits until the server is quiet: no release view queued or being built and no flush or
# compaction running or due in RocksDB, then 3 s more (the
# memory releaser hands freed memory back after 1 s without writes).
settle() {
  python3 - "$metrics" <<'PY'
import sys, time, urllib.request
for _ in range(600):
    page = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=10).read().decode()
    if ('codebook_release_views{state="queued"} 0' in page and
            "\ncodebook_store_background_jobs 0\n" in page):
        break
    time.sleep(0.1)
PY
  sleep 3
}

# One line of figures; $1 names the point. The exact live data come from a full compaction of a
# copy (codebook_bench --compact_db) taken with `codebook backup` while the server runs.
report() {
  settle
  python3 - "$1" "$db" "$metrics" "$pid" "$work" "$bin" "$addr" <<'PY'
import os, subprocess, sys, urllib.request
point, db, metrics, pid, work, bin, addr = sys.argv[1:]
du = wal = 0
for folder, _, files in os.walk(db):
    for name in files:
        size = os.lstat(os.path.join(folder, name)).st_size
        du += size
        wal += size if name.endswith(".log") else 0
page = urllib.request.urlopen("http://%s/metrics" % metrics, timeout=10).read().decode()
live = sum(float(l.split()[-1]) for l in page.splitlines()
           if l.startswith('codebook_store_bytes{kind="live_data"}'))
rss = next(int(l.split()[1]) * 1024 for l in open("/proc/%s/status" % pid) if l.startswith("VmRSS"))
# Last: a backup flushes the memtables, which would hide what the log holds.
subprocess.run(["rm", "-rf", work + "/copy"], check=True)
subprocess.run([bin + "/client/codebook", "--server=" + addr, "backup", work + "/copy"],
               check=True, stdout=subprocess.DEVNULL)
compacted = int(subprocess.run([bin + "/bench/codebook_bench", "--compact_db=" + work + "/copy"],
                               check=True, capture_output=True, text=True).stdout)
print("  %-36s files %6.1f MB  wal %5.1f MB  live data %5.1f MB (compacted %5.1f MB)  "
      "files/live %4.2f  files/compacted %4.2f  RSS %6.1f MB"
      % (point + ":", du / 1e6, wal / 1e6, live / 1e6, compacted / 1e6, du / live,
         du / compacted, rss / 1e6))
PY
}

echo "== footprint of the default data ($data)"
start_server
CODEBOOK_CLI="$bin/client/codebook" "$root/deploy/load-default-data.sh" --server="$addr" "$data" \
  >"$work/load.log" 2>&1 || { cat "$work/load.log"; exit 1; }
echo "== releases loaded, with the counts SOURCES.md measured in the files"
python3 "$root/bench/release_table.py" "$bin/client/codebook" "$addr"
echo "== footprint"
report "after the default data load"
stop_server
start_server
report "after a restart"
# The release to cycle: the newest ICD-10-CM order file, as a later version that is retracted.
latest=$(ls -d "$data"/icd10cm/[0-9]*/ | sort | tail -1)
file=$(ls "$latest" | grep -E '^icd10cm[-_]order[-_].*\.txt(\.gz)?$' | grep -v addenda | head -1)
effective=$(cli releases --system=ICD10CM | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' | sort | tail -1)
effective=$(date -d "$effective + 1 year" +%F)
for i in $(seq 1 "$cycles"); do
  cli import --system=ICD10CM --version="CYCLE-$i" --effective="$effective" \
    --format=icd10cm-order --publish "$latest$file" >/dev/null 2>>"$work/cycles.log"
  cli retract --system=ICD10CM --version="CYCLE-$i" --reason="footprint cycle $i" >/dev/null
done
report "after $cycles import-retract cycles"
stop_server
start_server
report "after another restart"
