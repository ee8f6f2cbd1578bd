// line_writer: a container stand-in for the integration tests and benchmarks. Writes numbered
// lines "<stream>-<n, 9 digits>-xxx…\n" of a fixed width to stdout and/or stderr, as fast as
// it can, in writes of whole lines (at most --batch bytes, so each write is atomic on a pipe).
//   --lines N        how many lines in all (-1: until a write fails, e.g. EPIPE)
//   --width W        bytes per line, newline included (default 100, at least 17)
//   --stream S       stdout, stderr, or both (alternating line by line; default stdout)
//   --batch B        bytes per write (default 4096)
//   --ready-fd F     write "<pid>\n" to F once started
//   --go-fd F        then wait for one byte on F before writing
//   --progress-fd F --progress-every K   write a byte to F after every K lines
//   --stop-fd F      at each progress byte, stop if F is readable (then --lines -1 is a bound)
//   --count-fd F     at exit, write the number of lines written completely to F
//   --random-writes S  write each batch in write()s of random sizes (log-uniform, 1 byte to
//                    64 KiB, seed S) that end anywhere in a line, not at line ends
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "framing_lines.h"

int main(int argc, char** argv) {
    long long lines = 1000;
    int width = 100, batch = 4096, ready_fd = -1, go_fd = -1, progress_fd = -1, count_fd = -1,
        stop_fd = -1;
    long long progress_every = 0;
    std::string stream = "stdout";
    unsigned long long random_writes = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        const char* v = argv[i + 1];
        if (a == "--lines")
            lines = std::atoll(v);
        else if (a == "--width")
            width = std::atoi(v);
        else if (a == "--stream")
            stream = v;
        else if (a == "--batch")
            batch = std::atoi(v);
        else if (a == "--ready-fd")
            ready_fd = std::atoi(v);
        else if (a == "--go-fd")
            go_fd = std::atoi(v);
        else if (a == "--progress-fd")
            progress_fd = std::atoi(v);
        else if (a == "--progress-every")
            progress_every = std::atoll(v);
        else if (a == "--stop-fd")
            stop_fd = std::atoi(v);
        else if (a == "--count-fd")
            count_fd = std::atoi(v);
        else if (a == "--random-writes")
            random_writes = std::strtoull(v, nullptr, 10);
        else {
            std::fprintf(stderr, "line_writer: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (width < 17)
        width = 17;
    signal(SIGPIPE, SIG_IGN);
    if (ready_fd >= 0) {
        std::string pid = std::to_string(getpid()) + "\n";
        (void)!write(ready_fd, pid.data(), pid.size());
        close(ready_fd);
    }
    if (go_fd >= 0) {
        char c;
        (void)!read(go_fd, &c, 1);
        close(go_fd);
    }
    std::string out_buf, err_buf;
    long long written = 0, counters[2] = {0, 0};
    bool failed = false;
    ringlog::test::SplitMix rng(random_writes);
    auto flush = [&](std::string& buf, int fd) {
        size_t done = 0;
        while (done < buf.size()) {
            size_t size = buf.size() - done;
            if (random_writes != 0)
                size = std::min<size_t>(size, 1 + rng.below(size_t{1} << rng.below(17)));
            ssize_t n = write(fd, buf.data() + done, size);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                failed = true;
                return;
            }
            done += static_cast<size_t>(n);
        }
        written += static_cast<long long>(buf.size()) / width;
        buf.clear();
    };
    char line[4096];
    for (long long i = 0; (lines < 0 || i < lines) && !failed; ++i) {
        int which = stream == "stderr" ? 1 : stream == "both" ? static_cast<int>(i % 2) : 0;
        std::string& buf = which == 0 ? out_buf : err_buf;
        int n = std::snprintf(line, sizeof line, "%s-%09lld-", which == 0 ? "stdout" : "stderr",
                              counters[which]++);
        std::memset(line + n, 'x', static_cast<size_t>(width - 1 - n));
        line[width - 1] = '\n';
        if (buf.size() + static_cast<size_t>(width) > static_cast<size_t>(batch))
            flush(buf, which == 0 ? 1 : 2);
        buf.append(line, static_cast<size_t>(width));
        if (progress_fd >= 0 && progress_every > 0 && (i + 1) % progress_every == 0) {
            flush(out_buf, 1);
            flush(err_buf, 2);
            (void)!write(progress_fd, "p", 1);
            struct pollfd stop = {stop_fd, POLLIN, 0};
            if (stop_fd >= 0 && poll(&stop, 1, 0) == 1)
                break;
        }
    }
    if (!failed)
        flush(out_buf, 1);
    if (!failed)
        flush(err_buf, 2);
    if (count_fd >= 0) {
        std::string c = std::to_string(written) + "\n";
        (void)!write(count_fd, c.data(), c.size());
    }
    return failed ? 3 : 0;
}
