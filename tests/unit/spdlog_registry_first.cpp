// spdlog's registry is a function-local static inside libspdlog.so, which is not built with
// ThreadSanitizer: when two pool threads log for the first time at once, TSan sees the one that
// made the registry but not the guard's acquire in the other, and reports a race that is not
// there. The daemon logs from main() before it starts a thread; these tests do the same here,
// before main(), so every thread starts after the registry exists.
#include <spdlog/spdlog.h>

namespace {
[[maybe_unused]] const auto* const kRegistryMadeBeforeAnyThread = spdlog::default_logger_raw();
}  // namespace
