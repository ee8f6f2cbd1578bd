#!/usr/bin/env bash
# The Debian packages as a user gets them (docs/packaging.md): built from a clean clone of the
# committed tree with Debian's own flags, lintian, installed with dpkg -i, checked, upgraded,
# removed and purged. Root on Debian 12; it installs into this host's /usr, /etc and /var, and
# purges everything again at the end (also on failure). Refuses to run if ringlogd is installed.
# What the packages depend on from Debian's archive (Cockpit, for cockpit-ringlog) it installs
# with apt where it is missing, and leaves installed.
#
# usage: tests/packaging/deb_test.sh [REPOSITORY]   (default: the checkout holding this script)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "${1:-$here/../..}" && pwd)
packages=(ringlogd libringlog0 libringlog-dev cockpit-ringlog)
step() { echo "== deb: $*"; }
fail() {
  echo "deb_test: FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs the packages)"
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
    fail "$p is installed on this host already; this test installs and purges it"
  fi
done

work=$(mktemp -d /var/tmp/ringlog-deb.XXXXXX)
cleanup() {
  dpkg -P "${packages[@]}" ringlogd-dbgsym libringlog0-dbgsym >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step "clean clone of $(git -C "$repo" rev-parse --short HEAD)"
git clone --quiet --no-local "$repo" "$work/src"

step "dpkg-buildpackage -us -uc -b"
start=$SECONDS
if ! (cd "$work/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
  >"$work/build.log" 2>&1; then
  tail -50 "$work/build.log"
  fail "dpkg-buildpackage failed (log above)"
fi
echo "built in $((SECONDS - start)) s"
warnings=$(grep -c 'warning:' "$work/build.log" || true)
[ "$warnings" -eq 0 ] || {
  grep -A3 'warning:' "$work/build.log" | head -40
  fail "the build with Debian's flags has $warnings compiler warnings"
}
version=$(cd "$work/src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
changes="$work/ringlogd_${version}_${arch}.changes"
# The Cockpit page is static files: Architecture: all.
arch_of() { if [ "$1" = cockpit-ringlog ]; then echo all; else echo "$arch"; fi; }
debs=()
for p in "${packages[@]}"; do
  deb="$work/${p}_${version}_$(arch_of "$p").deb"
  [ -f "$deb" ] || fail "no $(basename "$deb") (built: $(cd "$work" && echo *.deb))"
  debs+=("$deb")
done

step "lintian"
# Errors fail; so do warnings, but initial-upload-closes-no-bugs: the first upload to Debian
# closes its ITP bug, which is filed when a Debian maintainer sponsors it (docs/packaging.md).
lintian_out=$(lintian --display-level '>=warning' --tag-display-limit 0 "$changes" 2>&1 |
  grep -v -e ' initial-upload-closes-no-bugs ' -e '^running with root privileges' || true)
if [ -n "$lintian_out" ]; then
  echo "$lintian_out"
  fail "lintian reports errors or warnings"
fi
echo "lintian: no errors; no warnings but initial-upload-closes-no-bugs"

step "the packages' contents"
# cockpit-ringlog: exactly the page's four files and the doc files every package has; no other
# package has anything of Cockpit's. (Names only: the page's content is the browser tests'.)
contents() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^[.]/, "", $6); print $6 }' | sort; }
pagedir=/usr/share/cockpit/ringlog
expected="$pagedir/index.html
$pagedir/manifest.json
$pagedir/ringlog.css
$pagedir/ringlog.js
/usr/share/doc/cockpit-ringlog/changelog.Debian.gz
/usr/share/doc/cockpit-ringlog/copyright"
got=$(contents "$work/cockpit-ringlog_${version}_all.deb")
[ "$got" = "$expected" ] || fail "cockpit-ringlog holds:
$got
expected:
$expected"
[ "$(dpkg-deb -f "$work/cockpit-ringlog_${version}_all.deb" Architecture)" = all ] ||
  fail "cockpit-ringlog is not Architecture: all"
for p in ringlogd libringlog0 libringlog-dev; do
  got=$(contents "$work/${p}_${version}_${arch}.deb")
  if grep /cockpit/ <<<"$got"; then fail "$p holds Cockpit's files (above)"; fi
done
echo "cockpit-ringlog: the page's 4 files, copyright and changelog; the other packages: nothing of Cockpit"

step "what the packages need from Debian's archive"
# What they depend on but the packages built here (Cockpit, for cockpit-ringlog), with apt, as
# apt would install them for `apt install cockpit-ringlog`: their Recommends (cockpit-ws, the web
# server, among them) are not needed for the test and are left out.
ours=$(IFS='|' && echo "${packages[*]}")
theirs=$(for deb in "${debs[@]}"; do dpkg-deb -f "$deb" Depends; done | tr ',' '\n' |
  sed 's/^ *//; s/ *$//' | grep -Ev "^($ours)( |$)" | sort -u | paste -sd, | sed 's/,/, /g')
echo "$theirs"
export DEBIAN_FRONTEND=noninteractive
apt-get satisfy -y -qq --no-install-recommends "$theirs" >"$work/apt.log" 2>&1 ||
  { apt-get update -qq && apt-get satisfy -y -qq --no-install-recommends "$theirs" >"$work/apt.log" 2>&1; } ||
  { cat "$work/apt.log"; fail "apt-get satisfy failed (log above)"; }

step "dpkg -i"
dpkg -i "${debs[@]}"

step "installed files"
getent passwd ringlogd >/dev/null || fail "no ringlogd user"
getent group ringlog >/dev/null || fail "no ringlog group"
id -nG ringlogd | tr ' ' '\n' | grep -qx systemd-journal || fail "ringlogd is not in systemd-journal"
[ "$(stat -c '%U %a' /var/log/ringlogd)" = "ringlogd 750" ] ||
  fail "/var/log/ringlogd: $(stat -c '%U %a' /var/log/ringlogd 2>&1), expected ringlogd 750"
grep -qx ' */etc/ringlogd/ringlogd.conf [0-9a-f]*' <(dpkg-query -W -f='${Conffiles}\n' ringlogd) ||
  fail "/etc/ringlogd/ringlogd.conf is not a conffile"
# Every setting is in the example, commented out; ringlogd accepts the file uncommented.
sed 's/^#\([a-z][a-z-]* =\)/\1/' /etc/ringlogd/ringlogd.conf >"$work/uncommented.conf"
ringlogd --config "$work/uncommented.conf" --version >/dev/null ||
  fail "ringlogd refuses the example configuration uncommented"
for page in ringlogd.8 ringlogctl.1 ringlogd.conf.5 org.ringlog.Log1.5; do
  section=${page##*.}
  [ -f "/usr/share/man/man$section/$page.gz" ] || fail "no man page $page"
done
man_check=--man=no
command -v man >/dev/null && man_check=--man=yes
out=$(systemd-analyze verify $man_check /lib/systemd/system/ringlogd.service \
  /lib/systemd/system/ringlogd.socket 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"
[ -L /etc/systemd/system/sockets.target.wants/ringlogd.socket ] ||
  fail "ringlogd.socket is not enabled"
[ ! -e /etc/systemd/system/multi-user.target.wants/ringlogd.service ] ||
  fail "ringlogd.service is enabled (its socket starts it)"
# An upgrade restarts the service once (try-restart), and nothing stops it first.
grep -q "deb-systemd-invoke try-restart 'ringlogd.service'" /var/lib/dpkg/info/ringlogd.postinst ||
  fail "postinst does not try-restart ringlogd.service on upgrade"
for script in preinst prerm; do
  if [ -f "/var/lib/dpkg/info/ringlogd.$script" ] &&
    grep -q "deb-systemd-invoke stop" "/var/lib/dpkg/info/ringlogd.$script" &&
    ! grep -q '"$1" = remove' "/var/lib/dpkg/info/ringlogd.$script"; then
    fail "ringlogd.$script stops units on upgrade"
  fi
done
# The client library through its pkg-config file.
cat >"$work/client.c" <<'C'
#include <ringlog/client.h>
int main(void) {
  struct ringlog_attach attach;
  ringlog_attach_init(&attach);
  return 0;
}
C
# shellcheck disable=SC2046
cc -o "$work/client" "$work/client.c" $(pkg-config --cflags --libs ringlog) ||
  fail "cannot build against pkg-config ringlog"
"$work/client" || fail "the program built against libringlog does not run"
ringlogd --version
ringlogctl --help >/dev/null 2>&1 || true
# Cockpit finds the page, accepts its manifest (it requires Cockpit 287) and shows a menu entry:
# `cockpit-bridge --packages` lists a package as NAME, its menu labels, its directory. Only the
# system's directories: not a page a developer linked into ~/.local/share/cockpit.
cockpit_packages() {
  mkdir -p "$work/home"
  HOME=$work/home XDG_DATA_HOME=$work/home/.local/share XDG_DATA_DIRS=/usr/share \
    cockpit-bridge --packages
}
listed=$(cockpit_packages | grep '^ringlog ' || true)
echo "cockpit-bridge --packages: $listed"
grep -Eq "^ringlog +[^ /].* +$pagedir\$" <<<"$listed" ||
  fail "cockpit-bridge does not list the page with a menu entry: $(cockpit_packages)"

step "upgrade to a higher version (the same build, repacked as ${version}+1)"
mkdir "$work/v2"
for deb in "${debs[@]}"; do
  name=$(basename "$deb")
  name=${name%%_*}
  dpkg-deb -R "$deb" "$work/v2/$name"
  # (= V), (>= V) and (<< V.1~) on the packages of this source name the new version.
  sed -i "s/^Version: .*/Version: ${version}+1/; s/(\([<>=]*\) ${version}\([.)]\)/(\1 ${version}+1\2/g" \
    "$work/v2/$name/DEBIAN/control"
  dpkg-deb -b "$work/v2/$name" "$work/v2/${name}_${version}+1_$(arch_of "$name").deb" >/dev/null
done
dpkg -i "$work"/v2/*.deb
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Version}' "$p")" = "${version}+1" ] || fail "the upgrade of $p did not happen"
done
[ -f /etc/ringlogd/ringlogd.conf ] || fail "the upgrade lost the configuration"

step "dpkg -r, then dpkg -P"
# Every file the packages installed (directories shared with other packages aside).
# /lib itself is a link on a merged-/usr system.
files=$(dpkg-query -L "${packages[@]}" | while read -r f; do
  case $f in /*/*) ;; *) continue ;; esac
  if [ -L "$f" ] || [ ! -d "$f" ]; then echo "$f"; fi
done)
echo "log" >/var/log/ringlogd/test.log
dpkg -r "${packages[@]}"
[ ! -e /usr/sbin/ringlogd ] || fail "dpkg -r left /usr/sbin/ringlogd"
[ ! -e $pagedir ] || fail "dpkg -r left $pagedir"
if cockpit_packages | grep '^ringlog '; then fail "cockpit-bridge still lists the page"; fi
[ -f /etc/ringlogd/ringlogd.conf ] || fail "dpkg -r removed the configuration (purge does)"
[ -f /var/log/ringlogd/test.log ] || fail "dpkg -r removed the logs (purge does)"
dpkg -P "${packages[@]}"
nothing_left() {
  local left=() f
  for f in /etc/ringlogd /var/log/ringlogd /usr/sbin/ringlogd /usr/bin/ringlogctl \
    /lib/systemd/system/ringlogd.service /lib/systemd/system/ringlogd.socket \
    /etc/systemd/system/sockets.target.wants/ringlogd.socket \
    /var/lib/systemd/deb-systemd-helper-enabled/ringlogd.socket.dsh-also \
    /usr/include/ringlog /usr/share/doc/ringlogd $pagedir /usr/share/doc/cockpit-ringlog $files; do
    if [ -e "$f" ] || [ -L "$f" ]; then left+=("$f"); fi
  done
  [ ${#left[@]} -eq 0 ] || fail "dpkg -P left: ${left[*]}"
  for p in "${packages[@]}"; do
    if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
      fail "$p is still known to dpkg after purge"
    fi
  done
}
nothing_left

step "under systemd booted as PID 1: install, round trip, upgrade while a container writes"
mkdir "$work/v1"
cp "${debs[@]}" "$work/v1/"
"$here/booted_deb.sh" "$work" "$work/v1" "$work/v2" || fail "under the booted systemd"
dpkg -P "${packages[@]}" >/dev/null
nothing_left
echo "deb_test: OK (version $version; the ringlogd user and ringlog group stay, as documented)"
