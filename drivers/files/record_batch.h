// Appending encoded records to a log file whole, what the drivers that write log files share: a
// write cut short (a full disk) leaves no part of a record in the file, so a reader never meets a
// torn one, and what was not written goes again on retry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ringlog {

// The records of one write() encoded, not yet in the file. A driver keeps one per consumer thread
// rather than one per container: a thousand busy containers then share a couple of buffers that
// stay in the caches instead of each keeping a cell's worth of records that is touched once per
// cell.
struct RecordBatch {
    std::string bytes;
    std::vector<size_t> record_ends;  // offset just past each record

    void clear() {
        bytes.clear();
        record_ends.clear();
    }
};

// Empties a batch when it goes out of scope: a flush leaves it empty whatever happens.
struct ClearBatchOnExit {
    RecordBatch& batch;
    ~ClearBatchOnExit() { batch.clear(); }
};

// What appendWholeRecords() put in the file.
struct AppendedRecords {
    size_t records = 0;  // whole records written
    size_t bytes = 0;    // their bytes
    int error = 0;       // the errno of the write that failed; 0 when all was written
};

// Writes the first `bytes` of `batch` (a record boundary) to `fd`, a file opened for appending
// that holds `size` bytes of whole records. After a failed write the part of a record written is
// cut; when it cannot be, its length is left in `torn` for the caller to cut before it appends
// again. `size` grows by the bytes of the whole records written.
AppendedRecords appendWholeRecords(int fd, const RecordBatch& batch, size_t bytes, int64_t& size,
                                   int64_t& torn);

}  // namespace ringlog
