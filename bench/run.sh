#!/usr/bin/env bash
# The benchmarks in one command: installs what is needed, builds the release preset and prints
# one table of ringlogd against the limits measured in the same run (docs/performance.md).
# As root: the journald row needs a private journald, and 10,000 containers need the fds.
#   bench/run.sh            the full run (about 2 minutes on 2 cores, ~3 GiB of disk in /tmp)
#   bench/run.sh --smoke    tiny sizes, as CI runs it
#   bench/run.sh --large    also query a 10 GiB log (~17 GiB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh >/dev/null
cmake --preset release >/dev/null
cmake --build build/release -j "$(nproc)" --target ringlog-bench >/dev/null
exec build/release/bench/ringlog-bench "$@"
