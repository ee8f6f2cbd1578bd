#!/usr/bin/env bash
# Installs every Debian 12 package ringlogd's build, tests and demo need. Idempotent; run as root.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  libspdlog-dev libfmt-dev libsystemd-dev zlib1g-dev libsdbus-c++-dev libsdbus-c++-bin
  libgnutls28-dev
  # ringlogctl's options (CLI11), JSON decoding (simdjson), the config file (inih), --grep (PCRE2,
  # as journalctl), times (Howard Hinnant's date)
  libcli11-dev libsimdjson-dev libinih-dev libpcre2-dev libhowardhinnant-date-dev
  nlohmann-json3-dev scdoc
  # tests: GoogleTest; a real bus (dbus-daemon) and busctl, journald and journalctl (systemd);
  # systemd booted as PID 1 with dbus's units (dbus) and unshare/nsenter (util-linux)
  libgtest-dev libgmock-dev dbus-daemon dbus systemd util-linux
  # the syslog driver's tests and bench: a real rsyslogd with TLS (rsyslog-gnutls), certtool
  rsyslog rsyslog-gnutls gnutls-bin
  # off the host (docs/scale-out.md): systemd-journal-upload and systemd-journal-remote
  systemd-journal-remote
  # ringlogctl's completion scripts, loaded and driven in real shells
  bash-completion zsh fish tmux
  # formatting check; the layout check (tests/layout) is Python
  clang-format python3
  # the fuzzers (tests/fuzz): clang and its libFuzzer runtime
  clang libclang-rt-14-dev
  # the Cockpit page's browser test (tests/browser): Debian's cockpit-ws and bridge, the shell
  # (its PatternFly stylesheet), headless Chromium and its driver, and selenium to drive it
  cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver python3-selenium
  # the Debian packages and their test (tests/packaging/deb_test.sh)
  debhelper dpkg-dev lintian git
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (apt-get install)" >&2
  exit 1
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#packages[@]} packages present"
