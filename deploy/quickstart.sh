#!/usr/bin/env bash
# Quick start: installs the dependencies, builds, starts codebookd on 127.0.0.1:50051 (gRPC) and
# 127.0.0.1:8080 (HTTP: the web page at /, FHIR under /fhir, the JSON API under /api/v1) with its
# database in var/codebook-db, imports and publishes the default data, and prints a sample lookup.
# CODEBOOK_LISTEN and CODEBOOK_HTTP_LISTEN change the addresses.
#
#   deploy/quickstart.sh          start (or reuse) the server and load the default data
#   deploy/quickstart.sh --stop   stop the server it started
#
# Default data: every ICD-10-CM, ICD-10-PCS and HCPCS release in ../shared/data when that folder exists,
# otherwise the sample in data/sample. Running it again reuses the database and the running
# server, and imports nothing twice.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
listen="${CODEBOOK_LISTEN:-127.0.0.1:50051}"
http="${CODEBOOK_HTTP_LISTEN:-127.0.0.1:8080}"
var="$root/var"
pidfile="$var/codebookd.pid"
cli="$root/build/client/codebook"

if [[ "${1:-}" == "--stop" ]]; then
  if [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null; then
    echo "stopping codebookd (pid $(cat "$pidfile"))"
    rm -f "$pidfile"
  else
    echo "no codebookd started by this script is running"
  fi
  exit 0
fi

"$root/deploy/install-deps.sh"
"$root/deploy/build.sh"
mkdir -p "$var"

if "$cli" --server="$listen" --timeout=2 ping >/dev/null 2>&1; then
  echo "codebookd is already running on $listen; reusing it"
else
  echo "starting codebookd on $listen and http://$http (database $var/codebook-db," \
       "log $var/codebookd.log)"
  nohup "$root/build/server/codebookd" --plaintext --listen="$listen" --fhir_listen="$http" \
    --db="$var/codebook-db" >>"$var/codebookd.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    "$cli" --server="$listen" --timeout=1 ping >/dev/null 2>&1 && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "codebookd failed to start:"; tail -5 "$var/codebookd.log"; exit 1; }
    sleep 0.1
  done
fi

"$root/deploy/load-default-data.sh" --server="$listen"

echo
echo "== codebook --server=$listen systems"
"$cli" --server="$listen" systems
echo
echo "== codebook --server=$listen lookup --system=ICD10CM E11.9"
"$cli" --server="$listen" lookup --system=ICD10CM E11.9
echo
echo "codebookd is running on $listen (pid $(cat "$pidfile" 2>/dev/null || echo '?')); try:"
echo "  the web page: http://$http/ (search, a code, compare releases, claim lines, releases)"
echo "  $cli --server=$listen validate --system=ICD10CM --date=2024-11-01 T81.32XA E11"
echo "stop it with: deploy/quickstart.sh --stop"
