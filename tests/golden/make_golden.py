#!/usr/bin/env python3
"""Makes the golden files of tests/integration/ingest_test.cpp (JsonFileGolden) and of
tests/integration/docker_compat_test.cpp (framing at max-line).

An independent reading of docker's json-file rules (moby v20.10 daemon/logger/jsonfilelog/jsonlog
and daemon/logger/copier.go), written in Python so it shares no code with ringlogd:
  - one record per line, split at '\n'; the copier reads into a 16 KiB buffer and, when the
    buffer is full and holds no '\n', logs it as a partial record (written without '\n'): a line
    of 16,384 bytes and its '\n' are a 16,384-byte partial record, then an empty last part that
    has the '\n'; a last line without '\n' is a partial record written without one;
  - {"log":…,"stream":…,"time":…} in that order;
  - the log string: '"' and '\\' escaped with a backslash, '\n' and '\r' as \n and \r, other
    bytes below 0x20 and '<' '>' '&' as \\u00XX, each byte of invalid UTF-8 as \\ufffd,
    U+2028/U+2029 as \\u2028/\\u2029, every other character as is.
The time is written as TIME: the test replaces the real one after checking its format.
Run from this folder: python3 make_golden.py
"""

MAX_LINE = 16 * 1024

STDOUT = (b"plain line\n"
          b"nul\x00byte\n"
          b"carriage return\r\n"
          b"bad\xff\xfe utf8 \xc3\n"
          b"overlong \xc0\xaf surrogate \xed\xa0\x80\n"
          b"<a href=\"x\">&amp;</a> back\\slash\n"
          b"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 sep\xe2\x80\xa8arator\n"
          b"\ttab and \x1b[31mescape\n"
          + b"L" * (100 * 1024) + b"\n"
          + b"\n"
          + b"no newline at the end")
STDERR = (b"err one\n"
          b"err <two> & \"three\"\n"
          b"err last without newline")
# Lines around max-line: one byte short of it, exactly it, one over, twice it; an empty line; a
# last line without '\n'.
FRAMING = (b"a" * (MAX_LINE - 1) + b"\n"
           + b"b" * MAX_LINE + b"\n"
           + b"c" * (MAX_LINE + 1) + b"\n"
           + b"d" * (2 * MAX_LINE) + b"\n"
           + b"\n"
           + b"e" * 10 + b"\n"
           + b"no newline at the end")


def utf8_len(data, i):
    """Length of a valid UTF-8 sequence at data[i], or 0."""
    for n in (2, 3, 4):
        try:
            data[i:i + n].decode("utf-8", errors="strict")
            if len(data[i:i + n]) == n:
                return n
        except UnicodeDecodeError:
            pass
    return 0


def docker_string(data):
    out = ['"']
    i = 0
    while i < len(data):
        b = data[i]
        if b < 0x80:
            c = chr(b)
            if c == '"' or c == '\\':
                out.append('\\' + c)
            elif c == '\n':
                out.append('\\n')
            elif c == '\r':
                out.append('\\r')
            elif b < 0x20 or c in '<>&':
                out.append('\\u%04x' % b)
            else:
                out.append(c)
            i += 1
            continue
        n = utf8_len(data, i)
        if n == 0:
            out.append('\\ufffd')
            i += 1
            continue
        ch = data[i:i + n].decode("utf-8")
        out.append('\\u%04x' % ord(ch) if ch in '\u2028\u2029' else ch)
        i += n
    out.append('"')
    return ''.join(out)


def records(data):
    """Docker's copier: lines, 16 KiB partials, a final line without newline."""
    out = []
    while data:
        nl = data.find(b"\n", 0, MAX_LINE)  # in the 16 KiB buffer, not the byte after it
        if nl >= 0:
            out.append(data[:nl + 1])
            data = data[nl + 1:]
        elif len(data) >= MAX_LINE:
            out.append(data[:MAX_LINE])
            data = data[MAX_LINE:]
        else:
            out.append(data)
            data = b""
    return out


def golden(data, stream):
    lines = ['{"log":%s,"stream":"%s","time":"TIME"}' % (docker_string(r), stream) for r in records(data)]
    return ("\n".join(lines) + "\n").encode("utf-8")


if __name__ == "__main__":
    for name, data, stream in (("stdout", STDOUT, "stdout"), ("stderr", STDERR, "stderr"),
                               ("framing", FRAMING, "stdout")):
        with open("input-%s.bin" % name, "wb") as f:
            f.write(data)
        with open("expected-%s.jsonl" % name, "wb") as f:
            f.write(golden(data, stream))
