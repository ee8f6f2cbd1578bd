#include "drivers/files/record_batch.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ringlog {

AppendedRecords appendWholeRecords(int fd, const RecordBatch& batch, size_t bytes, int64_t& size,
                                   int64_t& torn) {
    size_t written = 0;
    int err = 0;
    while (written < bytes) {
        ssize_t n = ::write(fd, batch.bytes.data() + written, bytes - written);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        written += static_cast<size_t>(n);
    }
    // Whole records only: record_ends are sorted, and `bytes` is a record boundary.
    AppendedRecords a;
    a.records = static_cast<size_t>(
        std::upper_bound(batch.record_ends.begin(), batch.record_ends.end(), written) -
        batch.record_ends.begin());
    a.bytes = a.records == 0 ? 0 : batch.record_ends[a.records - 1];
    if (a.bytes != written && ::ftruncate(fd, size + static_cast<int64_t>(a.bytes)) != 0)
        torn = static_cast<int64_t>(written - a.bytes);
    size += static_cast<int64_t>(a.bytes);
    a.error = err;
    return a;
}

}  // namespace ringlog
