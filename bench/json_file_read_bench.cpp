// ringlog-json-read-bench: the query path's decoding of a json-file log, without the daemon
// (docs/performance.md, "Reading json-file: simdjson vs hand-written"). Google Benchmark.
//
// Writes one docker json-file log (RINGLOG_JSON_BENCH_LINES records, 1,000,000 by default, in
// $TMPDIR) with docker's own encoding: mostly 40-200-byte messages, 10 % with escapes (quotes,
// tabs, control bytes, '<'), 1 % of 2-8 KiB, 30 % with "attrs", some partial records. Then:
//   BM_ReadJsonFileLog     JsonFileReader::open + next() over the whole file (page cache)
//   BM_ParseJsonFileLines  parseJsonFileLine() alone, over the same lines held in memory
// Both report records/s ("items_per_second") and bytes/s of the log.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "drivers/docker/json_encoding.h"
#include "drivers/json_file/json_file_reader.h"

namespace {

namespace fs = std::filesystem;

struct Data {
    fs::path file;
    std::vector<std::string> lines;
    size_t bytes = 0;
};

std::string message(std::mt19937_64& rng, uint64_t i) {
    std::uniform_int_distribution<int> pct(0, 99);
    std::uniform_int_distribution<int> len(40, 200);
    int kind = pct(rng);
    size_t n =
        kind == 0 ? static_cast<size_t>(2048 + (rng() % 6144)) : static_cast<size_t>(len(rng));
    std::string m = "request " + std::to_string(i) + " ";
    static const char kText[] = "GET /api/v1/items?id=42 200 OK took 12ms user=alice ";
    while (m.size() < n)
        m += kText;
    m.resize(n);
    if (kind < 10) {
        m.insert(m.size() / 3, "\t\"quoted\" <b>&amp; back\\slash\x01");
        m.insert(m.size() / 2, "caf\xc3\xa9 \xe2\x82\xac");
    }
    return m;
}

const Data& data() {
    static Data d = [] {
        Data out;
        const char* env = std::getenv("RINGLOG_JSON_BENCH_LINES");
        uint64_t count = env != nullptr ? std::strtoull(env, nullptr, 10) : 1'000'000;
        out.file = fs::temp_directory_path() /
                   ("ringlog-json-read-bench-" + std::to_string(::getpid()) + "-json.log");
        std::mt19937_64 rng(42);
        std::ofstream f(out.file, std::ios::binary);
        int64_t t = 1'795'000'000'000'000'000;
        std::string line;
        for (uint64_t i = 0; i < count; ++i) {
            t += 1'000 + static_cast<int64_t>(rng() % 3'000'000);
            line.clear();
            line += "{\"log\":";
            std::string m = message(rng, i);
            if (rng() % 50 != 0)
                m += '\n';  // else a partial record
            ringlog::json::appendDockerString(line, m);
            line += i % 2 ? ",\"stream\":\"stderr\"" : ",\"stream\":\"stdout\"";
            if (i % 10 < 3)
                line += R"(,"attrs":{"com.example.service":"web","tag":"app/web-1"})";
            line += ",\"time\":\"";
            ringlog::json::appendRfc3339Nano(line, t);
            line += "\"}";
            f << line << '\n';
            out.bytes += line.size() + 1;
            out.lines.push_back(line);
        }
        return out;
    }();
    return d;
}

void BM_ReadJsonFileLog(benchmark::State& state) {
    const Data& d = data();
    uint64_t records = 0;
    for (auto _ : state) {
        auto reader = ringlog::JsonFileReader::open(d.file, {});
        if (!reader.ok()) {
            state.SkipWithError(reader.error().message.c_str());
            return;
        }
        ringlog::StoredRecord r;
        uint64_t n = 0;
        for (;;) {
            auto more = (*reader)->next(r);
            if (!more.ok() || !*more)
                break;
            ++n;
            benchmark::DoNotOptimize(r.message.data());
        }
        if (n != d.lines.size()) {
            state.SkipWithError("not every record was read");
            return;
        }
        records += n;
    }
    state.SetItemsProcessed(static_cast<int64_t>(records));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.bytes));
}
BENCHMARK(BM_ReadJsonFileLog)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_ParseJsonFileLines(benchmark::State& state) {
    const Data& d = data();
    ringlog::StoredRecord r;
    for (auto _ : state) {
        for (const auto& line : d.lines) {
            if (ringlog::parseJsonFileLine(line, r)) {
                state.SkipWithError("a line did not parse");
                return;
            }
            benchmark::DoNotOptimize(r.message.data());
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.lines.size()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.bytes));
}
BENCHMARK(BM_ParseJsonFileLines)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    fs::remove(data().file);
    return 0;
}
