#!/usr/bin/env bash
# The units as shipped (with ExecStart pointing at this build): `systemd-analyze verify` says
# nothing at all (it exits 0 even for unknown keys, so any output fails), and the service's
# exposure score from `systemd-analyze security` is at most 2.0.
set -u
dir=$1
out=$(systemd-analyze verify --man=no "$dir/ringlogd.service" "$dir/ringlogd.socket" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
  echo "systemd-analyze verify is not clean (exit $rc):"
  echo "$out"
  exit 1
fi
report=$(systemd-analyze security --offline=true --no-pager "$dir/ringlogd.service" 2>&1)
score=$(sed -n 's/.*Overall exposure level for ringlogd.service: \([0-9.]*\).*/\1/p' <<<"$report")
if [ -z "$score" ]; then
  echo "systemd-analyze security gave no score:"
  echo "$report"
  exit 1
fi
if ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
  echo "exposure $score is above 2.0:"
  echo "$report"
  exit 1
fi
echo "systemd-analyze verify: clean; security exposure: $score"
