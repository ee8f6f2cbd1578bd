// The k8s-file driver through the real ringlogd: the CRI format on disk, read back with
// `ringlogctl logs` (all, tail, since, cursors, follow), rotation by max-size, and kubelet's
// rotation: rename the file, then Reopen.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>

#include "bus_fixture.h"
#include "harness.h"

namespace ringlog::test {
namespace {

using Output = CommandOutput;

// One CRI line, split: time, stream, tag, content.
struct CriLine {
    std::string time, stream, tag, content;
};

std::vector<CriLine> readCri(const fs::path& file) {
    std::vector<CriLine> out;
    for (const auto& line : splitLines(readFile(file))) {
        CriLine c;
        size_t a = line.find(' '), b = line.find(' ', a + 1), t = line.find(' ', b + 1);
        if (a == std::string::npos || b == std::string::npos || t == std::string::npos)
            throw std::runtime_error("not a CRI line in " + file.string() + ": " + line);
        c.time = line.substr(0, a);
        c.stream = line.substr(a + 1, b - a - 1);
        c.tag = line.substr(b + 1, t - b - 1);
        c.content = line.substr(t + 1);
        out.push_back(std::move(c));
    }
    return out;
}

class K8sFile : public PrivateBusTest {
  protected:
    Output logs(std::vector<std::string> args) {
        args.insert(args.begin(), {ringlogctlPath(), "logs"});
        return run(args);
    }
    // kubelet's path for a pod's container, under the log root (an allowed root).
    fs::path podLog(const std::string& container) const {
        return d_->logRoot() / "pods" / "default_web-0_1b2c3d4e" / container / "0.log";
    }
    // Runs a container on k8s-file to its end; `logs -f` returns once all of it is persisted.
    Output runToTheEnd(const std::string& id, std::vector<std::string> opts,
                       std::vector<std::string> cmd) {
        std::vector<std::string> args = {"--id", id, "--log-driver", "k8s-file"};
        for (auto& o : opts)
            args.insert(args.end(), {"--log-opt", o});
        args.push_back("--");
        args.insert(args.end(), cmd.begin(), cmd.end());
        EXPECT_EQ(ringlogctlRun(*d_, args), 0);
        return logs({"-f", id});
    }
    static std::string numbered(long long from, long long to, int width = 100) {
        std::string s;
        for (long long i = from; i < to; ++i) {
            std::string prefix = linePrefix("stdout", i);
            s += prefix + std::string(static_cast<size_t>(width) - prefix.size() - 1, 'x') + "\n";
        }
        return s;
    }
};

TEST_F(K8sFile, RotationByMaxSizeKeepsEveryLineOnceOnDiskAndInLogs) {
    constexpr long long kLines = 50000;
    fs::path path = podLog("web");
    Output all =
        runToTheEnd("k8s-rot", {"path=" + path.string(), "max-size=1m", "max-file=20"},
                    {lineWriterPath(), "--lines", std::to_string(kLines), "--width", "100"});
    ASSERT_EQ(all.status, 0) << all.err;
    std::string expected = numbered(0, kLines);
    ASSERT_EQ(all.out.size(), expected.size());
    EXPECT_TRUE(all.out == expected) << "logs differs from what the container wrote";

    // On disk: 0.log.N … 0.log.1, 0.log, each at most max-size and a line; lines in order.
    std::vector<fs::path> files;
    for (int n = 20; n >= 1; --n)
        if (fs::exists(path.string() + "." + std::to_string(n)))
            files.push_back(path.string() + "." + std::to_string(n));
    files.push_back(path);
    ASSERT_GE(files.size(), 6u);
    std::string joined;
    std::string last_time;
    for (const auto& f : files) {
        EXPECT_LE(fs::file_size(f), 1'000'000u + 200u) << f;
        for (const auto& c : readCri(f)) {
            EXPECT_EQ(c.stream, "stdout");
            EXPECT_EQ(c.tag, "F");
            EXPECT_EQ(c.time.back(), 'Z');
            joined += c.content + "\n";
        }
    }
    EXPECT_TRUE(joined == expected) << "the files differ from what the container wrote";
}

TEST_F(K8sFile, LongLinesArePartsOnDiskAndWholeInLogs) {
    std::string script =
        "head -c 102400 /dev/zero | tr '\\0' L; echo; echo short; printf 'no newline'";
    Output raw =
        runToTheEnd("k8s-long", {"path=" + podLog("long").string()}, {"/bin/sh", "-c", script});
    ASSERT_EQ(raw.status, 0) << raw.err;
    EXPECT_TRUE(raw.out == std::string(102400, 'L') + "\nshort\nno newline");
    auto lines = readCri(podLog("long"));
    ASSERT_EQ(lines.size(), 9u);
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(lines[i].tag, "P");
        EXPECT_EQ(lines[i].content.size(), 16384u);
    }
    EXPECT_EQ(lines[6].tag, "F");
    EXPECT_EQ(lines[6].content.size(), 102400u - 6 * 16384u);
    EXPECT_EQ(lines[7].tag, "F");
    EXPECT_EQ(lines[8].tag, "P");  // a last line without '\n', as containerd writes it
    EXPECT_EQ(lines[8].content, "no newline");

    Output json = logs({"--format", "json", "k8s-long"});
    ASSERT_EQ(json.status, 0) << json.err;
    auto records = splitLines(json.out);
    ASSERT_EQ(records.size(), 3u);
    auto first = nlohmann::json::parse(records[0]);
    EXPECT_EQ(first["message"].get<std::string>().size(), 102400u);
    EXPECT_FALSE(first["partial"].get<bool>());
    EXPECT_TRUE(nlohmann::json::parse(records[2])["partial"].get<bool>());
    Output tail = logs({"--tail", "2", "k8s-long"});
    EXPECT_EQ(tail.out, "short\nno newline");
}

TEST_F(K8sFile, TailSinceAndCursorsReadLikeJsonFile) {
    Output all = runToTheEnd("k8s-q", {}, {lineWriterPath(), "--lines", "1000", "--width", "40"});
    ASSERT_EQ(all.status, 0) << all.err;
    ASSERT_EQ(all.out, numbered(0, 1000, 40));
    EXPECT_TRUE(fs::exists(d_->logRoot() / "k8s-q" / "k8s-q.log"));
    EXPECT_EQ(logs({"--tail", "3", "k8s-q"}).out, numbered(997, 1000, 40));
    auto records = splitLines(logs({"--format", "json", "--tail", "3", "k8s-q"}).out);
    ASSERT_EQ(records.size(), 3u);
    auto r0 = nlohmann::json::parse(records[0]);
    EXPECT_EQ(logs({"--after-cursor", r0["cursor"].get<std::string>(), "k8s-q"}).out,
              numbered(998, 1000, 40));
    EXPECT_EQ(logs({"--since", r0["time"].get<std::string>(), "k8s-q"}).out,
              numbered(997, 1000, 40));
    EXPECT_EQ(logs({"--stream", "stderr", "k8s-q"}).out, "");
}

// Kubelet's rotation under a writer at full speed: rename the file to <path>.<timestamp>, then
// Reopen (what ReopenContainerLog does), four times during 1,000,000 lines. The renamed files and
// the current one, in that order, hold every line exactly once, in order.
TEST_F(K8sFile, RenameAndReopenUnderAWriterKeepEveryLineOnceInOrder_Root) {
    constexpr long long kLines = 1'000'000;
    constexpr int kWidth = 40;
    const std::string id = "k8s-reopen";
    fs::path path = podLog("busy");
    StoppableWriter w({ringlogctlPath(), "run", "--socket", d_->socket(), "--id", id,
                       "--log-driver", "k8s-file", "--log-opt", "path=" + path.string(), "--"},
                      lineWriterPath(), 100'000,
                      {"--lines", std::to_string(kLines), "--width", std::to_string(kWidth)});
    std::vector<fs::path> files;
    for (int i = 1; i <= 9; ++i) {
        ASSERT_EQ(readSome(w.progress.read_fd, 1).size(), 1u) << "the writer stopped early";
        if (i % 2 != 0)
            continue;  // after 200,000, 400,000, 600,000 and 800,000 lines written
        fs::path to = path.string() + ".20261130-10000" + std::to_string(i);
        fs::rename(path, to);
        files.push_back(to);
        Output reopened = run({ringlogctlPath(), "reopen", id});
        ASSERT_EQ(reopened.status, 0) << reopened.err;
    }
    ASSERT_EQ(w.process.wait(), 0);
    ASSERT_EQ(logs({"-f", id}).status, 0);  // returns once the last line is persisted
    files.push_back(path);

    long long next = 0;
    for (const auto& f : files) {
        std::string text = readFile(f);
        long long in_file = 0;
        for (size_t at = 0; at < text.size();) {
            size_t end = text.find('\n', at);
            ASSERT_NE(end, std::string::npos) << f << " ends in a torn line";
            std::string_view line(text.data() + at, end - at);
            size_t tag = line.find(" stdout F ");
            ASSERT_NE(tag, std::string_view::npos) << f << ": " << line;
            std::string_view content = line.substr(tag + 10);
            std::string prefix = linePrefix("stdout", next);
            ASSERT_TRUE(content.size() == kWidth - 1 && content.substr(0, prefix.size()) == prefix)
                << f << ": line " << next << " expected, got " << content;
            ++next;
            ++in_file;
            at = end + 1;
        }
        EXPECT_GT(in_file, 0) << f << " holds no line";
    }
    EXPECT_EQ(next, kLines);
}

}  // namespace
}  // namespace ringlog::test
