#!/usr/bin/env bash
# run_inputs.sh FUZZER DIR...: runs the fuzzer once over every file of the directories (the
# Fuzz.* regression tests of ctest): libFuzzer runs the files it is given and exits, non-zero if
# one of them crashes or breaks an invariant. A directory would be a corpus to fuzz: files only.
set -euo pipefail
fuzzer=$1
shift
files=()
for dir in "$@"; do
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -type f -print0 | sort -z)
done
if [ ${#files[@]} -eq 0 ]; then
  echo "run_inputs: no inputs for $(basename "$fuzzer")"
  exit 0
fi
exec "$fuzzer" -rss_limit_mb=2048 -timeout=10 "${files[@]}"
