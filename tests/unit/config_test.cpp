#include "service/daemon/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "service/base/units.h"

namespace ringlog {
namespace {

TEST(Config, AppliesKeyValueLinesAndIgnoresComments) {
    Settings s;
    auto e = applyConfigText(
        s, "# comment\n; also\n\nsocket = /run/x.sock\nmax-line=64k\nconsumer-threads = 4\n",
        "f.conf");
    ASSERT_FALSE(e.has_value()) << e->message;
    EXPECT_EQ(s.socket, "/run/x.sock");
    EXPECT_EQ(s.max_line, 64u * 1024);
    EXPECT_EQ(s.consumer_threads, 4u);
}

TEST(Config, NamesFileLineAndKeyOfAnUnknownSetting) {
    Settings s;
    auto e =
        applyConfigText(s, "socket = /run/x.sock\nsockt = /run/y\n", "/etc/ringlogd/ringlogd.conf");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message, "/etc/ringlogd/ringlogd.conf:2: unknown setting \"sockt\"");
}

// The file is read with inih; what ringlogd read before it still reads the same.
TEST(Config, ReadsLinesAsBeforeInih) {
    Settings s;
    std::string roots;
    for (int i = 0; i < 40; ++i)
        roots += " /srv/logs/tenant-" + std::to_string(i);
    auto e = applyConfigText(s,
                             "\xef\xbb\xbf# a BOM, then a comment\n"
                             "  ; an indented comment\n"
                             "socket = /run/x.sock\n"
                             "  max-line = 64k\r\n"
                             "allowed-group = a ;b\n"
                             "allowed-log-roots =" +
                                 roots + "\n",
                             "f.conf");
    ASSERT_FALSE(e.has_value()) << e->message;
    EXPECT_EQ(s.socket, "/run/x.sock");
    EXPECT_EQ(s.max_line, 64u * 1024) << "an indented line is a setting, not a continuation";
    EXPECT_EQ(s.allowed_group, "a ;b") << "no inline comments: the value is taken whole";
    EXPECT_EQ(s.allowed_log_roots.size(), 40u) << "a line of " << roots.size() << " bytes";
}

TEST(Config, NamesTheLineThatIsNotASetting) {
    Settings s;
    auto e = applyConfigText(s, "socket = /run/x.sock\n\nmax-line 64k\n", "f.conf");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message, "f.conf:3: expected key = value, got \"max-line 64k\"");
    e = applyConfigText(s, "[main\n", "f.conf");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message, "f.conf:1: expected key = value, got \"[main\"");
    e = applyConfigText(s, "# settings\n[main]\nsocket = /run/x.sock\n", "f.conf");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message,
              "f.conf:3: setting \"socket\" is in section [main]: ringlogd's settings are in no "
              "section");
    e = applyConfigText(s, "log-level = debug\nlog-level = loud\nlog-level = nonsense\n", "f.conf");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message,
              "f.conf:2: setting log-level: \"loud\" is not one of trace, debug, info, warn, error")
        << "the first error ends the file";
    const char with_nul[] = "socket = /run/x\0.sock\n";
    e = applyConfigText(s, std::string(with_nul, sizeof with_nul - 1), "f.conf");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message, "f.conf: has a NUL byte: not a configuration file");
}

TEST(Config, RefusesBadValuesWithWhatWasExpected) {
    Settings s;
    auto e = applySetting(s, "default-mode", "sometimes");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message, "setting default-mode: \"sometimes\" is not blocking or non-blocking");
    EXPECT_TRUE(applySetting(s, "max-line", "10").has_value());
    EXPECT_TRUE(applySetting(s, "log-root", "relative/dir").has_value());
}

// Found by the config fuzzer: a log-root with white space in it loaded, but allowed-log-roots (its
// default) is a space-separated list, so settingsText wrote settings that did not read back: the
// settings kept in the fd store for a next instance that finds the configuration broken.
TEST(Config, WhatLoadsIsWrittenOutBySettingsTextAndReadsBackTheSame) {
    Settings s;
    auto e = applySetting(s, "log-root", "/var/log/my logs");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message,
              "setting log-root: \"/var/log/my logs\" is not an absolute path without white space");
    ASSERT_FALSE(applyConfigText(s, "log-root = /srv/logs\nallowed-group = log readers\n", "f"));
    s.allowed_log_roots = {s.log_root};  // as loadSettings fills it in
    Settings again;
    ASSERT_FALSE(applyConfigText(again, settingsText(s), "settingsText"));
    EXPECT_EQ(describeSettings(again), describeSettings(s));
}

// A configuration file (and drop-in folder) of the test's own, removed at the end.
struct ConfigDir {
    ConfigDir() {
        char tmpl[] = "/tmp/ringlog-config-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~ConfigDir() { std::filesystem::remove_all(path); }
    std::string file() const { return path + "/ringlogd.conf"; }
    void write(const std::string& name, const std::string& text) const {
        std::filesystem::create_directories(std::filesystem::path(path + "/" + name).parent_path());
        std::ofstream(path + "/" + name) << text;
    }
    std::string path;
};

TEST(Config, FlagsWinOverTheFileAndItsDropInsEachTimeTheyAreRead) {
    ConfigDir dir;
    dir.write("ringlogd.conf", "default-mode = non-blocking\nmax-containers = 10\n");
    dir.write("ringlogd.conf.d/50-more.conf", "max-containers = 20\nlog-level = debug\n");
    CommandLine cl;
    cl.config_file = dir.file();
    cl.config_given = true;
    cl.flags = {{"default-mode", "blocking"}};
    auto s = loadSettings(cl);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->default_mode, "blocking");
    EXPECT_EQ(s->max_containers, 20u);
    EXPECT_EQ(s->log_level, "debug");

    // What a reload does: the files again, the same flags on top.
    dir.write("ringlogd.conf", "default-mode = non-blocking\nmax-containers = 30\n");
    s = loadSettings(cl);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->default_mode, "blocking");
    EXPECT_EQ(s->max_containers, 20u) << "the drop-in still comes after the file";
}

TEST(Config, ParsesTheCommandLineIntoTheFileAndTheFlagsInOrder) {
    const char* argv[] = {"ringlogd",       "--config", "/x/r.conf",
                          "--max-line=64k", "--socket", "/run/s.sock"};
    bool exit_now = true;
    auto cl = parseCommandLine(6, const_cast<char**>(argv), exit_now);
    ASSERT_TRUE(cl) << cl.error().message;
    EXPECT_FALSE(exit_now);
    EXPECT_EQ(cl->config_file, "/x/r.conf");
    EXPECT_TRUE(cl->config_given);
    using Flag = std::pair<std::string, std::string>;
    EXPECT_EQ(cl->flags, (std::vector<Flag>{{"max-line", "64k"}, {"socket", "/run/s.sock"}}));
}

TEST(Config, AMissingNamedFileIsAnErrorThatNamesIt) {
    CommandLine cl;
    cl.config_file = "/nonexistent/ringlogd.conf";
    cl.config_given = true;
    auto s = loadSettings(cl);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("/nonexistent/ringlogd.conf"), std::string::npos);
}

TEST(Config, EverySettingSaysWhenAReloadPutsItInEffect) {
    Settings a;
    a.allowed_log_roots = {a.log_root};
    Settings b;
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{{"socket", "/run/b.sock"},
                                                          {"socket-mode", "0600"},
                                                          {"allowed-group", "adm"},
                                                          {"log-root", "/var/log/b"},
                                                          {"allowed-log-roots", "/var/log/b /srv"},
                                                          {"log-dir-roots", "/srv/pods,/srv/b"},
                                                          {"default-driver", "none"},
                                                          {"default-mode", "non-blocking"},
                                                          {"default-max-buffer-size", "2m"},
                                                          {"max-line", "32k"},
                                                          {"max-containers", "7"},
                                                          {"max-ring-size", "1g"},
                                                          {"total-ring-size", "16g"},
                                                          {"pipe-size", "64k"},
                                                          {"blocking-ring-budget", "8m"},
                                                          {"consumer-threads", "5"},
                                                          {"stop-timeout", "2min"},
                                                          {"log-level", "debug"},
                                                          {"dbus", "no"}})
        ASSERT_FALSE(applySetting(b, key, value).has_value()) << key;
    auto changes = diffSettings(a, b);
    ASSERT_EQ(changes.size(), kSettingDocs.size()) << "every setting differs";

    // What a reload keeps of the running settings is exactly what needs a restart.
    Settings merged = mergeReloadable(a, b);
    std::vector<std::string> kept, restart_only;
    for (const auto& c : diffSettings(merged, b))
        kept.push_back(c.key);
    for (const auto& d : kSettingDocs)
        if (d.reload == ReloadEffect::kRestart)
            restart_only.push_back(d.key);
    EXPECT_EQ(kept, restart_only);
    EXPECT_EQ(restart_only,
              (std::vector<std::string>{"socket", "socket-mode", "log-root", "allowed-log-roots",
                                        "blocking-ring-budget", "consumer-threads", "dbus"}));
    const SettingDoc* level = findSettingDoc("log-level");
    ASSERT_NE(level, nullptr);
    EXPECT_EQ(level->reload, ReloadEffect::kNow);
    auto mode = std::find_if(changes.begin(), changes.end(),
                             [](const SettingChange& c) { return c.key == "default-mode"; });
    ASSERT_NE(mode, changes.end());
    EXPECT_EQ(mode->old_value, "blocking");
    EXPECT_EQ(mode->new_value, "non-blocking");
    EXPECT_EQ(mode->reload, ReloadEffect::kNewContainers);
}

TEST(Units, ParsesDockerSizes) {
    EXPECT_EQ(parseSize("1m"), 1 << 20);
    EXPECT_EQ(parseSize("10K"), 10 << 10);
    EXPECT_EQ(parseSize("2gb"), int64_t{2} << 30);
    EXPECT_EQ(parseSize("512"), 512);
    EXPECT_FALSE(parseSize("m").has_value());
    EXPECT_FALSE(parseSize("1x").has_value());
    EXPECT_FALSE(parseSize("-1").has_value());
}

// units.RAMInBytes of go-units v0.4.0 (docker 20.10: max-buffer-size), binary units.
TEST(Units, ParseSizeReadsWhatDockersRAMInBytesReads) {
    EXPECT_EQ(parseSize("1.5m"), 1'572'864);
    EXPECT_EQ(parseSize("10 m"), 10'485'760);
    EXPECT_EQ(parseSize("1MiB"), 1'048'576);
    EXPECT_EQ(parseSize("1Mb"), 1'048'576);
    EXPECT_EQ(parseSize("1p"), int64_t{1} << 50);
    EXPECT_EQ(parseSize("0.5k"), 512);
    EXPECT_FALSE(parseSize("8388608t").has_value()) << "2^63 does not fit";
    EXPECT_FALSE(parseSize("10  m").has_value());
}

// units.FromHumanSize of go-units v0.4.0, which docker 20.10's json-file reads max-size with:
// ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$, decimal units, int64(float64 number * unit).
TEST(Units, ParseDecimalSizeReadsMaxSizeAsDockersJsonFileDoes) {
    EXPECT_EQ(parseDecimalSize("1m"), 1'000'000);
    EXPECT_EQ(parseDecimalSize("1.5m"), 1'500'000);
    EXPECT_EQ(parseDecimalSize("10 m"), 10'000'000);
    EXPECT_EQ(parseDecimalSize("1k"), 1'000);
    EXPECT_EQ(parseDecimalSize("1K"), 1'000);
    EXPECT_EQ(parseDecimalSize("100"), 100);
    EXPECT_EQ(parseDecimalSize("1mb"), 1'000'000);
    EXPECT_EQ(parseDecimalSize("1MB"), 1'000'000);
    EXPECT_EQ(parseDecimalSize("1MiB"), 1'000'000) << "FromHumanSize takes the i and ignores it";
    EXPECT_EQ(parseDecimalSize("1 kB"), 1'000);
    EXPECT_EQ(parseDecimalSize("512b"), 512);
    EXPECT_EQ(parseDecimalSize("2g"), 2'000'000'000);
    EXPECT_EQ(parseDecimalSize("1p"), 1'000'000'000'000'000);
    EXPECT_EQ(parseDecimalSize("0.5k"), 500);
    EXPECT_EQ(parseDecimalSize("1.5"), 1) << "truncated, as Go's int64()";
    EXPECT_EQ(parseDecimalSize("8.2m"), 8'199'999) << "8.2 * 1e6 in doubles, truncated";
    EXPECT_EQ(parseDecimalSize("2.01m"), 2'009'999);
    EXPECT_EQ(parseDecimalSize("007k"), 7'000);
    EXPECT_EQ(parseDecimalSize("10 "), 10) << "the regex allows a space and no unit";
    EXPECT_EQ(parseDecimalSize("1i"), 1) << "and an i without a unit";
    for (const char* bad :
         {"", "m", "-1", " 10m", "10m ", "10  m", "1.", ".5m", "1.2.3m", "1x", "1mm", "1bi", "1e3",
          "1,5m", "0x10", "+1m", "1m\n", "9300000000000000000", "9223372036854775808b"})
        EXPECT_FALSE(parseDecimalSize(bad).has_value()) << '"' << bad << '"';
}

}  // namespace
}  // namespace ringlog
