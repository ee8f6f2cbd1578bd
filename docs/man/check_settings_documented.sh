#!/usr/bin/env bash
# Every setting `ringlogd --help` lists has its entry in ringlogd.conf(5) and a commented-out line
# in the example ringlogd.conf, and neither names a setting ringlogd does not have.
# usage: check_settings_documented.sh RINGLOGD MAN_PAGE EXAMPLE_CONF
set -u
ringlogd=$1 page=$2 example=$3
keys=$("$ringlogd" --help | sed -n 's/^  --\([a-z][a-z-]*\) .*/\1/p' | grep -vx 'config' | sort)
if [ -z "$keys" ]; then
  echo "ringlogd --help lists no settings"
  exit 1
fi
# scdoc writes "*key*" at the start of a line as "\fBkey\fR", hyphens as "\-" or "-".
in_page=$(sed 's/\\-/-/g' "$page" | sed -n 's/^\\fB\([a-z][a-z-]*\)\\fR$/\1/p' | sort)
in_example=$(sed -n 's/^#\([a-z][a-z-]*\) =.*/\1/p' "$example" | sort)
status=0
if [ "$keys" != "$in_page" ]; then
  echo "ringlogd.conf(5) and ringlogd --help differ (< --help, > the page):"
  diff <(echo "$keys") <(echo "$in_page")
  status=1
fi
if [ "$keys" != "$in_example" ]; then
  echo "the example ringlogd.conf and ringlogd --help differ (< --help, > the example):"
  diff <(echo "$keys") <(echo "$in_example")
  status=1
fi
[ $status -eq 0 ] && echo "$(echo "$keys" | wc -l) settings, all in ringlogd.conf(5) and the example"
exit $status
