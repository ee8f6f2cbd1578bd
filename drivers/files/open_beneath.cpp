#include "drivers/files/open_beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ringlog {

UniqueFd openBeneathByWalking(int root, const std::string& relative, int flags) {
    UniqueFd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    size_t start = 0;
    while (dir) {
        size_t slash = relative.find('/', start);
        std::string part =
            relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        bool last = slash == std::string::npos;
        start = last ? relative.size() : slash + 1;
        if (part == "..") {
            errno = EXDEV;
            return {};
        }
        if (part.empty() || part == ".") {
            if (last)
                return UniqueFd(::openat(dir.get(), ".", flags | O_CLOEXEC));
            continue;
        }
        if (last)
            return UniqueFd(::openat(dir.get(), part.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
        dir = UniqueFd(
            ::openat(dir.get(), part.c_str(), O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir && errno == ENOTDIR)
            errno = ELOOP;  // O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR
    }
    return dir;
}

UniqueFd openBeneath(int root, const std::string& relative, int flags) {
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    UniqueFd fd(
        static_cast<int>(::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof(how))));
    if (!fd && errno == ENOSYS)
        return openBeneathByWalking(root, relative, flags);
    return fd;
}

}  // namespace ringlog
