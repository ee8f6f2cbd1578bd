// Settings: the daemon's configuration, from /etc/ringlogd/ringlogd.conf, then the drop-ins in
// ringlogd.conf.d/*.conf (in lexical order), then command-line flags; later wins.
// Every setting, its default and its meaning: docs/configuration.md (and kSettingDocs below).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "service/base/error.h"

namespace ringlog {

struct Settings {
    std::string config_file = "/etc/ringlogd/ringlogd.conf";
    std::string socket = RINGLOG_DEFAULT_SOCKET;
    uint32_t socket_mode = 0660;
    std::string allowed_group = "ringlog";
    std::string log_root = "/var/log/ringlogd";
    std::vector<std::string> allowed_log_roots;  // empty: just log_root
    // Where log directories named at attach may be (docs/log-files.md).
    std::vector<std::string> log_dir_roots{"/var/lib/kubelet/pods"};
    std::string default_driver = "json-file";
    std::string default_mode = "blocking";
    uint64_t default_max_buffer_size = 1 << 20;
    uint32_t max_line = 16 * 1024;
    uint32_t max_containers = 4096;
    uint64_t max_ring_size = 256 << 20;     // the largest max-buffer-size an attach may ask
    uint64_t total_ring_size = 8ULL << 30;  // all attached containers' max-buffer-size
    uint32_t pipe_size = 1 << 20;
    uint64_t blocking_ring_budget = 64 << 20;
    uint32_t consumer_threads = 2;
    int64_t stop_timeout_ms = 60'000;
    std::string log_level = "info";
    std::string dbus = "auto";  // auto: serve org.ringlog.Log1 if the system bus is there
};

// When a changed setting takes effect on a reload (SIGHUP, `systemctl reload`).
enum class ReloadEffect {
    kNow,            // at once (log-level)
    kNewContainers,  // for containers attached after the reload; attached ones keep theirs
    kRestart,        // only after a restart: the running daemon keeps the value it started with
};

struct SettingDoc {
    const char* key;
    const char* default_value;
    const char* description;
    ReloadEffect reload;
};
extern const std::vector<SettingDoc> kSettingDocs;
const SettingDoc* findSettingDoc(const std::string& key);

// Every setting as "key" → its value as text, in kSettingDocs' order: for comparing two Settings.
std::vector<std::pair<std::string, std::string>> describeSettings(const Settings& settings);

// Every setting as "key = value" lines, which applyConfigText() reads back to the same Settings.
std::string settingsText(const Settings& settings);

struct SettingChange {
    std::string key, old_value, new_value;
    ReloadEffect reload;
};
// The settings whose values differ, in kSettingDocs' order.
std::vector<SettingChange> diffSettings(const Settings& before, const Settings& after);
// What a reload puts in effect: `loaded`'s values of the settings that can change at run time
// (kNow, kNewContainers), `running`'s of those that need a restart.
Settings mergeReloadable(const Settings& running, const Settings& loaded);

// Applies one "key = value" setting; the error names the key.
std::optional<Error> applySetting(Settings& settings, const std::string& key,
                                  const std::string& value);
// Parses a configuration file's text; `origin` names it in errors ("file:line: …").
std::optional<Error> applyConfigText(Settings& settings, const std::string& text,
                                     const std::string& origin);

// What the command line said: kept for the life of the daemon, so that a reload reads the files
// again and applies the same flags on top of them (flags keep their precedence).
struct CommandLine {
    std::string config_file = "/etc/ringlogd/ringlogd.conf";
    bool config_given = false;  // a file named with --config must exist; the default may not
    std::vector<std::pair<std::string, std::string>> flags;  // in order, without --config
};
// Splits argv into the configuration file and the other flags; their values are checked by
// loadSettings. Sets `exit_now` for --help and --version (after printing them).
Result<CommandLine> parseCommandLine(int argc, char** argv, bool& exit_now);
// The configuration file and its drop-ins, then the flags. Returns an error for unknown keys,
// bad values and unreadable files, naming the file and line or the flag.
Result<Settings> loadSettings(const CommandLine& command_line);
// Both of the above.
Result<Settings> loadSettings(int argc, char** argv, bool& exit_now);

}  // namespace ringlog
