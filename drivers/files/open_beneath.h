// Opening a path below a directory without following a symlink or leaving the directory: the
// file drivers' defence against paths and symlinks planted in log directories.
#pragma once

#include <string>

#include "service/base/unique_fd.h"

namespace ringlog {

// openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or, where the kernel lacks openat2 (before
// 5.6, and under valgrind), openBeneathByWalking. Fails with EXDEV for "..", ELOOP for a symlink.
UniqueFd openBeneath(int root, const std::string& relative, int flags);

// The fallback: one openat(O_NOFOLLOW) per component. Exposed for tests.
UniqueFd openBeneathByWalking(int root, const std::string& relative, int flags);

}  // namespace ringlog
