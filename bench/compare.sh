#!/usr/bin/env bash
# Compares this tree's server with an earlier commit's, in one run on this machine: builds the
# commit in a git worktree (build-compare/, kept for the next run), loads the default data into
# a fresh server of each (each with its own loader), then runs codebook_bench's phases against
# the two servers in turn, ROUNDS times, so that both see the same machine load.
#
#   bench/compare.sh COMMIT|TREE [ROUNDS] [codebook_bench flags, e.g. --phases=claims --repeat=3]
#
# TREE: a checkout already built in TREE/build, used as it is.
# Example: bench/compare.sh cbde4df 3 --phases=claims --repeat=3
# Prints each round's figures, prefixed "old" (COMMIT) or "new" (this tree).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -ge 1 ]] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
commit="$1"; shift
rounds="${1:-3}"; [[ $# -ge 1 ]] && shift
data="$root/../shared/data"
[[ -d "$data/icd10cm" ]] || data="$root/data/sample"
if [[ -x "$commit/build/server/codebookd" ]]; then
  old="$(cd "$commit" && pwd)"
else
  old="$root/build-compare/$commit"
  if [[ ! -d "$old" ]]; then
    git -C "$root" worktree add --detach "$old" "$commit" >/dev/null
  fi
  [[ -f "$old/build/CMakeCache.txt" ]] ||
    cmake -S "$old" -B "$old/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$old/build" -j"${JOBS:-2}" --target codebookd codebook codebook_bench >/dev/null
fi
"$root/deploy/build.sh" >/dev/null

work=$(mktemp -d /tmp/codebook-compare-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
declare -A tree=([old]="$old" [new]="$root") addr=()
for v in old new; do
  t="${tree[$v]}"
  "$t/build/server/codebookd" --plaintext --listen=127.0.0.1:0 --db="$work/$v-db" \
    --port_file="$work/$v.port" 2>>"$work/$v.log" &
  pids+=($!)
  for _ in $(seq 1 200); do [[ -s "$work/$v.port" ]] && break; sleep 0.05; done
  addr[$v]="127.0.0.1:$(head -n 1 "$work/$v.port")"
  CODEBOOK_CLI="$t/build/client/codebook" "$t/deploy/load-default-data.sh" --server="${addr[$v]}" \
    "$data" >"$work/$v.load" 2>&1
  echo "$v ($([[ $v == old ]] && echo "$commit" || echo "this tree")): default data loaded"
done
for round in $(seq 1 "$rounds"); do
  for v in old new; do
    "${tree[$v]}/build/bench/codebook_bench" --server="${addr[$v]}" --data="$data" "$@" 2>&1 |
      sed "s/^/$v round $round: /"
  done
done
