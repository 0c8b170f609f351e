#!/usr/bin/env bash
# Runs every test: installs the dependencies if needed, builds incrementally, runs CTest (unit
# tests, integration tests against a real codebookd, and the official-data tests when
# ../shared/data is present).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/deploy/install-deps.sh"
"$root/deploy/build.sh"
cd "$root/build"
ctest --output-on-failure -j2 --timeout 600
