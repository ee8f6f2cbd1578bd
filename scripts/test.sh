#!/usr/bin/env bash
# Installs what is needed, builds and runs every test: a debug build, an ASan+UBSan build, the
# fuzzers (clang, ASan+UBSan, bounded in time) and the ring's concurrency tests under
# ThreadSanitizer. Needs root: some tests drop privileges or force socket buffer sizes (their
# names end in _Root).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

if command -v clang-format >/dev/null; then
  unformatted=$(git ls-files '*.cpp' '*.h' '*.c' 2>/dev/null | xargs -r clang-format --dry-run --Werror 2>&1 | grep -c 'error:' || true)
  if [ "$unformatted" != "0" ]; then
    echo "test: clang-format finds $unformatted places to reformat (run: git ls-files '*.cpp' '*.h' '*.c' | xargs clang-format -i)" >&2
    exit 1
  fi
fi

jobs=$(nproc)
# Each step says when it starts and how long the run has taken so far (CI's budget: 30 minutes).
step() { echo "== $* (at ${SECONDS}s)"; }
for preset in debug asan; do
  step "$preset build"
  cmake --preset "$preset" >/dev/null
  cmake --build "build/$preset" -j "$jobs"
  step "$preset tests"
  ctest --preset "$preset" -j "$jobs"
done
step "fuzz build (clang, ASan+UBSan) and fuzzers, 45 s each"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
ctest --preset fuzz -j "$jobs"
tests/fuzz/run.sh 45
step "benchmarks, smoke mode (do they still run? the figures come from bench/run.sh)"
build/debug/bench/ringlog-bench --smoke
step "tsan build (ring log concurrency)"
cmake --preset tsan >/dev/null
cmake --build build/tsan -j "$jobs" --target ringlog-concurrency-tests
ctest --preset tsan
step "Debian packages: a clean clone built with Debian's flags, lintian, install, upgrade, purge"
tests/packaging/deb_test.sh
step "RPM packages: rpm/ringlogd.spec built with Fedora's macros and flags, file lists, scriptlets, rpmlint"
tests/packaging/rpm_test.sh
step "all tests passed"
