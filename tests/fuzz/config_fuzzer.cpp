// The configuration file (service/daemon/config.h): the input is the file's bytes, written to a
// file of its own and read by loadSettings as ringlogd reads --config (inih, then every setting's
// value parser: sizes, durations, paths, modes); the same text is also applied straight with
// applyConfigText.
//
// Invariants: both ways give the same settings or both refuse, the error naming the file; what
// loads is written out by settingsText and read back to the same settings (the header's promise,
// on which a reload's comparison of the old and new settings rests), and has the defaults' kind of
// values: max-line from 1k to 1m, 1 to 64 consumer threads, a stop timeout of at least 100 ms.
#include <cstdint>
#include <string>

#include "service/daemon/config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    std::string text(reinterpret_cast<const char*>(data), size);
    const std::string path = (fuzz::scratchDir() / "ringlogd.conf").string();
    fuzz::writeFile(path, text);

    CommandLine command_line;
    command_line.config_file = path;
    command_line.config_given = true;
    auto loaded = loadSettings(command_line);
    Settings direct;
    auto error = applyConfigText(direct, text, path);
    FUZZ_CHECK(loaded.ok() == !error);
    if (!loaded) {
        FUZZ_CHECK(loaded.error().message.rfind(path, 0) == 0);  // "<file>:<line>: …"
        return 0;
    }
    if (direct.allowed_log_roots.empty())
        direct.allowed_log_roots.push_back(direct.log_root);  // as loadSettings fills it in
    direct.config_file = path;
    FUZZ_CHECK(describeSettings(*loaded) == describeSettings(direct));

    const Settings& s = *loaded;
    FUZZ_CHECK(s.max_line >= 1024 && s.max_line <= (1 << 20));
    FUZZ_CHECK(s.consumer_threads >= 1 && s.consumer_threads <= 64);
    FUZZ_CHECK(s.stop_timeout_ms >= 100);
    FUZZ_CHECK(s.max_containers >= 1 && s.socket_mode <= 0777);
    FUZZ_CHECK(!s.socket.empty() && s.socket[0] == '/' && !s.log_root.empty() &&
               s.log_root[0] == '/');

    // Written out and read back: the same settings, and nothing changed between them.
    std::string written = settingsText(s);
    Settings again;
    auto reread = applyConfigText(again, written, "settingsText");
    if (reread)
        std::fprintf(stderr, "settingsText is refused: %s\n--\n%s--\n", reread->message.c_str(),
                     written.c_str());
    FUZZ_CHECK(!reread);
    again.config_file = s.config_file;
    if (describeSettings(again) != describeSettings(s))
        std::fprintf(stderr, "--\n%s--\nreads back as\n--\n%s--\n", written.c_str(),
                     settingsText(again).c_str());
    FUZZ_CHECK(describeSettings(again) == describeSettings(s));
    FUZZ_CHECK(diffSettings(s, again).empty());
    return 0;
}
