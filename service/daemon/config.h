// Settings: the daemon's configuration, from /etc/ringlogd/ringlogd.conf, then the drop-ins in
// ringlogd.conf.d/*.conf (in lexical order), then command-line flags; later wins.
// Every setting, its default and its meaning: docs/configuration.md (and kSettingDocs below).
#pragma once

#include <cstdint>
#include <string>
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
    std::string default_driver = "json-file";
    std::string default_mode = "blocking";
    uint64_t default_max_buffer_size = 1 << 20;
    uint32_t max_line = 16 * 1024;
    uint32_t max_containers = 4096;
    uint32_t pipe_size = 1 << 20;
    uint64_t blocking_ring_budget = 64 << 20;
    uint32_t consumer_threads = 2;
    std::string log_level = "info";
    std::string dbus = "auto";  // auto: serve org.ringlog.Log1 if the system bus is there
};

struct SettingDoc {
    const char* key;
    const char* default_value;
    const char* description;
};
extern const std::vector<SettingDoc> kSettingDocs;

// Applies one "key = value" setting; the error names the key.
std::optional<Error> applySetting(Settings& settings, const std::string& key,
                                  const std::string& value);
// Parses a configuration file's text; `origin` names it in errors ("file:line: …").
std::optional<Error> applyConfigText(Settings& settings, const std::string& text,
                                     const std::string& origin);

// Everything: --config (or the default) and its drop-ins, then the other flags.
// Returns an error for unknown flags and keys, bad values and unreadable files. Sets `exit_now`
// for --help and --version (after printing them).
Result<Settings> loadSettings(int argc, char** argv, bool& exit_now);

}  // namespace ringlog
