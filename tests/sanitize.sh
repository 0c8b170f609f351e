#!/usr/bin/env bash
# Builds the whole tree with AddressSanitizer and UndefinedBehaviorSanitizer into build-asan/
# (-DCODEBOOK_SANITIZE=ON; any undefined behaviour is fatal) and runs the whole test suite
# there: unit tests, and integration tests against sanitized codebookd servers. Leaks are
# reported (LeakSanitizer) and fail the test that leaked.
#
# Usage: tests/sanitize.sh [CTEST_ARGS...]     e.g. tests/sanitize.sh -R server_test
# Left out: deploy_manifests, which checks the runtime libraries of release binaries (a
# sanitized binary also loads libasan and libubsan).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/build-asan"
[[ -f "$out/CMakeCache.txt" ]] || cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCODEBOOK_SANITIZE=ON > /dev/null
cmake --build "$out" -j"${JOBS:-2}"
for dir in "$root/client/node" "$root/tests/fhir_client" "$root/tests/ui"; do
  if [[ ! -f "$dir/node_modules/.package-lock.json" ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
# Children (codebookd, the CLI) inherit these. Every report also goes to a file in $reports,
# so that one from a server a test did not ask for its exit status still fails the run.
reports="$out/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$reports/asan}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}"
status=0
(cd "$out" && ctest --output-on-failure -j2 --timeout 1200 -E '^deploy_manifests$' "$@") || status=$?
if compgen -G "$reports/*" > /dev/null; then
  for f in "$reports"/*; do
    echo "== sanitizer report $f"
    cat "$f"
  done
  echo "sanitizers: reports above"
  exit 1
fi
[[ $status -eq 0 ]] || exit $status
echo "sanitizers: the whole suite passed under ASan and UBSan, no reports from any process"
