#include "drivers/files/log_location.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "drivers/files/open_beneath.h"

namespace ringlog {

namespace {

bool hasParentStep(const std::string& relative) {
    for (size_t start = 0; start <= relative.size();) {
        size_t slash = std::min(relative.find('/', start), relative.size());
        if (relative.compare(start, slash - start, "..") == 0 && slash - start == 2)
            return true;
        start = slash + 1;
    }
    return false;
}

}  // namespace

std::filesystem::path logFileToRead(const OptionMap& options, const std::string& id,
                                    const std::string& default_name, const DriverEnvironment& env) {
    auto path = options.find("path");
    return path != options.end() && !path->second.empty()
               ? std::filesystem::path(path->second)
               : std::filesystem::path(env.log_root) / id / default_name;
}

Result<LogLocation> resolveLogLocation(const std::string& path, const std::string& id,
                                       const std::string& default_name,
                                       const DriverEnvironment& env, bool make_parents) {
    if (path.empty()) {
        UniqueFd root(::open(env.log_root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        if (!root)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "log root " + env.log_root + ": " + errnoText(errno)};
        if (::mkdirat(root.get(), id.c_str(), 0750) != 0 && errno != EEXIST)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "creating " + env.log_root + "/" + id + ": " + errnoText(errno)};
        UniqueFd dir = openBeneath(root.get(), id, O_DIRECTORY | O_RDONLY);
        if (!dir)
            return Error{
                RINGLOG_STATUS_DRIVER_ERROR,
                "opening " + env.log_root + "/" + id +
                    (errno == ELOOP ? ": refusing a symbolic link" : ": " + errnoText(errno))};
        return LogLocation{std::move(dir), default_name, env.log_root, id,
                           env.log_root + "/" + id + "/" + default_name};
    }
    if (path.front() != '/')
        return invalid("log option \"path\": \"" + path + "\" is not an absolute path");
    for (const auto& root : env.allowed_roots) {
        std::string prefix = root.back() == '/' ? root : root + "/";
        if (path.compare(0, prefix.size(), prefix) != 0)
            continue;
        std::string relative = path.substr(prefix.size());
        size_t slash = relative.rfind('/');
        std::string parent = slash == std::string::npos ? "." : relative.substr(0, slash);
        std::string name = slash == std::string::npos ? relative : relative.substr(slash + 1);
        if (name.empty() || name == "." || name == "..")
            return invalid("log option \"path\": \"" + path + "\" does not name a file");
        auto leaves = [&] {
            return invalid("log option \"path\": \"" + path + "\" leaves " + root +
                           " or goes through a symbolic link");
        };
        if (hasParentStep(parent))
            return leaves();
        UniqueFd root_fd(::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
        if (!root_fd)
            return Error{RINGLOG_STATUS_DRIVER_ERROR, "log root " + root + ": " + errnoText(errno)};
        UniqueFd dir = openBeneath(root_fd.get(), parent, O_DIRECTORY | O_RDONLY);
        if (!dir && errno == ENOENT && make_parents) {
            auto made = makeDirectoryBeneath(root, parent);
            if (!made)
                return made.error();
            dir = std::move(*made);
        }
        if (!dir) {
            int e = errno;
            if (e == EXDEV || e == ELOOP)
                return leaves();
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "log option \"path\": directory of " + path + ": " + errnoText(e)};
        }
        return LogLocation{std::move(dir), name, root, parent, path};
    }
    std::string roots;
    for (const auto& r : env.allowed_roots)
        roots += (roots.empty() ? "" : ", ") + r;
    return invalid("log option \"path\": \"" + path + "\" is not under an allowed log root (" +
                   roots + ")");
}

Result<UniqueFd> makeDirectoryBeneath(const std::string& root, const std::string& relative) {
    UniqueFd dir(::open(root.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!dir)
        return Error{RINGLOG_STATUS_DRIVER_ERROR, "log root " + root + ": " + errnoText(errno)};
    std::string done = root;
    for (size_t start = 0; start <= relative.size();) {
        size_t slash = std::min(relative.find('/', start), relative.size());
        std::string part = relative.substr(start, slash - start);
        start = slash + 1;
        if (part.empty() || part == ".")
            continue;
        done += "/" + part;
        if (::mkdirat(dir.get(), part.c_str(), 0750) != 0 && errno != EEXIST)
            return Error{RINGLOG_STATUS_DRIVER_ERROR, "creating " + done + ": " + errnoText(errno)};
        UniqueFd next = openBeneath(dir.get(), part, O_DIRECTORY | O_RDONLY);
        if (!next)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "opening " + done +
                             (errno == ELOOP || errno == EXDEV ? ": refusing a symbolic link"
                                                               : ": " + errnoText(errno))};
        dir = std::move(next);
    }
    return dir;
}

Result<UniqueFd> openLogFile(int dir, const std::string& name, const std::string& display,
                             bool truncate) {
    int flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                (truncate ? O_TRUNC : 0);
    UniqueFd fd(::openat(dir, name.c_str(), flags, 0640));
    if (!fd) {
        int e = errno;
        if (e == ELOOP)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "refusing " + display + ": it is a symbolic link"};
        if (e == ENXIO)
            return Error{RINGLOG_STATUS_DRIVER_ERROR,
                         "refusing " + display + ": it is not a regular file"};
        return Error{RINGLOG_STATUS_DRIVER_ERROR, "opening " + display + ": " + errnoText(e)};
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return Error{RINGLOG_STATUS_DRIVER_ERROR,
                     "refusing " + display + ": it is not a regular file"};
    return fd;
}

bool isTransientWriteError(int err) {
    return err == ENOSPC || err == EDQUOT || err == EIO || err == EAGAIN || err == EINTR ||
           err == ENOMEM;
}

}  // namespace ringlog
