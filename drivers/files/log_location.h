// Where a file driver's log goes, and opening it there: the log root's per-container directory,
// or an explicit `path` that must lie under one of the allowed roots, reached without a symlink
// or "..". Directories are made 0750 and files 0640, every component opened beneath its parent
// (open_beneath.h), so a symlink planted in a log directory is refused, never followed.
#pragma once

#include <filesystem>
#include <string>

#include "drivers/log_driver.h"
#include "service/base/unique_fd.h"

namespace ringlog {

struct LogLocation {
    UniqueFd dir;          // the directory that holds the file
    std::string name;      // the file's name in it
    std::string root;      // dir is root/relative: where it is made again if removed
    std::string relative;  // "." for the root itself
    std::string display;   // the file's full path, for messages
};

// `path` empty: <log_root>/<id>/<default_name>, the directory made if missing. Otherwise `path`:
// absolute, under one of env.allowed_roots, without a symlink or ".." on the way (an invalid()
// error naming the option otherwise); its missing directories are made beneath the root when
// `make_parents`, else its directory must exist.
Result<LogLocation> resolveLogLocation(const std::string& path, const std::string& id,
                                       const std::string& default_name,
                                       const DriverEnvironment& env, bool make_parents);

// The file a reader reads: the `path` option when it is set, else <log_root>/<id>/<default_name>.
std::filesystem::path logFileToRead(const OptionMap& options, const std::string& id,
                                    const std::string& default_name, const DriverEnvironment& env);

// Opens <root>/<relative>, making the directories that are missing (0750), one component at a
// time beneath the previous one.
Result<UniqueFd> makeDirectoryBeneath(const std::string& root, const std::string& relative);

// Opens (creating, 0640) `name` in `dir` for appending: O_NOFOLLOW, and a regular file only.
// `display` names it in errors.
Result<UniqueFd> openLogFile(int dir, const std::string& name, const std::string& display,
                             bool truncate);

// Errors a later write may not meet again (a full disk, an I/O error): retried, not fatal.
bool isTransientWriteError(int err);

}  // namespace ringlog
