#!/usr/bin/env bash
# The RPM packages of rpm/ringlogd.spec (docs/packaging.md, section RPM), built on this Debian 12
# host with `rpmbuild -bb --nodeps` from a `git archive` of the committed tree, with Fedora's
# macros where the host's rpm lacks them (rpm/macros.ringlog-fallbacks) and Fedora's compiler
# flags (rpm/macros.ringlog-fedora-buildflags), then checked: the packages, their file lists, their
# scriptlets (systemd's, every macro expanded) and rpmlint (no error). Installs nothing but the
# rpm and rpmlint Debian packages; builds under a temporary %_topdir, removed at the end.
#
# usage: tests/packaging/rpm_test.sh [--worktree] [REPOSITORY]
#   --worktree  package the working tree (tracked and untracked files, not ignored ones) instead
#               of HEAD, to try an uncommitted change
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tree=HEAD
if [ "${1:-}" = --worktree ]; then
  tree=worktree
  shift
fi
repo=$(cd "${1:-$here/../..}" && pwd)
step() { echo "== rpm: $*"; }
fail() {
  echo "rpm_test: FAIL: $*" >&2
  exit 1
}

need=()
command -v rpmbuild >/dev/null || need+=(rpm)
command -v rpmlint >/dev/null || need+=(rpmlint)
command -v eu-strip >/dev/null || need+=(elfutils) # find-debuginfo's, for the -debuginfo RPMs
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || fail "needs ${need[*]} (apt-get install ${need[*]}, as root)"
  step "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

work=$(mktemp -d /var/tmp/ringlog-rpm.XXXXXX)
trap 'rm -rf "$work"' EXIT
top=$work/rpmbuild
mkdir -p "$top"/{SOURCES,SPECS,BUILD,RPMS,SRPMS,BUILDROOT} "$work/src"

# The spec, the fallback macros and the sources all come from the same tree.
if [ "$tree" = HEAD ]; then
  step "source tree: git archive $(git -C "$repo" rev-parse --short HEAD)"
  git -C "$repo" archive --format=tar HEAD | tar -x -C "$work/src"
else
  step "source tree: the working tree of $repo"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -x -C "$work/src"
fi
src=$work/src
spec=$src/rpm/ringlogd.spec
name=$(rpmspec -q --srpm --qf '%{name}' "$spec" 2>/dev/null) || fail "rpmspec cannot parse $spec"
version=$(rpmspec -q --srpm --qf '%{version}' "$spec")
tar -C "$work" --transform "s,^src,$name-$version," -czf "$top/SOURCES/$name-$version.tar.gz" src
cp "$src/units/ringlogd.sysusers" "$top/SOURCES/$name.sysusers"
cp "$spec" "$top/SPECS/"

# Fallbacks: every definition whose name this host's rpm does not know (a definition starts at a
# line "%name", continues while lines end in a backslash, and Lua blocks until a line "}").
fallbacks=$work/macros.fallbacks
awk '
  function flush() { if (body != "" && keep) printf "%s", body; body = "" }
  /^%[A-Za-z_]/ && !inlua && !cont {
    flush()
    name = $1; sub(/^%/, "", name); sub(/\(.*$/, "", name)
    cmd = "rpm --eval \"%{?" name ":defined}\""
    cmd | getline out; close(cmd)
    keep = (out != "defined")
    if (keep) kept = kept " " name
    body = $0 "\n"
    inlua = ($0 ~ /%\{lua:[[:space:]]*$/)
    cont = ($0 ~ /\\$/)
    next
  }
  inlua { body = body $0 "\n"; if ($0 ~ /^}/) inlua = 0; next }
  cont { body = body $0 "\n"; cont = ($0 ~ /\\$/); next }
  { flush() }
  END { flush(); print "# loaded:" kept > "/dev/stderr" }
' "$src/rpm/macros.ringlog-fallbacks" >"$fallbacks" 2>"$work/fallbacks.names"
echo "fallback macros$(sed 's/^# loaded://' "$work/fallbacks.names" | cut -c1-200)…"
load=(--load "$fallbacks")
if [ -z "$(rpm --eval '%{?fedora}')" ]; then
  load+=(--load "$src/rpm/macros.ringlog-fedora-buildflags")
fi

step "rpmbuild -bb --nodeps"
start=$SECONDS
if ! rpmbuild "${load[@]}" --define "_topdir $top" --nodeps -bb "$top/SPECS/ringlogd.spec" \
  >"$work/build.log" 2>&1; then
  tail -60 "$work/build.log"
  fail "rpmbuild failed (log above)"
fi
echo "built in $((SECONDS - start)) s"
warnings=$(grep -c 'warning:' <(grep -v -e '^warning: ' -e '^RPM build warnings' "$work/build.log") || true)
[ "$warnings" -eq 0 ] || {
  grep -v '^warning: ' "$work/build.log" | grep -A3 'warning:' | head -40
  fail "the build with Fedora's flags has $warnings compiler warnings"
}
grep -q 'tests passed' "$work/build.log" || fail "%check ran no tests"
grep 'tests passed' "$work/build.log"

step "the packages"
arch=$(rpm --eval '%{_arch}')
release=$(rpmspec "${load[@]}" --define "_topdir $top" -q --srpm --qf '%{release}' "$top/SPECS/ringlogd.spec")
# cockpit-ringlog, the Cockpit page (static files), is BuildArch: noarch.
nvr() {
  local a=$arch
  [ "$1" = cockpit-ringlog ] && a=noarch
  echo "$top/RPMS/$a/$1-$version-$release.$a.rpm"
}
# The debuginfo and debugsource packages are rpm's (Fedora's %debug_package), from the same build.
rpms=(ringlogd libringlog libringlog-devel cockpit-ringlog ringlogd-debuginfo libringlog-debuginfo
  ringlogd-debugsource)
built=$(cd "$top/RPMS" && find . -name '*.rpm' | sort)
for p in "${rpms[@]}"; do
  [ -f "$(nvr "$p")" ] || fail "no $p RPM (built: $(tr '\n' ' ' <<<"$built"))"
done
[ "$(wc -l <<<"$built")" -eq ${#rpms[@]} ] || fail "more RPMs than ${rpms[*]}: $built"
[ "$(rpm -qp --qf '%{ARCH}' "$(nvr cockpit-ringlog)")" = noarch ] || fail "cockpit-ringlog is not noarch"
echo "$built"

step "file lists"
# Every path each package must hold (rpm -qpl), as the spec's macros name them.
ev() { rpm "${load[@]}" --eval "$1"; }
unitdir=$(ev '%{_unitdir}')
expect_files() {
  local rpmfile=$1 list
  shift
  list=$(rpm -qpl "$rpmfile" | sed -E 's/[.](gz|bz2|xz|zst)$//') # man pages: compressed or not
  for f in "$@"; do
    grep -qx -- "$f" <<<"$list" || fail "$(basename "$rpmfile") lacks $f; it has:
$list"
  done
}
mandir=$(ev '%{_mandir}')
libdir=$(ev '%{_libdir}')
expect_files "$(nvr ringlogd)" \
  "$(ev '%{_sbindir}')/ringlogd" "$(ev '%{_bindir}')/ringlogctl" \
  "$unitdir/ringlogd.service" "$unitdir/ringlogd.socket" \
  "$(ev '%{_sysusersdir}')/ringlogd.conf" "$(ev '%{_tmpfilesdir}')/ringlogd.conf" \
  /usr/share/dbus-1/system.d/org.ringlog.Log1.conf \
  /usr/share/dbus-1/system-services/org.ringlog.Log1.service \
  /usr/share/dbus-1/interfaces/org.ringlog.Log1.xml \
  /etc/ringlogd /etc/ringlogd/ringlogd.conf \
  "$mandir/man8/ringlogd.8" "$mandir/man1/ringlogctl.1" \
  "$mandir/man5/ringlogd.conf.5" "$mandir/man5/org.ringlog.Log1.5"
expect_files "$(nvr libringlog)" "$libdir/libringlog.so.0" "$libdir/libringlog.so.$version"
expect_files "$(nvr libringlog-devel)" /usr/include/ringlog/client.h /usr/include/ringlog/protocol.h \
  "$libdir/libringlog.so" "$libdir/pkgconfig/ringlog.pc"
[ "$unitdir" = /usr/lib/systemd/system ] || fail "%_unitdir is $unitdir, not Fedora's"
# cockpit-ringlog: its directory and the page's four files, nothing else (names only: the page's
# content is the browser tests'); no other package has anything of Cockpit's.
page=$(ev '%{_datadir}')/cockpit/ringlog
files=$(rpm -qpl "$(nvr cockpit-ringlog)")
expected="$page
$page/index.html
$page/manifest.json
$page/ringlog.css
$page/ringlog.js"
[ "$files" = "$expected" ] || fail "cockpit-ringlog holds:
$files
expected:
$expected"
for p in ringlogd libringlog libringlog-devel; do
  files=$(rpm -qpl "$(nvr $p)")
  if grep /cockpit/ <<<"$files"; then fail "$p holds Cockpit's files (above)"; fi
done
# Nothing of the library in the daemon's package, nothing of the daemon in the library's.
# (Outputs go to variables first: `rpm | grep -q` under pipefail fails when grep stops early.)
files=$(rpm -qpl "$(nvr ringlogd)")
if grep -q 'libringlog\|/include/' <<<"$files"; then fail "ringlogd holds library files"; fi
files=$(rpm -qpl "$(nvr libringlog)")
if grep -v "^$libdir/libringlog[.]so[.]0\|^/usr/share/licenses/\|^/usr/lib/[.]build-id" <<<"$files"; then
  fail "libringlog holds more than the library (above)"
fi
# The example configuration is %config(noreplace). (/var/log/ringlogd is tmpfiles.d's.)
flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$(nvr ringlogd)")
grep -qx 'cn /etc/ringlogd/ringlogd.conf' <<<"$flags" ||
  fail "/etc/ringlogd/ringlogd.conf is not %config(noreplace)"
# The installed unit starts the packaged binary.
rpm2cpio "$(nvr ringlogd)" | (cd "$work" && cpio -idm --quiet ".$unitdir/ringlogd.service")
grep -qx "ExecStart=$(ev '%{_sbindir}')/ringlogd" "$work$unitdir/ringlogd.service" ||
  fail "ringlogd.service: $(grep ExecStart "$work$unitdir/ringlogd.service")"
pc=$(rpm2cpio "$(nvr libringlog-devel)" | cpio -i --quiet --to-stdout ".$libdir/pkgconfig/ringlog.pc")
grep -qx "libdir=\${prefix}/$(ev '%{_lib}')" <<<"$pc" || fail "ringlog.pc: $(grep libdir= <<<"$pc")"

step "scriptlets"
scripts=$(rpm -qp --scripts "$(nvr ringlogd)")
echo "$scripts"
if grep -n '%' <<<"$scripts"; then fail "unexpanded macros in the scriptlets (above)"; fi
helper=/usr/lib/systemd/systemd-update-helper
body() { # body SCRIPTLET: the body of preinstall, postinstall, … in rpm --scripts' output
  awk -v s="$1 scriptlet" 'index($0, s) == 1 { on = 1; next } /scriptlet \(using/ { on = 0 } on' \
    <<<"$scripts"
}
in_script() { # in_script SCRIPTLET PATTERN: PATTERN (grep -E) is in SCRIPTLET's body
  local b
  b=$(body "$1")
  grep -Eq -- "$2" <<<"$b" || fail "the $1 scriptlet lacks: $2"
}
in_script postinstall "$helper install-system-units ringlogd.socket ringlogd.service"
in_script postinstall "systemd-tmpfiles --create ringlogd.conf"
in_script preuninstall "$helper remove-system-units ringlogd.socket ringlogd.service"
in_script postuninstall "$helper mark-restart-system-units ringlogd.service"
if grep -q 'mark-restart.*socket' <<<"$scripts"; then
  fail "postun restarts ringlogd.socket on upgrade (it would close the ingest socket)"
fi
if [ -z "$(rpm --eval '%{?__systemd_sysusers}')" ]; then
  # This rpm does not create users from sysusers.d files: the %pre does, from the same file.
  in_script preinstall "getent group 'ringlog' >/dev/null \|\| groupadd -r 'ringlog'"
  in_script preinstall "useradd -r -g 'ringlogd' -d '/var/log/ringlogd' -s '/usr/sbin/nologin' -c 'Container log daemon' 'ringlogd'"
  in_script preinstall "usermod -a -G 'systemd-journal' 'ringlogd'"
fi
for s in preinstall postinstall preuninstall postuninstall; do
  body "$s" | sh -n || fail "the $s scriptlet is not valid sh"
done
for p in libringlog libringlog-devel cockpit-ringlog; do
  [ -z "$(rpm -qp --scripts "$(nvr $p)")" ] || fail "$p has scriptlets (none needs any: ldconfig is a file trigger)"
done
requires=$(rpm -qp --requires "$(nvr ringlogd)")
grep -qx "libringlog$(ev '%{?_isa}') = $version-$release" <<<"$requires" ||
  fail "ringlogd does not require its libringlog"
# The page: this build's ringlogd (no %{_isa}: a noarch package), and Cockpit 287 or later.
requires=$(rpm -qp --requires "$(nvr cockpit-ringlog)")
for r in "ringlogd = $version-$release" "cockpit-bridge >= 287" "cockpit-system >= 287"; do
  grep -qx "$r" <<<"$requires" || fail "cockpit-ringlog does not require $r; it requires:
$requires"
done

step "rpmlint"
# The packages this spec defines; rpm's generated -debuginfo and -debugsource ones are not linted
# (rpmlint 2.4 mistakes .debug files for libraries and debug sources for a package without binary).
rpmlint_out=$(rpmlint -c "$src/rpm/rpmlint.toml" "$(nvr ringlogd)" "$(nvr libringlog)" \
  "$(nvr libringlog-devel)" "$(nvr cockpit-ringlog)" 2>&1 || true)
echo "$rpmlint_out" | tail -40
grep -q ' 0 errors' <<<"$rpmlint_out" || fail "rpmlint reports errors"
echo "rpm_test: OK ($name $version-$release, $(find "$top/RPMS" -name '*.rpm' | wc -l) RPMs)"
