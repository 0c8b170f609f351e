#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each one for a
# bounded time on a corpus seeded from the repository's test files.
#
# Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 20 (what tests/run.sh gives each in CI); 600 for a 10-minute run
#   TARGET              default all: fuzz_icd10_order fuzz_icd10cm_xml fuzz_hcpcs fuzz_cpt
#                       fuzz_xlsx fuzz_keys fuzz_records
# The corpus grows in build-fuzz/corpus/TARGET across runs. A crash stops the run with status 1
# and leaves the input in build-fuzz/artifacts/; rerun it with build-fuzz/tests/fuzz/TARGET FILE.
# Each target's last line reports its executions ("stat::number_of_executed_units").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-20}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fuzz_icd10_order fuzz_icd10cm_xml fuzz_hcpcs fuzz_cpt fuzz_xlsx
                                       fuzz_keys fuzz_records)

"$root/deploy/install-deps.sh"
out="$root/build-fuzz"
[[ -f "$out/CMakeCache.txt" ]] || cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCODEBOOK_FUZZ=ON > /dev/null
cmake --build "$out" -j"${JOBS:-2}" --target fuzz_all

seeds="$out/seeds"
rm -rf "$seeds"
mkdir -p "$seeds/fuzz_keys" "$seeds/fuzz_records"
python3 "$root/tests/fuzz/make_seeds.py" "$seeds" "$root/data/sample"
"$out/tests/fuzz/fuzz_seeds" "$seeds/fuzz_keys" "$seeds/fuzz_records"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  mkdir -p "$corpus" "$out/artifacts"
  echo "== $t: ${seconds}s"
  # -rss_limit_mb: an importer must not need gigabytes for a small file.
  if ! (cd "$out" && "$out/tests/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
          -rss_limit_mb=2048 -max_len=65536 -timeout=20 -artifact_prefix="$out/artifacts/$t-" \
          "$corpus" "$seeds/$t" \
          > "$out/$t.log" 2>&1); then
    tail -n 60 "$out/$t.log"
    echo "== $t: FAILED (log: $out/$t.log)"
    exit 1
  fi
  grep -E "^Done [0-9]+ runs" "$out/$t.log" || true
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/$t.log" || true
done
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s each without a crash"
