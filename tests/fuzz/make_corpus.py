#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus, tests/fuzz/corpus/<target>/<seed>.

    tests/fuzz/make_corpus.py build/debug/client/libringlog.so

Attach and push requests are encoded by the client library itself (ringlog_attach_encode,
ringlog_push_encode, through ctypes: give it a build's libringlog.so that is not sanitized). The
other seeds are real-looking inputs (docker's json-file lines, CRI lines, a configuration file,
container output) laid out as each fuzzer's FuzzedDataProvider reads them: integers from the end
of the input, strings and bytes from its start (FDP below). Run it again after changing the order
in which a fuzzer consumes its input; commit what it writes.
"""
import ctypes
import gzip
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


class FDP:
    """Builds an input for LLVM's FuzzedDataProvider: calls in the order the fuzzer makes them."""

    def __init__(self):
        self.front = bytearray()
        self.back = []  # one little-endian block per integer, in call order

    def integral(self, value, lo, hi, bits):
        span = hi - lo
        n = 0
        while n * 8 < bits and (span >> (n * 8)) > 0:
            n += 1
        self.back.append(((value - lo) % (1 << (8 * n)) if n else 0).to_bytes(n, "little"))
        return self

    def boolean(self, value):
        return self.integral(1 if value else 0, 0, 255, 8)

    def u8(self, v):
        return self.integral(v, 0, 255, 8)

    def u32(self, v):
        return self.integral(v, 0, 2**32 - 1, 32)

    def u64(self, v):
        return self.integral(v, 0, 2**64 - 1, 64)

    def i64(self, v):
        return self.integral(v, -(2**63), 2**63 - 1, 64)

    def string(self, text, max_length=None):
        """ConsumeRandomLengthString: '\\' doubled, ended by '\\' and another byte."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        self.front += data.replace(b"\\", b"\\\\")
        if max_length is None or len(data) < max_length:
            self.front += b"\\."
        return self

    def raw(self, data):
        """ConsumeBytesAsString(n) with n given before, or the remaining bytes last."""
        self.front += data.encode() if isinstance(data, str) else bytes(data)
        return self

    def build(self):
        return bytes(self.front) + b"".join(reversed(self.back))


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


ID = "4f2c9a1b7d3e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"


# ---- attach and push: the client library's encoders ----

class Attach(ctypes.Structure):
    _fields_ = [("id", ctypes.c_char_p), ("name", ctypes.c_char_p), ("image", ctypes.c_char_p),
                ("labels", ctypes.POINTER(ctypes.c_char_p)),
                ("env", ctypes.POINTER(ctypes.c_char_p)), ("driver", ctypes.c_char_p),
                ("log_opts", ctypes.POINTER(ctypes.c_char_p)), ("mode", ctypes.c_char_p),
                ("max_buffer_size", ctypes.c_char_p), ("stdout_fd", ctypes.c_int),
                ("stderr_fd", ctypes.c_int)]


def strings(items):
    if items is None:
        return None
    arr = (ctypes.c_char_p * (len(items) + 1))(*[s.encode() for s in items], None)
    return ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))


def attach_seeds(lib):
    lib.ringlog_attach_encode.restype = ctypes.c_long
    seeds = {
        "id-only": dict(id=ID),
        "docker-json-file": dict(
            id=ID, name="web", image="nginx:1.25",
            labels=["com.example.team=payments", "maintainer=ops@example.com"],
            env=["PATH=/usr/local/sbin:/usr/bin", "LANG=C.UTF-8", "EMPTY="],
            driver="json-file",
            log_opts=["max-size=10m", "max-file=3", "compress=true", "labels=com.example.team",
                      "env=LANG", "tag={{.Name}}/{{.ID}}"],
            mode="non-blocking", max_buffer_size="4m"),
        "two-drivers": dict(
            id=ID, name="api", driver="json-file",
            log_opts=["max-size=1m", "log-driver=syslog", "syslog-address=udp://127.0.0.1:514",
                      "syslog-format=rfc5424", "syslog-facility=local3"]),
        "k8s-file": dict(
            id="k8s_" + ID[:20], name="pod-a_ns_web", image="registry.k8s.io/pause:3.9",
            driver="k8s-file",
            log_opts=["path=/var/log/pods/ns_pod-a/web/0.log", "max-size=5m", "max-file=2",
                      "reader-groups=adm"],
            mode="blocking", max_buffer_size="1m"),
        "log-dir": dict(
            id=ID, name="app", driver="json-file",
            log_opts=["log-dir=/var/lib/kubelet/pods/p1/volumes/logs", "log-glob=*.log",
                      "log-dir-max-files=8", "log-dir-max-rate=1m"]),
        "push-only": dict(
            id="pushed-1", name="batch",
            log_opts=["push-only=true", "push-users=1000,www-data", "push-groups=adm",
                      "push-rate=1m"]),
        "journald": dict(
            id=ID, name="db", image="postgres:16", labels=["app=db", "tier=backend"],
            driver="journald", log_opts=["labels=app,tier", "tag={{.ImageName}}"]),
        "syslog-cache": dict(
            id=ID, name="edge", driver="syslog",
            log_opts=["syslog-address=tcp+tls://logs.example.com:6514",
                      "syslog-tls-skip-verify=true", "cache-disabled=false",
                      "cache-max-size=20m", "max-write-rate=10m"]),
    }
    for name, s in seeds.items():
        a = Attach()
        a.stdout_fd = a.stderr_fd = -1
        for key in ("id", "name", "image", "driver", "mode", "max_buffer_size"):
            if key in s:
                setattr(a, key, s[key].encode())
        a.labels = strings(s.get("labels"))
        a.env = strings(s.get("env"))
        a.log_opts = strings(s.get("log_opts"))
        buf = ctypes.create_string_buffer(65536)
        n = lib.ringlog_attach_encode(ctypes.byref(a), buf, len(buf))
        assert n > 0, (name, n)
        write("attach_request", name, buf.raw[:n])


def push_seeds(lib):
    lib.ringlog_push_encode.restype = ctypes.c_long
    seeds = {
        "two-lines": (16384, ID, "stdout", [b"hello", b"world\n"]),
        "stderr": (16384, ID, "stderr", [b"error: connection refused"]),
        "newline-inside": (1024, "pushed-1", None, [b"first\nsecond", b"", b"third\n\n"]),
        "longer-than-max-line": (1024, ID, "stdout", [b"x" * 3000, b"short"]),
        "nul-and-cr": (2048, ID, "stdout", [b"a\x00b\r", b"\xff\xfe not utf-8"]),
    }
    for name, (max_line, cid, stream, lines) in seeds.items():
        arr = (ctypes.c_char_p * len(lines))(*lines)
        lengths = (ctypes.c_size_t * len(lines))(*[len(l) for l in lines])
        buf = ctypes.create_string_buffer(65536)
        n = lib.ringlog_push_encode(cid.encode(), stream.encode() if stream else None, arr, lengths,
                                    len(lines), buf, len(buf))
        assert n > 0, (name, n)
        # The fuzzer reads max-line - 1 (mod 2048) from its first two bytes.
        write("push_request", name, ((max_line - 1) % 2048).to_bytes(2, "big") + buf.raw[:n])


# ---- container output ----

OUTPUTS = {
    "lines": b"hello from the container, line 1\nline 2\n\nlast line without newline",
    "crlf-and-progress": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n10%\r50%\r100%\n",
    "long-line": b"start\n" + b"y" * 2500 + b"\nend\n",
    "binary": bytes(range(256)) + b"\n\x00\x00\n",
    "json-app": b'{"level":"info","msg":"listening","port":8080}\n{"level":"warn","msg":"slow"}\n',
}


def framer_seeds():
    for i, (name, out) in enumerate(OUTPUTS.items()):
        refusals = [b"", b"\x01\x00", b"\x00\x01\x01"][i % 3]
        chunking = [b"", b"\x01\x07\x40", b"\x03\x05\x11\x80\xff"][i % 3]
        f = (FDP().integral([1024, 16, 64, 2000, 100][i], 1, 4096, 32)
             .boolean(i % 2 == 1)
             .integral(len(refusals), 0, 8, 64).raw(refusals)
             .integral(len(chunking), 0, 64, 64).raw(chunking)
             .raw(out))
        write("framer", name, f.build())


def pipe_reader_seeds():
    for i, (name, out) in enumerate(OUTPUTS.items()):
        max_line = [1024, 16, 64, 2000, 100][i]
        schedule = [b"", b"\x00\x01\x02", b"\x10\x00\x33\x04"][i % 3]
        f = (FDP().integral(max_line, 16, 4096, 32)
             .integral(24 * 1024 + i * 40000, 24 * 1024, 512 * 1024, 64)
             .boolean(i == 3)
             .boolean(i == 2)
             .integral(max_line + 1 + i * 500, max_line + 1, 64 * 1024, 64)
             .integral(len(schedule), 0, 32, 64).raw(schedule)
             .raw(out))
        write("pipe_reader", name, f.build())


def log_dir_follower_seeds():
    for i, (name, out) in enumerate(OUTPUTS.items()):
        refusals = [b"", b"\x01\x00"][i % 2]
        appends = [b"", b"\x01\x02\x03", b"\x00\x05\x01\x01"][i % 3]
        f = FDP().integral([1024, 16, 64, 2000, 100][i], 1, 4096, 32)
        f.integral([4096, 7, 100, 16384, 1][i], 1, 16384, 64)
        f.boolean(i % 2 == 0)
        if i % 2 == 1:
            f.integral(13, 1, 8192, 64)
        f.integral([0, 1, 2, 0, 1][i], 0, 8, 64)
        f.integral(len(refusals), 0, 8, 64).raw(refusals)
        f.integral(len(appends), 0, 16, 64).raw(appends)
        f.raw(out)
        write("log_dir_follower", name, f.build())


# ---- logs on disk ----

JSON_LINES = [
    b'{"log":"hello from the container, line 1\\n","stream":"stdout","time":"2023-11-14T22:13:20.123456789Z"}\n',
    b'{"log":"oops \\u003cerror\\u003e\\n","stream":"stderr","time":"2023-11-14T22:13:20.2Z"}\n',
    b'{"log":"a cut line ","stream":"stdout","time":"2023-11-14T22:13:21Z"}\n',
    b'{"log":"with attrs\\n","stream":"stdout","attrs":{"tag":"web","com.example.team":"payments"},"time":"2023-11-14T22:13:22.5Z"}\n',
    b'{"log":"\\ud83d\\ude00 surrogate pair \\u2028 and \\t tab\\r\\n","stream":"stdout","time":"2023-11-14T23:13:23+01:00"}\n',
]


def reader_seed(lines_current, rotated=(), tail=None, grep=None, stream=0, time_filter=0,
                some_time=0, cursor=b""):
    f = FDP().integral(stream, 0, 2, 32).boolean(grep is not None)
    if grep is not None:
        f.string(grep, 8)
    f.boolean(tail is not None)
    if tail is not None:
        f.integral(tail, 0, 12, 64)
    f.integral(time_filter, 0, 3, 32).i64(some_time).string(cursor, 24)
    f.integral(len(rotated), 0, 2, 32)
    for gz, content in rotated:  # the oldest first
        f.boolean(gz).string(content)
    f.raw(lines_current)
    return f.build()


def json_file_seeds():
    j = JSON_LINES
    write("json_file_reader", "one-file", reader_seed(b"".join(j)))
    write("json_file_reader", "tail-2-stdout", reader_seed(b"".join(j), tail=2, stream=1))
    write("json_file_reader", "rotated-gzip", reader_seed(
        j[3] + j[4], rotated=[(True, j[0]), (False, j[1] + j[2])], tail=3))
    write("json_file_reader", "torn-and-garbage", reader_seed(
        j[0] + b"not json\n" + j[1] + j[2][:40], tail=1, grep=b"line"))
    write("json_file_reader", "since", reader_seed(b"".join(j), time_filter=1, some_time=2))
    write("json_file_reader", "cursor", reader_seed(b"".join(j), time_filter=3,
                                                     cursor=b"1700000001000000000"))
    write("json_file_reader", "far-future", reader_seed(
        b'{"log":"x\\n","stream":"stdout","time":"2262-04-11T23:47:16.854775807Z"}\n'
        b'{"log":"y\\n","stream":"stdout","time":"1677-09-21T00:12:43.145224192Z"}\n'))


CRI_LINES = [
    b"2023-11-14T22:13:20.1Z stdout F first\n",
    b"2023-11-14T22:13:20.2Z stdout P aaa\n",
    b"2023-11-14T22:13:20.3Z stderr F oops\n",
    b"2023-11-14T22:13:20.4Z stdout P bbb\n",
    b"2023-11-14T22:13:20.5Z stdout F ccc\n",
    b"2023-11-14T23:13:20.600000000+01:00 stdout F:x conmon's form\n",
    b"2023-11-14T22:13:20.7Z stderr P unfinished\n",
]


def k8s_file_seeds():
    c = CRI_LINES
    write("k8s_file_reader", "one-file", reader_seed(b"".join(c)))
    write("k8s_file_reader", "tail-3", reader_seed(b"".join(c), tail=3))
    write("k8s_file_reader", "tail-1-stderr", reader_seed(b"".join(c), tail=1, stream=2))
    write("k8s_file_reader", "rotated-gzip", reader_seed(
        b"".join(c[4:]), rotated=[(True, b"".join(c[:2])), (False, b"".join(c[2:4]))], tail=2))
    write("k8s_file_reader", "torn-and-garbage", reader_seed(
        c[0] + b"garbage\n" + c[1] + c[4][:20], grep=b"a"))
    write("k8s_file_reader", "cursor", reader_seed(b"".join(c), time_filter=3,
                                                    cursor=b"1700000000300000000"))
    write("k8s_file_reader", "until", reader_seed(b"".join(c), time_filter=2, some_time=3))


# ---- syslog ----

def syslog_seeds():
    records = [
        dict(stderr=False, flags=1, message=b"hello world"),
        dict(stderr=True, flags=2, ordinal=1, partial_id=7, message=b"x" * 40),
        dict(stderr=False, flags=1 | 2 | 4, ordinal=2, partial_id=7, message=b"end \"quoted\" ]"),
        dict(stderr=False, flags=1, file=b"app/../weird name.log", message=b"from a file"),
        dict(stderr=False, flags=1, drop=(12, 3400), message=b"after a drop"),
    ]
    for name, fmt, facility, address, tag in [
            ("docker-default", 0, b"daemon", b"", b"{{.ID}}"),
            ("rfc3164-local7", 1, b"local7", b"udp://127.0.0.1:514", b"{{.Name}}"),
            ("rfc5424", 2, b"23", b"tcp+tls://[::1]:6514", b"{{.ImageName}}/{{.Name}}"),
            ("rfc5424micro", 3, b"kern", b"unix:///run/rsyslog.sock", b"app {{.FullID}}")]:
        f = FDP().boolean(False).integral(fmt, 0, 3, 64)
        f.string(facility, 12).string(address, 128)
        f.string(ID, 64).string(b"web", 32).string(b"nginx:1.25", 32)
        labels = [(b"com.example.team", b"pay]ments\"\\", True), (b"LANG", b"C.UTF-8", False)]
        f.integral(len(labels), 0, 4, 32)
        for key, value, is_label in labels:
            f.string(key, 16).string(value, 32).boolean(is_label)
        f.string(b"com.example.team", 32).string(b"LANG", 32).string(tag, 48)
        f.integral(4242, 1, 4194304, 32)
        for r in records:
            f.boolean(r["stderr"]).u8(r["flags"]).u32(r.get("ordinal", 0))
            f.u64(r.get("partial_id", 0)).u64(100).i64(1_700_000_000_123_456_789)
            f.boolean("file" in r)
            if "file" in r:
                f.string(r["file"].replace(b"/", b"_"), 24)
            lines, size = r.get("drop", (0, 0))
            f.u64(lines).u64(size).boolean("drop" in r)
            f.string(r["message"], 256)
        write("syslog_format", name, f.build())


# ---- query options ----

def query_seeds():
    # value types: 0 t, 1 x, 2 u, 3 i, 4 b, 5 as, 6 d, 7 y, 8 n, else s
    entries = {
        "tail-and-follow": [("tail", 0, 100), ("follow", 4, True)],
        "since-text-until-ns": [("since", 9, b"1 hour ago"), ("until", 1, 1_700_000_000_000_000_000)],
        "grep-json": [("grep", 9, b"time(out)?|ERR"), ("format", 9, b"json"),
                      ("case_sensitive", 4, False)],
        "streams-cursor": [("streams", 5, [b"stderr"]), ("after_cursor", 9, b"1700000000000000000")],
        "times": [("since", 9, b"2023-11-14T22:13:20.5+01:00"), ("until", 9, b"yesterday")],
        "bad": [("tail", 3, -1), ("colour", 9, b"always")],
    }
    names = ["since", "until", "tail", "streams", "format", "follow", "grep", "after_cursor",
             "case_sensitive"]
    for seed, items in entries.items():
        f = FDP().integral(len(items), 0, 6, 32)
        for name, kind, value in items:
            if name in names:
                f.integral(1, 0, 15, 32).integral(names.index(name), 0, 8, 64)
            else:
                f.integral(0, 0, 15, 32).string(name, 16)
            f.integral(kind, 0, 10, 32)
            if kind == 0:
                f.u64(value)
            elif kind == 1:
                f.i64(value)
            elif kind == 3:
                f.integral(value, -(2**31), 2**31 - 1, 32)
            elif kind == 4:
                f.boolean(value)
            elif kind == 5:
                f.integral(len(value), 0, 3, 32)
                for s in value:
                    f.string(s, 12)
            else:
                f.string(value, 64)
        for message in [b"request timeout after 30s", b"ERROR \xff\xfe not utf-8", b""]:
            f.string(message, 128)
        write("query_options", seed, f.build())


# ---- the configuration file ----

CONFIGS = {
    "example": b"""# ringlogd's configuration (man ringlogd.conf)
socket = /run/ringlogd/ingest.sock
socket-mode = 0660
allowed-group = ringlog
log-root = /var/log/ringlogd
allowed-log-roots = /var/log/ringlogd /srv/logs
log-dir-roots = /var/lib/kubelet/pods, /srv/pods
default-driver = json-file
default-mode = non-blocking
default-max-buffer-size = 4m
max-line = 16k
max-containers = 4096
pipe-size = 1m
blocking-ring-budget = 64m
consumer-threads = 2
stop-timeout = 1min 30s
log-level = info
dbus = auto
""",
    "sizes-and-durations": b"max-line = 1.5MiB\nmax-line=1024\ndefault-max-buffer-size = 10 m\n"
                           b"stop-timeout = 500ms\nstop-timeout: 2h45m30s\npipe-size = 0\n",
    "errors": b"; a comment\n[section]\nlog-level = debug\n",
    "no-equals": b"log-level debug\n",
    "crlf": b"log-level = warn\r\nconsumer-threads = 64\r\n",
}


def config_seeds():
    for name, text in CONFIGS.items():
        write("config", name, text)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    shutil.rmtree(CORPUS, ignore_errors=True)
    lib = ctypes.CDLL(sys.argv[1])
    attach_seeds(lib)
    push_seeds(lib)
    framer_seeds()
    pipe_reader_seeds()
    log_dir_follower_seeds()
    json_file_seeds()
    k8s_file_seeds()
    syslog_seeds()
    query_seeds()
    config_seeds()


if __name__ == "__main__":
    main()
