#!/usr/bin/env bash
# Configures (once) and builds Codebook into build/, incrementally, on 2 jobs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -f "$root/build/CMakeCache.txt" ]] || cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$root/build" -j"${JOBS:-2}"
