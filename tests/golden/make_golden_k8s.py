#!/usr/bin/env python3
"""Makes tests/golden/expected-k8s-file.log, compared byte for byte by
tests/unit/k8s_file_driver_test.cpp (K8sFileGolden).

An independent reading of the CRI log format (kubernetes' design proposal kubelet-cri-logging,
containerd's pkg/cri/io/logger.go, kubelet's parseCRILog), written in Python so it shares no code
with ringlogd:
  - one line per record: "<time> <stream> <tag> <content>\\n";
  - time: Go's time.RFC3339Nano in UTC, "2006-01-02T15:04:05.999999999Z", trailing zeros of the
    fraction trimmed and no dot when it is zero;
  - stream: "stdout" or "stderr";
  - tag: "F" for a line that ended with '\\n', "P" for a part without it (a line cut at max-line,
    a last line without '\\n'); the content is the bytes as written, without the '\\n'.
The records are the ones the test feeds the driver, in the same order and with the same times:
keep the two lists in step. Run from this folder: python3 make_golden_k8s.py
"""
import datetime

MAX_LINE = 16 * 1024
BASE = 1_700_000_000 * 10**9  # 2023-11-14T22:13:20Z

# (stream, content, newline, time offset from BASE in ns)
LONG = b"L" * (100 * 1024)
RECORDS = [
    ("stdout", b"plain line", True, 0),
    ("stderr", b"err one", True, 500_000_000),
    ("stdout", b"tab\tand \x1b[31mescape and \"quotes\" <&>", True, 123_456_789),
    ("stdout", b"carriage return\r", True, 123_456_790),
    ("stdout", b"", True, 999_999_999),
    ("stderr", b"h\xc3\xa9llo bad\xff utf8", True, 1_000_000_000),
]
# The 100 KiB line as the ring cuts it: six parts of max-line without '\n', then the rest with it;
# each part 1 ns after the one before.
t = 1_000_000_001
for i in range(0, len(LONG), MAX_LINE):
    part = LONG[i:i + MAX_LINE]
    RECORDS.append(("stdout", part, i + MAX_LINE >= len(LONG), t))
    t += 1
RECORDS += [
    ("stderr", b"err between", True, 2_000_000_010),
    ("stdout", b"no newline at the end", False, 3_000_000_000),
]


def rfc3339nano(ns):
    secs, frac = divmod(ns, 10**9)
    text = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += "." + ("%09d" % frac).rstrip("0")
    return text + "Z"


def main():
    with open("expected-k8s-file.log", "wb") as out:
        for stream, content, newline, offset in RECORDS:
            tag = b"F" if newline else b"P"
            out.write(rfc3339nano(BASE + offset).encode() + b" " + stream.encode() + b" " + tag +
                      b" " + content + b"\n")


if __name__ == "__main__":
    main()
