#!/usr/bin/env bash
# Runs every test: installs the dependencies if needed, builds incrementally, runs CTest (unit
# tests, integration tests against a real codebookd, and the official-data tests when
# ../shared/data is present); then every fuzz target for a bounded time (tests/fuzz/run.sh) and
# the whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer
# (tests/sanitize.sh). CODEBOOK_QUICK=1 stops after the first part, for quick iterations.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Each part's time and the total, at the end (CI allows 90 minutes).
start=$SECONDS last=$SECONDS times=""
lap() {
  times+="$(printf '  %-28s %4d s' "$1" $((SECONDS - last)))"$'\n'
  last=$SECONDS
}
report() { printf 'tests/run.sh took %d s:\n%s' $((SECONDS - start)) "$times"; }
"$root/deploy/install-deps.sh"
lap "dependencies"
"$root/deploy/build.sh"
lap "build"
# The Node.js packages of the client tests (the gRPC client, the third-party FHIR client, the
# browser test), each from its lock file, again only when it changed.
for dir in "$root/client/node" "$root/tests/fhir_client" "$root/tests/ui"; do
  if [[ ! -f "$dir/node_modules/.package-lock.json" ||
        "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
(cd "$root/build" && ctest --output-on-failure -j2 --timeout 600)
lap "ctest"
if [[ "${CODEBOOK_QUICK:-0}" == 1 ]]; then report; exit 0; fi
"$root/tests/fuzz/run.sh" "${CODEBOOK_FUZZ_SECONDS:-20}"
lap "fuzz targets"
"$root/tests/sanitize.sh"
lap "ASan and UBSan build and ctest"
report
