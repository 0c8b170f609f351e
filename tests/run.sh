#!/usr/bin/env bash
# Runs every test: installs the dependencies if needed, builds incrementally, runs CTest (unit
# tests, integration tests against a real codebookd, and the official-data tests when
# ../shared/data is present); then every fuzz target for a bounded time (tests/fuzz/run.sh) and
# the whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer
# (tests/sanitize.sh). CODEBOOK_QUICK=1 stops after the first part, for quick iterations.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/deploy/install-deps.sh"
"$root/deploy/build.sh"
# The Node.js client test's packages, from the lock file (again only when it changed).
if [[ ! -f "$root/client/node/node_modules/.package-lock.json" ||
      "$root/client/node/package-lock.json" -nt "$root/client/node/node_modules/.package-lock.json" ]]; then
  (cd "$root/client/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd "$root/build" && ctest --output-on-failure -j2 --timeout 600)
[[ "${CODEBOOK_QUICK:-0}" == 1 ]] && exit 0
"$root/tests/fuzz/run.sh" "${CODEBOOK_FUZZ_SECONDS:-20}"
"$root/tests/sanitize.sh"
