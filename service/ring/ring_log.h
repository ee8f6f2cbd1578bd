// RingLog: one container's buffer between the reader (producer) and its driver (consumer).
//
// The design of iSulad's runtime logger: a circular, doubly-linked list of cells with FREE/FULL
// states, a producer cell and a consumer cell. The producer appends records to its cell; when it
// is full the cell is sealed (FULL) and the producer moves on to the next FREE cell, allocating a
// new cell while the ring is below its size limit. The consumer persists the committed part of
// its cell, and frees (FREE) and leaves a FULL cell once it is fully persisted.
//
// When no cell is free and the ring is at its limit:
//   OverflowPolicy::kBlock       push() returns kFull and the caller stops reading the container
//                                 (backpressure through the kernel pipe); release() reports when
//                                 space came back.
//   OverflowPolicy::kDropOldest  the oldest sealed cell not being persisted right now is dropped
//                                 (PouchContainer's overwrite-oldest), its lines and bytes counted
//                                 and reported with the next record taken.
//
// Memory: every piece of state (cell list, positions, counters) lives in one shared mapping of a
// memfd, as indices, never as pointers, so a later process can map the same memfd and carry on
// (systemd's fd store). Pages are touched only as cells are used.
//
// Crash consistency: a process killed at any instant leaves a memfd that adopt() can use. Each
// cell's `committed` is published only after its record bytes are written, and `consumed` only
// after the driver persisted them, each with one store; adopt() trusts nothing else. It rebuilds
// the cell list from the cells' own contents: cells with records between `consumed` and
// `committed`, ordered by the sequence number of their first such record, become the sealed
// cells to persist first; the rest are free. So a list move cut short by the kill is harmless.
//
// Threading: one producer thread and one consumer thread at a time. Record appends are lock-free
// (the committed offset is published with release semantics); cell moves take a mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "service/base/error.h"
#include "service/base/record.h"
#include "service/base/unique_fd.h"

namespace ringlog {

enum class OverflowPolicy {
    kBlock,       // never drop: the writer waits (docker's "blocking" mode)
    kDropOldest,  // never wait: overwrite the oldest data, counted ("non-blocking" mode)
};

enum class CellState : uint32_t { kFree = 0, kFull = 1 };

struct RingGeometry {
    uint32_t cell_size = 0;  // bytes per cell, a multiple of 4096
    uint32_t max_cells = 0;  // at least 3, so a drop never has to touch the cell being persisted

    // The geometry for a ring of at most max_bytes that must hold records of up to
    // max_record_payload message bytes; an error if max_bytes is too small for that.
    static Result<RingGeometry> forLimits(uint64_t max_bytes, uint32_t max_record_payload);
};

// What the producer last did, kept in the ring so a later process continues it: the sequence and
// time of the last record (they only grow), and per stream a line split at max-line that is not
// finished yet (its next part's ordinal, 0 for none, and the group's id).
struct ProducerState {
    uint64_t last_sequence = 0;
    int64_t last_time_ns = 0;
    uint32_t next_ordinal[2] = {0, 0};  // [0] stdout, [1] stderr
    uint64_t partial_id[2] = {0, 0};
};

// Memory that blocking rings share: beyond their first two cells, blocking rings grow only while
// their cells together stay under `limit` bytes. Under sustained overload a blocking ring's data
// may as well wait in the container's pipe (the writer is held back either way); many full rings
// would only spread the work over more memory than the caches hold. Non-blocking rings grow to
// their own limit regardless: it is how much they keep before dropping.
struct RingBudget {
    uint64_t limit = 0;  // 0: no shared limit
    std::atomic<uint64_t> used{0};
};

struct RingStats {
    uint64_t cells_in_use = 0;
    uint64_t bytes_buffered = 0;  // ring bytes (headers included) not yet persisted or dropped
    uint64_t dropped_lines = 0;
    uint64_t dropped_bytes = 0;
};

class RingLog {
  public:
    // 3 adds the ingest ledger; rings of format 2 (an instance before it) are adopted without one.
    static constexpr uint32_t kFormatVersion = 3;
    static constexpr size_t kMaxMetadataBytes = 1 << 20;

    enum class PushResult { kOk, kFull };

    // The committed part of the consumer's cell, handed out by take(): [begin, end) of the
    // cell's memory holds whole records.
    struct Batch {
        uint32_t cell = 0;
        uint32_t begin = 0;
        uint32_t end = 0;
        const char* data = nullptr;  // cell memory; records start at data + begin
        DropCount dropped_before;    // lost before the first record of this batch
    };

    // Creates the ring in a new memfd named "ringlog:<name>". `metadata` (at most
    // kMaxMetadataBytes) is kept in the memfd beside the ring, for whoever adopts it.
    static Result<std::unique_ptr<RingLog>> create(std::string_view name, RingGeometry geometry,
                                                   OverflowPolicy policy,
                                                   std::string_view metadata = {});
    // Takes over the ring in `memfd`, made by create() in this or an earlier process that may
    // have been killed at any instant. Records not yet persisted are handed out first, in order.
    // An error says why the memfd is not a usable ring.
    static Result<std::unique_ptr<RingLog>> adopt(UniqueFd memfd, OverflowPolicy policy);
    ~RingLog();
    RingLog(const RingLog&) = delete;
    RingLog& operator=(const RingLog&) = delete;

    // Producer. A record needs header + payload (8-aligned) bytes; payload must not exceed what
    // the geometry was made for.
    PushResult push(const RecordHeader& header, std::string_view message);
    // Producer. About how many ring bytes push() takes before it reports kFull (room left in the
    // producer's cell, free cells after it, cells the ring may still add); UINT64_MAX for a
    // drop-oldest ring, which never reports kFull.
    uint64_t producerRoom() const;
    // Producer. Whether records of these message sizes, pushed now in this order, would all be
    // taken (push() would report kFull for none): exact, as the room only grows meanwhile.
    // Always true for a drop-oldest ring.
    bool fits(std::span<const uint32_t> message_sizes) const;

    // Consumer. take() hands out the oldest unpersisted records, or returns false when there are
    // none. After persisting the records in [batch.begin, upto), release() retires them; it
    // returns true when a producer that got kFull may now push again. A batch that could not be
    // persisted at all is handed back with release(batch, batch.begin, 0).
    bool take(Batch& batch);
    bool release(const Batch& batch, uint32_t upto, uint64_t records);

    // Consumer, for a container with more than one driver (docs/drivers.md, "More than one
    // driver"): each driver reads at its own position, the sequence of the last record it
    // persisted, and the ring retires what every driver has.
    //   takeAfter()     hands out, as take() does, the committed records after `sequence` in the
    //                   oldest cell that has any; records older than the ring's oldest were
    //                   dropped (non-blocking), which the caller sees as a gap in the sequences;
    //   endTake()       ends the use of that batch (the ring keeps its records);
    //   retireThrough() retires every record up to `sequence`; true as release() says.
    bool takeAfter(uint64_t sequence, Batch& batch);
    void endTake();
    // Records [first, last] a driver has sent and waits to hear were received (syslog over
    // TCP): in non-blocking mode the ring drops another cell than theirs when it can, so that
    // it does not count as dropped what the server then gets. hold(0, 0): none.
    void hold(uint64_t first, uint64_t last);
    bool retireThrough(uint64_t sequence);
    // The sequence of the newest committed record (0: none yet); any thread.
    uint64_t newestSequence() const;

    bool empty() const;
    RingStats stats() const;
    // Records committed and neither persisted nor dropped, counted by walking the cells: for the
    // report of a stop that could not persist everything, not for a hot path. Call it while no
    // consumer holds a batch (the count is then exact).
    uint64_t unpersistedRecords() const;
    int memfd() const { return memfd_.get(); }
    RingGeometry geometry() const { return geometry_; }
    // Set once after adopt(), before the ring is used: the policy comes from the metadata.
    void setOverflowPolicy(OverflowPolicy policy) { policy_ = policy; }
    // Set once, before the ring is used; the budget must outlive the ring.
    void shareBudget(RingBudget* budget);
    std::string_view metadata() const;
    // The producer's state as the last push() left it (on adopt: as the killed process left it).
    ProducerState producerState() const;

    // The ingest ledger, per stream (docs/reliability.md, "Exactly once from the pipe"): the
    // input bytes in committed records (a record of n message bytes took n, or n + 1 with its
    // '\n'), and the bytes taken out of the pipe. A kill leaves framed - discarded bytes at the
    // head of the pipe that are in the ring already: the next instance takes them out unread.
    // Producer only. A discard runs between beginDiscard() and endDiscard(), moving the bytes
    // into the discard journal (a pipe in the fd store), so that a kill in between is settled by
    // how much the journal holds.
    uint64_t inputFramed(Stream s) const;
    uint64_t inputDiscarded(Stream s) const;
    void beginDiscard(Stream s);
    void endDiscard(Stream s, uint64_t moved);
    // After adopt(): a discard the kill interrupted moved `journal_bytes` (what the journal holds
    // before anything else touches it). Without the journal (nullopt: it was not in the fd
    // store) such a discard's stream is unsure: see rebaseLedger().
    void settleDiscard(std::optional<uint64_t> journal_bytes);
    bool ledgerUnsure(Stream s) const { return unsure_[s == Stream::kStderr ? 1 : 0]; }
    // Counts the pipe's head as framed: when the ledger cannot say what the pipe holds, lines
    // there may be read twice, never skipped; and the counts agree again from here on.
    void rebaseLedger(Stream s);
    bool hasLedger() const { return format_version_ >= 3; }

    // Decodes the record at `offset` of a batch; returns the offset of the next one.
    static uint32_t decode(const char* cell_data, uint32_t offset, RecordView& out);
    static uint32_t recordSpace(size_t payload);

  private:
    struct CellHeader;
    struct ArenaHeader;
    struct IngestLedger;
    static uint64_t cellsOffset(uint32_t format_version);  // of the cell headers
    // Arena and cell headers, whole pages.
    static uint64_t metaBytes(uint32_t max_cells, uint32_t format_version = kFormatVersion);

    RingLog(UniqueFd memfd, void* base, size_t size, RingGeometry geometry, OverflowPolicy policy,
            uint32_t format_version);
    void initialize(std::string_view metadata);
    void recover();
    CellHeader& cell(uint32_t index) const;
    char* cellData(uint32_t index) const;
    bool advanceProducerLocked();
    bool mayGrowLocked() const;
    void resetCellLocked(uint32_t index);
    void unlinkLocked(uint32_t index);
    void insertAfterLocked(uint32_t index, uint32_t after);
    void dropCellLocked(uint32_t index);
    bool heldLocked(uint32_t index) const;
    PushResult pushFileRecord(const RecordHeader& h, std::string_view message, char* dst,
                              uint32_t committed);

    UniqueFd memfd_;
    void* base_ = nullptr;
    size_t size_ = 0;
    RingGeometry geometry_;
    OverflowPolicy policy_;
    ArenaHeader* arena_ = nullptr;
    CellHeader* cells_ = nullptr;
    char* data_ = nullptr;
    uint32_t format_version_;
    IngestLedger* ledger_ = nullptr;  // in the arena; for a format-2 ring, local_ledger_
    std::unique_ptr<IngestLedger> local_ledger_;
    bool unsure_[2] = {false, false};
    mutable std::mutex mutex_;
    bool consumer_busy_ = false;     // guarded by mutex_
    uint32_t busy_cell_ = 0;         // guarded by mutex_
    bool producer_blocked_ = false;  // guarded by mutex_
    uint64_t held_first_ = 0;        // guarded by mutex_: see hold()
    uint64_t held_last_ = 0;
    RingBudget* budget_ = nullptr;
};

}  // namespace ringlog
