#!/usr/bin/env bash
# The quick start: installs what is needed, builds ringlogd, runs it by hand (no systemd needed),
# runs a demo container under `ringlogctl run`, stops the daemon and shows the container's log.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release --target ringlogd ringlogctl

demo=$(mktemp -d /tmp/ringlogd-demo.XXXXXX)
printf '# demo: settings are on the command line\n' > "$demo/ringlogd.conf"
./build/release/service/daemon/ringlogd --config "$demo/ringlogd.conf" --socket "$demo/ingest.sock" \
  --log-root "$demo/logs" 2>"$demo/ringlogd.log" &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true' EXIT
for _ in $(seq 200); do
  [ -S "$demo/ingest.sock" ] && break
  kill -0 "$daemon" 2>/dev/null || { cat "$demo/ringlogd.log"; exit 1; }
  sleep 0.05
done

echo "== running a demo container: ringlogctl run --id demo --name web -- sh -c '…'"
./build/release/client/ringlogctl run --socket "$demo/ingest.sock" --id demo --name web \
  --log-opt max-size=10m --log-opt max-file=3 -- \
  sh -c 'for i in 1 2 3; do echo "hello from the container, line $i"; done; echo "an error line" >&2; printf "a last line without newline"'

kill -TERM "$daemon"   # SIGTERM: ringlogd persists everything it accepted, then exits 0
wait "$daemon"
trap - EXIT
echo "== ringlogd's own log:"
cat "$demo/ringlogd.log"
echo "== the container's log, docker json-file format: $demo/logs/demo/demo-json.log"
cat "$demo/logs/demo/demo-json.log"
