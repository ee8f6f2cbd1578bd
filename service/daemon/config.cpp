#include "service/daemon/config.h"

#include <dirent.h>
#include <ini.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "service/base/units.h"

namespace ringlog {

const std::vector<SettingDoc> kSettingDocs = {
    {"socket", RINGLOG_DEFAULT_SOCKET, "ingest socket to bind when not socket-activated",
     ReloadEffect::kRestart},
    {"socket-mode", "0660", "permissions of a socket ringlogd binds itself",
     ReloadEffect::kRestart},
    {"allowed-group", "ringlog", "group whose members may attach containers (root always may)",
     ReloadEffect::kNewContainers},
    {"log-root", "/var/log/ringlogd", "json-file logs go to <log-root>/<id>/<id>-json.log",
     ReloadEffect::kRestart},
    {"allowed-log-roots", "(log-root)",
     "space-separated directories an explicit `path` log option may point into",
     ReloadEffect::kRestart},
    {"log-dir-roots", "/var/lib/kubelet/pods",
     "space- or comma-separated directories under which an attach's log directories may be",
     ReloadEffect::kNewContainers},
    {"default-driver", "json-file", "driver for attach requests that name none",
     ReloadEffect::kNewContainers},
    {"default-mode", "blocking", "blocking or non-blocking, for requests that name none",
     ReloadEffect::kNewContainers},
    {"default-max-buffer-size", "1m", "ring size for requests that name none",
     ReloadEffect::kNewContainers},
    {"max-line", "16k", "longer lines are split into partial records (1k to 1m)",
     ReloadEffect::kNewContainers},
    {"max-containers", "4096", "containers attached at once; more are refused",
     ReloadEffect::kNewContainers},
    {"max-ring-size", "256m", "the largest max-buffer-size an attach may ask for",
     ReloadEffect::kNewContainers},
    {"total-ring-size", "8g",
     "the attached containers' max-buffer-size together; an attach past it is refused",
     ReloadEffect::kNewContainers},
    {"pipe-size", "1m",
     "raise each attached pipe to this size (F_SETPIPE_SZ): how much a container may write "
     "while ringlogd restarts before it waits; 0 leaves pipes as they are",
     ReloadEffect::kNewContainers},
    {"blocking-ring-budget", "64m",
     "blocking-mode rings grow beyond two cells only while all of them together stay under "
     "this (0: each up to its max-buffer-size)",
     ReloadEffect::kRestart},
    {"consumer-threads", "2", "threads persisting rings through drivers (1 to 64)",
     ReloadEffect::kRestart},
    {"stop-timeout", "60s",
     "the most a stop spends reading pipes and persisting before it reports what it could not "
     "and exits (under systemd, at most three quarters of the unit's TimeoutStopSec)",
     ReloadEffect::kNow},
    {"log-level", "info", "ringlogd's own diagnostics: trace, debug, info, warn, error",
     ReloadEffect::kNow},
    {"dbus", "auto",
     "serve org.ringlog.Log1 on the system bus: yes, no, or auto (if the bus is there)",
     ReloadEffect::kRestart},
};

const SettingDoc* findSettingDoc(const std::string& key) {
    for (const auto& d : kSettingDocs)
        if (key == d.key)
            return &d;
    return nullptr;
}

static std::string joinedLogDirRoots(const Settings& s) {
    std::string roots;
    for (const auto& r : s.log_dir_roots)
        roots += (roots.empty() ? "" : " ") + r;
    return roots;
}

std::vector<std::pair<std::string, std::string>> describeSettings(const Settings& s) {
    auto octal = [](uint32_t mode) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "0%o", mode);
        return std::string(buf);
    };
    std::string roots;
    for (const auto& r : s.allowed_log_roots)
        roots += (roots.empty() ? "" : " ") + r;
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& d : kSettingDocs) {
        std::string key = d.key, v;
        if (key == "socket")
            v = s.socket;
        else if (key == "socket-mode")
            v = octal(s.socket_mode);
        else if (key == "allowed-group")
            v = s.allowed_group;
        else if (key == "log-root")
            v = s.log_root;
        else if (key == "allowed-log-roots")
            v = roots;
        else if (key == "log-dir-roots")
            v = joinedLogDirRoots(s);
        else if (key == "default-driver")
            v = s.default_driver;
        else if (key == "default-mode")
            v = s.default_mode;
        else if (key == "default-max-buffer-size")
            v = std::to_string(s.default_max_buffer_size);
        else if (key == "max-line")
            v = std::to_string(s.max_line);
        else if (key == "max-containers")
            v = std::to_string(s.max_containers);
        else if (key == "max-ring-size")
            v = std::to_string(s.max_ring_size);
        else if (key == "total-ring-size")
            v = std::to_string(s.total_ring_size);
        else if (key == "pipe-size")
            v = std::to_string(s.pipe_size);
        else if (key == "blocking-ring-budget")
            v = std::to_string(s.blocking_ring_budget);
        else if (key == "consumer-threads")
            v = std::to_string(s.consumer_threads);
        else if (key == "stop-timeout")
            v = describeDurationMs(s.stop_timeout_ms);
        else if (key == "log-level")
            v = s.log_level;
        else if (key == "dbus")
            v = s.dbus;
        out.emplace_back(std::move(key), std::move(v));
    }
    return out;
}

std::string settingsText(const Settings& s) {
    std::string text;
    for (const auto& [key, value] : describeSettings(s))
        text += key + " = " + value + "\n";
    return text;
}

std::vector<SettingChange> diffSettings(const Settings& before, const Settings& after) {
    auto a = describeSettings(before), b = describeSettings(after);
    std::vector<SettingChange> changes;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].second != b[i].second)
            changes.push_back({a[i].first, a[i].second, b[i].second, kSettingDocs[i].reload});
    return changes;
}

// Derived from the table, so a setting's reload class is stated once: the changed values that can
// change at run time are applied again from their text (describeSettings writes what
// applySetting reads).
Settings mergeReloadable(const Settings& running, const Settings& loaded) {
    Settings s = running;
    for (const auto& c : diffSettings(running, loaded))
        if (c.reload != ReloadEffect::kRestart)
            (void)applySetting(s, c.key, c.new_value);  // valid: `loaded` holds it already
    return s;
}

namespace {

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos)
        return "";
    size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

std::optional<Error> badValue(const std::string& key, const std::string& value,
                              const std::string& expected) {
    return invalid("setting " + key + ": \"" + value + "\" is not " + expected);
}

std::optional<Error> readFile(const std::string& path, std::string& out) {
    std::ifstream in(path);
    if (!in)
        return invalid("cannot read " + path + ": " + errnoText(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return std::nullopt;
}

}  // namespace

std::optional<Error> applySetting(Settings& s, const std::string& key, const std::string& value) {
    if (key == "socket") {
        if (value.empty() || value.front() != '/')
            return badValue(key, value, "an absolute path");
        s.socket = value;
    } else if (key == "socket-mode") {
        char* end = nullptr;
        unsigned long mode = std::strtoul(value.c_str(), &end, 8);
        if (value.empty() || *end != '\0' || mode > 0777)
            return badValue(key, value, "an octal mode such as 0660");
        s.socket_mode = static_cast<uint32_t>(mode);
    } else if (key == "allowed-group") {
        s.allowed_group = value;
    } else if (key == "log-root") {
        // No white space: allowed-log-roots, which is log-root unless given, lists its roots
        // separated by it (and settingsText writes it so, for the next instance to read).
        if (value.empty() || value.front() != '/' ||
            std::any_of(value.begin(), value.end(),
                        [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
            return badValue(key, value, "an absolute path without white space");
        s.log_root = value;
    } else if (key == "allowed-log-roots") {
        s.allowed_log_roots.clear();
        std::istringstream in(value);
        for (std::string root; in >> root;) {
            if (root.front() != '/')
                return badValue(key, root, "an absolute path");
            s.allowed_log_roots.push_back(root);
        }
    } else if (key == "log-dir-roots") {
        s.log_dir_roots.clear();
        std::string spaced = value;
        std::replace(spaced.begin(), spaced.end(), ',', ' ');
        std::istringstream in(spaced);
        for (std::string root; in >> root;) {
            if (root.front() != '/')
                return badValue(key, root, "an absolute path");
            s.log_dir_roots.push_back(root);
        }
    } else if (key == "default-driver") {
        s.default_driver = value;
    } else if (key == "default-mode") {
        if (value != "blocking" && value != "non-blocking")
            return badValue(key, value, "blocking or non-blocking");
        s.default_mode = value;
    } else if (key == "default-max-buffer-size") {
        auto v = parseSize(value);
        if (!v || *v <= 0)
            return badValue(key, value, "a size such as 1m");
        s.default_max_buffer_size = static_cast<uint64_t>(*v);
    } else if (key == "max-line") {
        auto v = parseSize(value);
        if (!v || *v < 1024 || *v > (1 << 20))
            return badValue(key, value, "a size from 1k to 1m");
        s.max_line = static_cast<uint32_t>(*v);
    } else if (key == "max-containers") {
        auto v = parseInteger(value);
        if (!v || *v < 1 || *v > 1'000'000)
            return badValue(key, value, "a number from 1 to 1000000");
        s.max_containers = static_cast<uint32_t>(*v);
    } else if (key == "max-ring-size" || key == "total-ring-size") {
        auto v = parseSize(value);
        if (!v || *v < (64 << 10))
            return badValue(key, value, "a size of at least 64k, such as 256m");
        (key == "max-ring-size" ? s.max_ring_size : s.total_ring_size) = static_cast<uint64_t>(*v);
    } else if (key == "pipe-size") {
        auto v = parseSize(value);
        if (!v || *v < 0 || *v > (1 << 30))
            return badValue(key, value, "a size up to 1g, or 0");
        s.pipe_size = static_cast<uint32_t>(*v);
    } else if (key == "blocking-ring-budget") {
        auto v = parseSize(value);
        if (!v || *v < 0)
            return badValue(key, value, "a size such as 64m, or 0");
        s.blocking_ring_budget = static_cast<uint64_t>(*v);
    } else if (key == "consumer-threads") {
        auto v = parseInteger(value);
        if (!v || *v < 1 || *v > 64)
            return badValue(key, value, "a number from 1 to 64");
        s.consumer_threads = static_cast<uint32_t>(*v);
    } else if (key == "stop-timeout") {
        auto v = parseDurationMs(value);
        if (!v || *v < 100)
            return badValue(key, value, "a duration of at least 100ms, such as 60s or 2min");
        s.stop_timeout_ms = *v;
    } else if (key == "log-level") {
        static const char* kLevels[] = {"trace", "debug", "info", "warn", "error"};
        if (std::none_of(std::begin(kLevels), std::end(kLevels),
                         [&](const char* l) { return value == l; }))
            return badValue(key, value, "one of trace, debug, info, warn, error");
        s.log_level = value;
    } else if (key == "dbus") {
        if (value != "auto" && value != "yes" && value != "no")
            return badValue(key, value, "yes, no or auto");
        s.dbus = value;
    } else {
        return invalid("unknown setting \"" + key + "\"");
    }
    return std::nullopt;
}

namespace {

// What inih's handler needs: the settings, and the first error (inih reports only its line).
struct IniTarget {
    Settings* settings;
    std::optional<Error> error;
};

int onIniSetting(void* user, const char* section, const char* name, const char* value) {
    auto& target = *static_cast<IniTarget*>(user);
    if (*section != '\0')
        target.error = invalid("setting \"" + std::string(name) + "\" is in section [" + section +
                               "]: ringlogd's settings are in no section");
    else
        target.error = applySetting(*target.settings, name, value);
    return target.error ? 0 : 1;  // 0: inih stops and returns this line's number
}

// Line `number` (from 1) of `text`, trimmed: for "expected key = value" errors.
std::string lineOf(const std::string& text, int number) {
    std::istringstream in(text);
    std::string line;
    for (int i = 0; i < number; ++i)
        if (!std::getline(in, line))
            break;
    return trim(line);
}

}  // namespace

std::optional<Error> applyConfigText(Settings& s, const std::string& text,
                                     const std::string& origin) {
    // inih (Debian's libinih) reads the lines: "key = value", comments starting with # or ;,
    // white space around both. Its options are process-wide variables in Debian's build; the
    // configuration is the only thing in ringlogd that uses it, always from one thread. They keep
    // what ringlogd has always read: no continuation lines (an indented line is a setting of its
    // own), no inline comments (a value is taken whole, even with " ;" in it), lines of any length
    // (the default would cut them at 200 bytes), and the first error ends the file. inih also
    // takes "key: value" (Python's configparser) and [sections], which ringlogd does not use: a
    // setting in a section is refused, naming it.
    ini_allow_multiline = false;
    ini_allow_inline_comments = false;
    ini_allow_no_value = false;
    ini_stop_on_first_error = true;
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = 1 << 30;
    if (text.find('\0') != std::string::npos)
        return invalid(origin + ": has a NUL byte: not a configuration file");
    IniTarget target{&s, std::nullopt};
    int line = ini_parse_string(text.c_str(), &onIniSetting, &target);
    if (line == 0)
        return std::nullopt;
    if (line < 0)
        return invalid(origin + ": out of memory reading it");
    std::string where = origin + ":" + std::to_string(line) + ": ";
    if (target.error)
        return invalid(where + target.error->message);
    // inih refused the line itself (no "=", or a "[" without "]").
    return invalid(where + "expected key = value, got \"" + lineOf(text, line) + "\"");
}

namespace {

void printHelp() {
    std::printf(
        "Usage: ringlogd [--config FILE] [--KEY VALUE]...\n"
        "Container log daemon: takes containers' output pipes over a unix socket, buffers each\n"
        "container in a ring log and persists it through a log driver.\n\n"
        "  --config FILE   configuration file (default /etc/ringlogd/ringlogd.conf; drop-ins in "
        "FILE.d/)\n"
        "  --help, --version\n\nSettings (also as KEY = VALUE lines in the configuration "
        "files):\n");
    for (const auto& d : kSettingDocs)
        std::printf("  --%-24s %s (default %s)\n", d.key, d.description, d.default_value);
}

}  // namespace

Result<CommandLine> parseCommandLine(int argc, char** argv, bool& exit_now) {
    exit_now = false;
    CommandLine cl;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            printHelp();
            exit_now = true;
            return cl;
        }
        if (arg == "--version") {
            std::printf("ringlogd %s\n", RINGLOG_VERSION);
            exit_now = true;
            return cl;
        }
        if (arg.rfind("--", 0) != 0)
            return invalid("unexpected argument \"" + arg + "\" (see --help)");
        std::string key = arg.substr(2), value;
        if (auto eq = key.find('='); eq != std::string::npos) {
            value = key.substr(eq + 1);
            key = key.substr(0, eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return invalid("option --" + key + " needs a value");
        }
        if (key == "config") {
            cl.config_file = value;
            cl.config_given = true;
        } else {
            cl.flags.emplace_back(key, value);
        }
    }
    return cl;
}

Result<Settings> loadSettings(const CommandLine& cl) {
    Settings s;
    s.config_file = cl.config_file;
    std::string text;
    if (auto e = readFile(s.config_file, text)) {
        if (cl.config_given || errno != ENOENT)
            return *e;  // the default file is optional
    } else if (auto err = applyConfigText(s, text, s.config_file)) {
        return *err;
    }
    std::string dropin_dir = s.config_file + ".d";
    if (DIR* dir = ::opendir(dropin_dir.c_str())) {
        std::vector<std::string> names;
        while (auto* ent = ::readdir(dir)) {
            std::string n = ent->d_name;
            if (n.size() > 5 && n.compare(n.size() - 5, 5, ".conf") == 0)
                names.push_back(n);
        }
        ::closedir(dir);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            std::string path = dropin_dir + "/" + n;
            if (auto e = readFile(path, text))
                return *e;
            if (auto e = applyConfigText(s, text, path))
                return *e;
        }
    }
    for (const auto& [key, value] : cl.flags)
        if (auto e = applySetting(s, key, value))
            return invalid("--" + key + ": " + e->message);
    if (s.allowed_log_roots.empty())
        s.allowed_log_roots.push_back(s.log_root);
    return s;
}

Result<Settings> loadSettings(int argc, char** argv, bool& exit_now) {
    auto cl = parseCommandLine(argc, argv, exit_now);
    if (!cl)
        return cl.error();
    if (exit_now)
        return Settings{};
    return loadSettings(*cl);
}

}  // namespace ringlog
