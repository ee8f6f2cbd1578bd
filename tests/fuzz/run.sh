#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: runs every fuzzer of the fuzz build (build/fuzz, or
# $RINGLOG_FUZZ_BUILD) for SECONDS each (default 60), two at a time, each over a copy of its seed
# corpus and regression inputs, under ASan and UBSan with the options of the asan test preset.
# Builds nothing (cmake --preset fuzz && cmake --build --preset fuzz first). What the fuzzers add
# to their corpus stays in the run's directory, never in the source tree.
#
# Prints, per fuzzer, how many inputs it ran, how fast, and the coverage it reached; exits
# non-zero if any fuzzer crashed, broke an invariant, timed out or ran out of memory, printing the
# file that holds the input (copy it into tests/fuzz/regressions/<fuzzer>/ with its fix).
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: SECONDS must be a positive number (libFuzzer takes 0 for no limit)" >&2
  exit 2
fi
build=${RINGLOG_FUZZ_BUILD:-build/fuzz}
bin_dir="$build/tests/fuzz"
run_dir="$(realpath -m "$build/fuzz-run")"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mapfile -t fuzzers < <(find "$bin_dir" -maxdepth 1 -type f -name 'ringlog-fuzz-*' -perm -u+x 2>/dev/null |
  sort)
if [ ${#fuzzers[@]} -eq 0 ]; then
  echo "run.sh: no fuzzers in $bin_dir (cmake --preset fuzz && cmake --build --preset fuzz)" >&2
  exit 2
fi
rm -rf "$run_dir"
mkdir -p "$run_dir"
# The fuzzers that write files (readers, the configuration, log directories) make and remove a
# directory at every input: on tmpfs that is three times faster than on a disk.
scratch=$(mktemp -d /dev/shm/ringlog-fuzz.XXXXXX 2>/dev/null || mktemp -d "$run_dir/scratch.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

run_one() {
  local binary=$1 name=${1##*/ringlog-fuzz-}
  local dir="$run_dir/$name"
  mkdir -p "$dir/corpus"
  for seeds in tests/fuzz/corpus/"$name" tests/fuzz/regressions/"$name"; do
    [ -d "$seeds" ] && cp -r "$seeds"/. "$dir/corpus/"
  done
  mkdir -p "$scratch/$name"
  TMPDIR="$scratch/$name" "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1
  echo $? >"$dir/status"
}

echo "fuzzing ${#fuzzers[@]} targets for ${seconds}s each, two at a time (logs: $run_dir)"
running=0
for binary in "${fuzzers[@]}"; do
  if [ $running -ge 2 ]; then
    wait -n
    running=$((running - 1))
  fi
  run_one "$binary" &
  running=$((running + 1))
done
wait

failed=0
printf '%-18s %10s %8s %6s  %s\n' fuzzer runs exec/s cov: result
for binary in "${fuzzers[@]}"; do
  name=${binary##*/ringlog-fuzz-}
  dir="$run_dir/$name"
  status=$(cat "$dir/status" 2>/dev/null || echo 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$dir/log" | tail -1 | cut -d' ' -f2)
  if [ "$status" = 0 ]; then
    result=ok
  else
    failed=1
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$dir/log" | tail -1)
    result="FAILED (exit $status): input ${crash:-not saved}, log $dir/log"
  fi
  printf '%-18s %10s %8s %6s  %s\n' "$name" "${runs:--}" "${rate:--}" "${cov:--}" "$result"
done
if [ $failed -ne 0 ]; then
  for binary in "${fuzzers[@]}"; do
    name=${binary##*/ringlog-fuzz-}
    if [ "$(cat "$run_dir/$name/status" 2>/dev/null)" != 0 ]; then
      echo "== $name: the end of its log"
      grep -avE '^#[0-9]+' "$run_dir/$name/log" | tail -40
    fi
  done
  echo "run.sh: a fuzzer failed; its input is a regression test once copied into tests/fuzz/regressions/<fuzzer>/" >&2
fi
exit $failed
