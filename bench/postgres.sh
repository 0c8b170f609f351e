#!/usr/bin/env bash
# PostgreSQL beside Codebook, on this machine: what a hospital team would otherwise run. Starts a
# private PostgreSQL cluster (Debian's postgresql package, installed with apt-get when missing)
# in a temporary folder on a loopback port, and measures, on one ICD-10-CM release order file:
#   1. import: the file parsed (python3), COPY into a table with its code as primary key, and a
#      full-text index of the descriptions (GIN over to_tsvector), median of 3 into fresh tables;
#   2. batch lookup of 1,000 codes: pgbench, one query per batch (code = ANY of 1,000 random
#      codes), prepared statements, 2 clients; codes/s with the rows received by the client;
#   3. unary lookup at concurrency 32: pgbench, one code per query, prepared statements.
# Durability as PostgreSQL ships (fsync and synchronous_commit on).
#
# Usage: bench/postgres.sh ORDER_FILE [SECONDS_PER_PGBENCH_RUN]
# Prints the figures, then one line "pg_figures import_s=... batch_codes_s=... unary_calls_s=..."
# for bench/run.sh.
set -euo pipefail
shopt -s inherit_errexit
[[ $# -ge 1 ]] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
order_file="$1"
seconds="${2:-10}"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$pg_bin" || ! -x "$pg_bin/postgres" ]]; then
  if [[ $(id -u) -ne 0 ]]; then echo "postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
work=$(mktemp -d /tmp/codebook-pg-XXXXXX)
# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres "$work"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/data" -U bench --auth=trust >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/data" -l "$work/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $work -c max_connections=64" start >/dev/null
psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U bench -d postgres)
version=$("${psql[@]}" -At -c 'show server_version')
echo "== PostgreSQL $version beside Codebook (bench/postgres.sh), $(basename "$order_file")"

# The order file's fixed columns (CMS's layout): order number 1-5, code 7-13, billable 15,
# short description 17-76, long description 78 on.
parse='
import gzip, sys
path = sys.argv[1]
opener = gzip.open if path.endswith(".gz") else open
out = sys.stdout
with opener(path, "rt", encoding="latin-1") as f:
    for line in f:
        line = line.rstrip("\r\n")
        if len(line) < 16:
            continue
        code = line[6:13].strip()
        short = line[16:76].strip().replace("\\", "\\\\").replace("\t", " ")
        long = line[77:].strip().replace("\\", "\\\\").replace("\t", " ")
        billable = "t" if line[14] == "1" else "f"
        out.write(code + "\t" + billable + "\t" + short + "\t" + long + "\n")
'
import_once() {  # $1: table name
  local t=$1
  local start end
  start=$(date +%s.%N)
  "${psql[@]}" -c "create table $t (code text primary key, billable boolean, short text, display text)"
  python3 -c "$parse" "$order_file" | "${psql[@]}" -c "copy $t from stdin"
  "${psql[@]}" -c "create index on $t using gin (to_tsvector('english', display))"
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}
imports=()
for run in 1 2 3; do
  imports+=("$(import_once "icd_$run")")
  echo "  import run $run: ${imports[-1]} s"
done
import_s=$(printf '%s\n' "${imports[@]}" | sort -n | sed -n 2p)
echo "  import (parse, COPY, primary key, full-text index), median of 3: $import_s s"

# The codes to ask for, numbered, so that pgbench can draw them at random.
"${psql[@]}" -c "create table picks as select row_number() over (order by code) as i, code from icd_1"
"${psql[@]}" -c "create unique index on picks (i)" -c "analyze"
n=$("${psql[@]}" -At -c "select count(*) from picks")
cat > "$work/batch.sql" <<EOF
select c.code, c.billable, c.display from icd_1 c
 where c.code = any (array(select code from picks where i = any (array(
   select (1 + floor(random() * $n))::bigint from generate_series(1, 1000)))));
EOF
cat > "$work/unary.sql" <<EOF
\set i random(1, $n)
select c.code, c.billable, c.display from icd_1 c join picks p on c.code = p.code where p.i = :i;
EOF
pgbench=(pgbench -n -M prepared -h 127.0.0.1 -p "$port" -U bench postgres)
tps() { grep -oE 'tps = [0-9.]+' | head -1 | awk '{print $3}'; }
batch_tps=$("${pgbench[@]}" -f "$work/batch.sql" -c 2 -j 2 -T "$seconds" 2>/dev/null | tps)
batch_codes=$(python3 -c "print(round($batch_tps * 1000))")
echo "  batch lookup of 1,000 codes, 2 clients: $batch_codes codes/s ($batch_tps batches/s)"
unary=$("${pgbench[@]}" -f "$work/unary.sql" -c 32 -j 2 -T "$seconds" 2>/dev/null | tps)
unary=$(python3 -c "print(round($unary))")
echo "  unary lookup, concurrency 32: $unary calls/s"
echo "pg_figures import_s=$import_s batch_codes_s=$batch_codes unary_calls_s=$unary"
