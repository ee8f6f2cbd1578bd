// framing_writer: a container stand-in that writes lines in write()s whose sizes have nothing to
// do with where lines end: log-uniform from 1 byte to --max-write, on stdout, or on stdout and
// stderr in random turns. The lines are framing_lines.h's, so a test can make them again.
//   --seed S         the lines' and the writes' seed (default 1)
//   --lines N        lines per stream
//   --max-len L      random line lengths below L (without '\n'; default 16384)
//   --lengths A,B,…  line lengths in turn instead
//   --streams S      stdout (default) or both
//   --max-write W    the largest write (default 65536)
//   --file F         write F's bytes to stdout instead of lines, in the same random writes
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "framing_lines.h"

using ringlog::test::LineSource;
using ringlog::test::SplitMix;

namespace {

struct Stream {
    int fd;
    LineSource source;
    long long left;      // lines not yet generated
    std::string buffer;  // generated, not yet written
    size_t offset = 0;
};

bool writeAll(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t seed = 1;
    long long lines = 1000;
    uint32_t max_len = 16384;
    size_t max_write = 65536;
    std::vector<uint32_t> lengths;
    std::string streams = "stdout";
    std::string file;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        const char* v = argv[i + 1];
        if (a == "--seed") {
            seed = std::strtoull(v, nullptr, 10);
        } else if (a == "--lines") {
            lines = std::atoll(v);
        } else if (a == "--max-len") {
            max_len = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
        } else if (a == "--max-write") {
            max_write = std::strtoul(v, nullptr, 10);
        } else if (a == "--file") {
            file = v;
        } else if (a == "--streams") {
            streams = v;
        } else if (a == "--lengths") {
            for (const char* p = v; *p;) {
                char* end;
                lengths.push_back(static_cast<uint32_t>(std::strtoul(p, &end, 10)));
                p = *end == ',' ? end + 1 : end;
            }
        } else {
            std::fprintf(stderr, "framing_writer: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (max_len == 0 || max_write == 0) {
        std::fprintf(stderr, "framing_writer: --max-len and --max-write must be positive\n");
        return 2;
    }
    std::vector<Stream> out;
    out.push_back({1, LineSource(seed, 1, max_len, lengths), lines, {}});
    if (!file.empty()) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "framing_writer: cannot read %s\n", file.c_str());
            return 1;
        }
        out[0].buffer.assign(std::istreambuf_iterator<char>(in), {});
        out[0].left = 0;
    } else if (streams == "both")
        out.push_back({2, LineSource(seed, 2, max_len, lengths), lines, {}});
    SplitMix rng(seed ^ 0x5eedULL);
    int max_bits = 0;
    while ((size_t{1} << (max_bits + 1)) <= max_write)
        ++max_bits;
    std::string line;
    for (;;) {
        std::vector<Stream*> live;
        for (auto& s : out)
            if (s.left > 0 || s.offset < s.buffer.size())
                live.push_back(&s);
        if (live.empty())
            return 0;
        Stream& s = *live[rng.below(live.size())];
        // Log-uniform: as many writes of 1 to 2 bytes as of 32 to 64 KiB.
        size_t bits = rng.below(static_cast<uint64_t>(max_bits) + 1);
        size_t size = 1 + rng.below(size_t{1} << bits);
        while (s.buffer.size() - s.offset < size && s.left > 0) {
            if (s.offset > 0) {
                s.buffer.erase(0, s.offset);
                s.offset = 0;
            }
            s.source.next(line);
            s.buffer += line;
            --s.left;
        }
        size = std::min(size, s.buffer.size() - s.offset);
        if (!writeAll(s.fd, s.buffer.data() + s.offset, size)) {
            std::perror("framing_writer: write");
            return 1;
        }
        s.offset += size;
    }
}
