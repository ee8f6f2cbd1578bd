// The lines framing_writer writes, made again by the tests that check what ringlogd persisted:
// a deterministic sequence per (seed, stream), so a test needs no copy of what was written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringlog::test {

// splitmix64: small, fast, and the same on every platform.
class SplitMix {
  public:
    explicit SplitMix(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }

  private:
    uint64_t state_;
};

// Line lengths, without the '\n': `lengths` in turn when given, else random below `max_len`,
// weighted to short lines as logs are (95 % under 120 bytes, 0.5 % up to `max_len` - 1).
// Bytes: printable ASCII and the bytes docker's JSON escapes ('"', '\\', '<', '>', '&', '\t',
// '\r', 0x01, 0x1b, DEL), never '\n'.
class LineSource {
  public:
    LineSource(uint64_t seed, int stream, uint32_t max_len, std::vector<uint32_t> lengths = {})
        : rng_(seed * 2 + static_cast<uint64_t>(stream)),
          max_len_(max_len),
          lengths_(std::move(lengths)) {}

    // The next line, '\n' included.
    void next(std::string& line) {
        uint32_t len;
        if (!lengths_.empty()) {
            len = lengths_[count_ % lengths_.size()];
        } else {
            uint64_t kind = rng_.below(1000);
            uint64_t cap = kind < 950 ? 120 : kind < 995 ? 2000 : max_len_;
            len = static_cast<uint32_t>(rng_.below(std::min<uint64_t>(cap, max_len_)));
        }
        ++count_;
        static constexpr char kSpecial[] = "\"\\<>&\t\r\x01\x1b\x7f";
        line.resize(len + 1);
        for (uint32_t i = 0; i < len; i += 8) {
            uint64_t r = rng_.next();
            for (uint32_t j = i; j < len && j < i + 8; ++j, r >>= 8) {
                unsigned b = static_cast<unsigned>(r & 0xff);
                line[j] = b < 10 ? kSpecial[b] : static_cast<char>(0x20 + b % 95);
            }
        }
        line[len] = '\n';
    }

  private:
    SplitMix rng_;
    uint32_t max_len_;
    std::vector<uint32_t> lengths_;
    uint64_t count_ = 0;
};

}  // namespace ringlog::test
