#!/usr/bin/env bash
# The installed packages under a real systemd booted as PID 1 (as tests/integration/booted_systemd.h
# boots it, in new PID and mount namespaces), with the INSTALLED units, binaries and D-Bus policy:
#   - the package's own postinst (run by dpkg -i inside) enables and starts ringlogd.socket;
#   - ringlogctl run, then ringlogctl logs through the installed socket path and D-Bus policy;
#   - an upgrade (dpkg -i of a higher version, inside) while a container writes: ringlogd is
#     restarted once, by the postinst, and no line is lost or repeated.
# Called by deb_test.sh. usage: booted_deb.sh WORKDIR DEBS_V1_DIR DEBS_V2_DIR
set -euo pipefail
work=$1 v1=$2 v2=$3
fail() {
  echo "booted_deb: FAIL: $*" >&2
  [ -f "$work/boot/console.log" ] && tail -30 "$work/boot/console.log" >&2
  [ -n "${init:-}" ] && inside journalctl --no-pager -n 40 >&2 2>/dev/null
  exit 1
}

boot=$work/boot
mkdir -p "$boot/units" "$boot/v1" "$boot/v2"
# Inside, /var/tmp and /tmp are tmpfs: the packages go where the boot directory is bound.
cp "$v1"/*.deb "$boot/v1/"
cp "$v2"/*.deb "$boot/v2/"
debs_inside() { (cd "$boot/$1" && for d in *.deb; do echo "/run/ringlog-boot/$1/$d"; done); }
# The installed units, by name in the unit path: links to where the package puts them (dangling
# until dpkg -i inside installs them).
ln -s /lib/systemd/system/ringlogd.socket "$boot/units/ringlogd.socket"
ln -s /lib/systemd/system/ringlogd.service "$boot/units/ringlogd.service"
for u in systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket \
  systemd-journald-audit.socket dbus.service dbus.socket; do
  cp "/lib/systemd/system/$u" "$boot/units/"
done
for t in sysinit basic sockets local-fs paths timers slices shutdown network final umount \
  multi-user; do
  printf '[Unit]\nDescription=Stub %s.target\n' "$t" >"$boot/units/$t.target"
done
# sockets.target pulls in what is enabled in /etc/systemd/system/sockets.target.wants (a tmpfs
# here: only what dpkg -i enables inside); ringlogd.socket is NOT named here.
printf '[Unit]\nDescription=ringlogd package test\nRequires=systemd-journald.socket dbus.socket sockets.target\nAfter=systemd-journald.socket dbus.socket sockets.target\n' \
  >"$boot/units/test.target"
cat >"$boot/init.sh" <<'SH'
set -e
mount -t tmpfs tmpfs /run
mkdir /run/ringlog-boot
mount --bind "$BOOT_DIR" /run/ringlog-boot
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
mount -t tmpfs tmpfs /var/log
mkdir /var/log/journal
mount -t tmpfs tmpfs /etc/systemd/system
if [ -d /etc/dbus-1/system.d ]; then mount -t tmpfs tmpfs /etc/dbus-1/system.d; fi
# Docker's policy-rc.d forbids starting services; a host booted with systemd has none.
[ -e /usr/sbin/policy-rc.d ] && mount --bind /bin/true /usr/sbin/policy-rc.d
export container=ringlogd-test
# The stubs, copies and links; then what dpkg enables. Never /lib/systemd/system itself: its
# .wants directories would pull in the host's boot.
export SYSTEMD_UNIT_PATH=/run/ringlog-boot/units:/etc/systemd/system
exec /lib/systemd/systemd --system --unit=test.target --log-target=console
SH
BOOT_DIR=$boot unshare --pid --fork --kill-child=SIGKILL --mount --mount-proc --propagation private \
  /bin/sh "$boot/init.sh" >"$boot/console.log" 2>&1 &
unshare_pid=$!
trap 'kill -KILL $unshare_pid 2>/dev/null || true; wait $unshare_pid 2>/dev/null || true' EXIT
init=
for _ in $(seq 300); do
  init=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null | awk '{print $1}')
  [ -n "$init" ] && break
  sleep 0.1
done
[ -n "$init" ] || fail "systemd did not start"
inside() { nsenter -t "$init" -m -p -- "$@"; }
for _ in $(seq 300); do
  inside systemctl is-active --quiet dbus.socket 2>/dev/null && break
  sleep 0.1
done
inside systemctl is-active --quiet dbus.socket || fail "systemd did not boot"
echo "systemd booted (PID $init on the host)"

inside systemctl is-active --quiet ringlogd.socket && fail "ringlogd.socket active before install"
# shellcheck disable=SC2046
inside dpkg -i $(debs_inside v1) >"$boot/dpkg-v1.log" 2>&1 || { cat "$boot/dpkg-v1.log"; fail "dpkg -i"; }
inside test -L /etc/systemd/system/sockets.target.wants/ringlogd.socket ||
  fail "the postinst did not enable ringlogd.socket"
inside systemctl is-active --quiet ringlogd.socket || fail "the postinst did not start ringlogd.socket"
inside systemctl is-active --quiet ringlogd.service && fail "ringlogd.service runs before any attach"
echo "dpkg -i inside: ringlogd.socket enabled and listening, ringlogd.service waiting for it"

# Round trip through the installed socket path (ringlogctl's default) and the D-Bus policy.
inside ringlogctl run --name roundtrip -- seq 1 1000 || fail "ringlogctl run"
for _ in $(seq 100); do
  [ "$(inside ringlogctl logs roundtrip 2>/dev/null | wc -l)" -eq 1000 ] && break
  sleep 0.1
done
inside ringlogctl logs roundtrip >"$boot/roundtrip.out" 2>&1 || fail "ringlogctl logs: $(cat "$boot/roundtrip.out")"
diff -q <(seq 1 1000) "$boot/roundtrip.out" >/dev/null || fail "ringlogctl logs returned something else"
inside systemctl is-active --quiet ringlogd.service || fail "the attach did not start ringlogd.service"
echo "ringlogctl run + ringlogctl logs: 1000 lines, exactly"

# An upgrade while a container writes: 300,000 lines at about 50,000 a second.
lines=300000
before=$(inside systemctl show -P InvocationID ringlogd.service)
inside ringlogctl run --name upgrade -- python3 -c "
import sys, time
for i in range($lines):
    sys.stdout.write('%d\n' % i)
    if i % 500 == 499:
        sys.stdout.flush(); time.sleep(0.01)
" >"$boot/writer.out" 2>&1 &
writer=$!
for _ in $(seq 100); do
  [ "$(inside ringlogctl logs --tail 1 upgrade 2>/dev/null || true)" != "" ] && break
  sleep 0.1
done
# shellcheck disable=SC2046
inside dpkg -i $(debs_inside v2) >"$boot/dpkg-v2.log" 2>&1 || { cat "$boot/dpkg-v2.log"; fail "dpkg -i (upgrade)"; }
kill -0 $writer 2>/dev/null || fail "the writer ended before the upgrade did: nothing was shown"
after=$(inside systemctl show -P InvocationID ringlogd.service)
[ "$before" != "$after" ] || fail "the upgrade did not restart ringlogd"
wait $writer || fail "the writer failed: $(cat "$boot/writer.out")"
got=0
for _ in $(seq 300); do
  got=$(inside ringlogctl logs upgrade 2>/dev/null | wc -l)
  [ "$got" -ge $lines ] && break
  sleep 0.1
done
inside ringlogctl logs upgrade >"$boot/upgrade.out" 2>&1
if ! cmp -s <(seq 0 $((lines - 1))) "$boot/upgrade.out"; then
  diff <(seq 0 $((lines - 1))) "$boot/upgrade.out" | head -10
  fail "lines lost or repeated across the upgrade ($(wc -l <"$boot/upgrade.out") of $lines)"
fi
starts=$(inside journalctl --no-pager -u ringlogd.service -o cat |
  grep -c 'listening on the socket passed by systemd' || true)
[ "$starts" -eq 2 ] || fail "ringlogd.service started $starts times, expected 2 (first attach, one restart)"
echo "upgrade while a container wrote: restarted once, all $lines lines, in order, none twice"
