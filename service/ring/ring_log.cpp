#include "service/ring/ring_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>
#include <vector>

namespace ringlog {

namespace {

constexpr uint64_t kArenaMagic = 0x31474e49524c5252ull;  // "RRLRING1"
constexpr uint32_t kNone = UINT32_MAX;
constexpr uint32_t kPage = 4096;

uint64_t roundUp(uint64_t v, uint64_t to) {
    return (v + to - 1) / to * to;
}

}  // namespace

// Per-cell bookkeeping, in the memfd. `committed` is written by the producer only and read by the
// consumer; everything else changes under the ring's mutex.
struct RingLog::CellHeader {
    uint32_t state;  // CellState
    uint32_t prev;
    uint32_t next;
    std::atomic<uint32_t> committed;  // bytes of whole records in the cell
    uint32_t consumed;                // bytes already persisted (or dropped)
    uint32_t reserved;
};

// Written by the producer only, each field with one store (see ingest ledger in ring_log.h).
struct RingLog::IngestLedger {
    uint64_t framed[2];  // [0] stdout, [1] stderr
    uint64_t discarded[2];
    uint32_t pending;  // 0, or 1 + the stream whose discard is under way
    uint32_t reserved;
    uint64_t pending_base;  // discarded[stream] when that discard began
};

struct RingLog::ArenaHeader {
    uint64_t magic;
    uint32_t format_version;
    uint32_t cell_size;
    uint32_t max_cells;
    uint32_t cells_in_use;
    uint32_t producer_cell;
    uint32_t consumer_cell;
    std::atomic<uint64_t> bytes_pushed;   // ring bytes ever committed
    std::atomic<uint64_t> bytes_retired;  // ring bytes persisted or dropped
    uint64_t pending_drop_lines;          // dropped since the last record handed out
    uint64_t pending_drop_bytes;
    std::atomic<uint64_t> dropped_lines;  // totals
    std::atomic<uint64_t> dropped_bytes;
    // Written by the producer after each record (see ProducerState); adopt() also scans cells.
    uint64_t last_sequence;
    int64_t last_time_ns;
    uint32_t next_ordinal[2];
    uint64_t partial_id[2];
    uint64_t metadata_offset;  // bytes from the start of the memfd, written once at creation
    uint64_t metadata_length;
    IngestLedger ledger;  // format 3 on; the cell headers follow it
};

uint64_t RingLog::cellsOffset(uint32_t format_version) {
    return format_version >= 3 ? sizeof(ArenaHeader) : offsetof(ArenaHeader, ledger);
}

uint64_t RingLog::metaBytes(uint32_t max_cells, uint32_t format_version) {
    return roundUp(cellsOffset(format_version) + sizeof(CellHeader) * uint64_t{max_cells}, kPage);
}

namespace {

// One store the compiler may not move across the stores around it: what a process killed at any
// instant leaves in the memfd is what its program order says.
void storeInOrder(uint64_t& field, uint64_t value) {
    std::atomic_ref<uint64_t>(field).store(value, std::memory_order_release);
}
void storeInOrder(uint32_t& field, uint32_t value) {
    std::atomic_ref<uint32_t>(field).store(value, std::memory_order_release);
}

int streamIndex(Stream s) {
    return s == Stream::kStderr ? 1 : 0;
}

}  // namespace

static_assert(std::atomic<uint32_t>::is_always_lock_free &&
                  std::atomic<uint64_t>::is_always_lock_free,
              "ring state is shared through a memfd: its atomics must not need a lock");

uint32_t RingLog::recordSpace(size_t payload) {
    return static_cast<uint32_t>(roundUp(sizeof(RecordHeader) + payload, 8));
}

Result<RingGeometry> RingGeometry::forLimits(uint64_t max_bytes, uint32_t max_record_payload) {
    // Cells big enough for the longest record, about a sixteenth of the ring (so it grows in
    // small steps), at most 64 KiB (one pipe's worth: one write() to the driver per cell).
    uint64_t min_cell = roundUp(RingLog::recordSpace(max_record_payload), kPage);
    uint64_t cell =
        std::max<uint64_t>(min_cell, std::min<uint64_t>(64 * 1024, roundUp(max_bytes / 16, kPage)));
    uint64_t cells = max_bytes / cell;
    if (cells < 3) {
        return invalid("max-buffer-size " + std::to_string(max_bytes) +
                       " is too small: the ring needs at least " + std::to_string(3 * min_cell) +
                       " bytes (three cells of a max-line record)");
    }
    if (cells > 1u << 20)
        return invalid("max-buffer-size " + std::to_string(max_bytes) + " is too large");
    return RingGeometry{static_cast<uint32_t>(cell), static_cast<uint32_t>(cells)};
}

Result<std::unique_ptr<RingLog>> RingLog::create(std::string_view name, RingGeometry geometry,
                                                 OverflowPolicy policy, std::string_view metadata) {
    if (metadata.size() > kMaxMetadataBytes)
        return invalid("ring metadata of " + std::to_string(metadata.size()) +
                       " bytes is too large");
    std::string memfd_name = "ringlog:" + std::string(name.substr(0, 200));
    UniqueFd fd(::memfd_create(memfd_name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd)
        return Error{RINGLOG_STATUS_LIMIT, "memfd_create for the ring: " + errnoText(errno)};
    uint64_t ring_bytes =
        metaBytes(geometry.max_cells) + uint64_t{geometry.cell_size} * geometry.max_cells;
    uint64_t size = ring_bytes + roundUp(metadata.size(), kPage);
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
        return Error{RINGLOG_STATUS_LIMIT, "sizing the ring memfd: " + errnoText(errno)};
    // Its size never changes, so whoever maps it whole later can trust its length.
    ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (base == MAP_FAILED)
        return Error{RINGLOG_STATUS_LIMIT, "mapping the ring: " + errnoText(errno)};
    std::unique_ptr<RingLog> ring(
        new RingLog(std::move(fd), base, size, geometry, policy, kFormatVersion));
    ring->initialize(metadata);
    return ring;
}

Result<std::unique_ptr<RingLog>> RingLog::adopt(UniqueFd fd, OverflowPolicy policy) {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0)
        return invalid("stat of the ring memfd: " + errnoText(errno));
    auto size = static_cast<uint64_t>(st.st_size);
    if (size < sizeof(ArenaHeader))
        return invalid("the ring memfd is too small (" + std::to_string(size) + " bytes)");
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (base == MAP_FAILED)
        return invalid("mapping the ring memfd: " + errnoText(errno));
    const auto* arena = static_cast<const ArenaHeader*>(base);
    RingGeometry g{arena->cell_size, arena->max_cells};
    auto fail = [&](const std::string& why) -> Error {
        ::munmap(base, size);
        return invalid("the ring memfd " + why);
    };
    if (arena->magic != kArenaMagic)
        return fail("is not a ringlogd ring");
    uint32_t version = arena->format_version;
    if (version != kFormatVersion && version != 2)
        return fail("has format " + std::to_string(version) +
                    ", this ringlogd reads formats 2 and " + std::to_string(kFormatVersion));
    if (g.cell_size == 0 || g.cell_size % kPage != 0 || g.max_cells < 3 || g.max_cells > 1u << 20 ||
        metaBytes(g.max_cells, version) + uint64_t{g.cell_size} * g.max_cells > size ||
        arena->metadata_length > kMaxMetadataBytes ||
        arena->metadata_offset + arena->metadata_length > size || arena->cells_in_use == 0 ||
        arena->cells_in_use > g.max_cells)
        return fail("has an impossible geometry");
    std::unique_ptr<RingLog> ring(new RingLog(std::move(fd), base, size, g, policy, version));
    ring->recover();
    return ring;
}

RingLog::RingLog(UniqueFd memfd, void* base, size_t size, RingGeometry geometry,
                 OverflowPolicy policy, uint32_t format_version)
    : memfd_(std::move(memfd)),
      base_(base),
      size_(size),
      geometry_(geometry),
      policy_(policy),
      format_version_(format_version) {
    auto* bytes = static_cast<char*>(base_);
    arena_ = reinterpret_cast<ArenaHeader*>(bytes);
    cells_ = reinterpret_cast<CellHeader*>(bytes + cellsOffset(format_version));
    data_ = bytes + metaBytes(geometry.max_cells, format_version);
    if (format_version >= 3) {
        ledger_ = &arena_->ledger;
    } else {
        local_ledger_ = std::make_unique<IngestLedger>();
        ledger_ = local_ledger_.get();
    }
}

void RingLog::initialize(std::string_view metadata) {
    auto* bytes = static_cast<char*>(base_);
    arena_ = new (bytes) ArenaHeader{};
    arena_->format_version = kFormatVersion;
    arena_->cell_size = geometry_.cell_size;
    arena_->max_cells = geometry_.max_cells;
    arena_->cells_in_use = 1;
    arena_->producer_cell = 0;
    arena_->consumer_cell = 0;
    arena_->metadata_offset =
        metaBytes(geometry_.max_cells) + uint64_t{geometry_.cell_size} * geometry_.max_cells;
    arena_->metadata_length = metadata.size();
    if (!metadata.empty())
        std::memcpy(bytes + arena_->metadata_offset, metadata.data(), metadata.size());
    new (&cells_[0]) CellHeader{};
    cells_[0].prev = cells_[0].next = 0;
    // Last: a memfd is a ring only once it is whole.
    std::atomic_ref<uint64_t>(arena_->magic).store(kArenaMagic, std::memory_order_release);
}

void RingLog::recover() {
    struct Found {
        uint32_t index;
        uint64_t first_sequence;
    };
    std::vector<Found> with_records;
    std::vector<uint32_t> empty_cells;
    uint64_t unpersisted = 0;
    uint64_t last_sequence = arena_->last_sequence;
    int64_t last_time = arena_->last_time_ns;
    // The ledger's framed count was written just after the record's commit, like last_sequence:
    // a record newer than the arena's last_sequence (at most one, the kill's) says where it is.
    const uint64_t recorded_sequence = last_sequence;
    for (uint32_t i = 0; i < arena_->cells_in_use; ++i) {
        CellHeader& c = cell(i);
        uint32_t committed = std::min(c.committed.load(), geometry_.cell_size);
        uint32_t consumed = std::min(c.consumed, committed);
        // Walk every record the cell holds: the newest sequence and time may be in a record
        // committed just before the kill, after the arena's copy was last written. A record that
        // does not fit ends the cell (only a memfd written by something else could have one).
        uint32_t off = 0;
        uint64_t first = 0;
        RecordView v;
        while (off + sizeof(RecordHeader) <= committed) {
            RecordHeader h;
            std::memcpy(&h, cellData(i) + off, sizeof(h));
            if (h.length > geometry_.cell_size || off + recordSpace(h.length) > committed)
                break;
            decode(cellData(i), off, v);
            if (off == consumed)
                first = v.sequence;
            if (v.sequence > recorded_sequence && hasLedger() && v.source == 0) {
                uint64_t& framed = ledger_->framed[streamIndex(v.stream)];
                framed += static_cast<uint32_t>(h.reserved2 - static_cast<uint32_t>(framed));
            }
            last_sequence = std::max(last_sequence, v.sequence);
            last_time = std::max(last_time, v.time_ns);
            off += recordSpace(h.length);
        }
        committed = off;
        c.committed.store(committed);
        c.consumed = std::min(consumed, committed);
        if (c.consumed < committed) {
            with_records.push_back({i, first});
            unpersisted += committed - c.consumed;
        } else {
            empty_cells.push_back(i);
        }
    }
    arena_->last_sequence = last_sequence;
    arena_->last_time_ns = last_time;
    std::sort(with_records.begin(), with_records.end(),
              [](const Found& a, const Found& b) { return a.first_sequence < b.first_sequence; });
    // The new list: the cells to persist, oldest first, the last of them the producer's (it has
    // room or moves on as usual), then the free cells.
    std::vector<uint32_t> order;
    for (const auto& f : with_records)
        order.push_back(f.index);
    for (uint32_t i : empty_cells) {
        resetCellLocked(i);
        order.push_back(i);
    }
    auto n = static_cast<uint32_t>(order.size());
    for (uint32_t k = 0; k < n; ++k) {
        cell(order[k]).next = order[(k + 1) % n];
        cell(order[k]).prev = order[(k + n - 1) % n];
        cell(order[k]).state = static_cast<uint32_t>(CellState::kFree);
    }
    for (size_t k = 0; k + 1 < with_records.size(); ++k)
        cell(with_records[k].index).state = static_cast<uint32_t>(CellState::kFull);
    arena_->consumer_cell = order[0];
    arena_->producer_cell = with_records.empty() ? order[0] : with_records.back().index;
    arena_->bytes_retired.store(arena_->bytes_pushed.load() - unpersisted);
}

std::string_view RingLog::metadata() const {
    return {static_cast<const char*>(base_) + arena_->metadata_offset,
            static_cast<size_t>(arena_->metadata_length)};
}

ProducerState RingLog::producerState() const {
    ProducerState p;
    p.last_sequence = arena_->last_sequence;
    p.last_time_ns = arena_->last_time_ns;
    for (int s = 0; s < 2; ++s) {
        p.next_ordinal[s] = arena_->next_ordinal[s];
        p.partial_id[s] = arena_->partial_id[s];
    }
    return p;
}

RingLog::~RingLog() {
    if (budget_ != nullptr)
        budget_->used.fetch_sub(uint64_t{arena_->cells_in_use} * geometry_.cell_size);
    if (base_ != nullptr)
        ::munmap(base_, size_);
}

void RingLog::shareBudget(RingBudget* budget) {
    budget_ = budget;
    budget_->used.fetch_add(uint64_t{arena_->cells_in_use} * geometry_.cell_size);
}

bool RingLog::mayGrowLocked() const {
    if (budget_ == nullptr || budget_->limit == 0 || policy_ != OverflowPolicy::kBlock ||
        arena_->cells_in_use < 2)
        return true;
    return budget_->used.load(std::memory_order_relaxed) + geometry_.cell_size <= budget_->limit;
}

RingLog::CellHeader& RingLog::cell(uint32_t index) const {
    return cells_[index];
}
char* RingLog::cellData(uint32_t index) const {
    return data_ + uint64_t{index} * geometry_.cell_size;
}

void RingLog::resetCellLocked(uint32_t index) {
    CellHeader& c = cell(index);
    c.state = static_cast<uint32_t>(CellState::kFree);
    // `committed` first: killed in between, the cell is empty to adopt(), never "all unpersisted".
    c.committed.store(0, std::memory_order_relaxed);
    std::atomic_ref<uint32_t>(c.consumed).store(0, std::memory_order_release);
}

void RingLog::unlinkLocked(uint32_t index) {
    CellHeader& c = cell(index);
    cell(c.prev).next = c.next;
    cell(c.next).prev = c.prev;
}

void RingLog::insertAfterLocked(uint32_t index, uint32_t after) {
    CellHeader& c = cell(index);
    c.prev = after;
    c.next = cell(after).next;
    cell(c.next).prev = index;
    cell(after).next = index;
}

void RingLog::dropCellLocked(uint32_t index) {
    CellHeader& c = cell(index);
    uint32_t end = c.committed.load(std::memory_order_relaxed);
    uint64_t lines = 0, bytes = 0;
    RecordView view;
    for (uint32_t off = c.consumed; off < end;) {
        off = decode(cellData(index), off, view);
        ++lines;
        bytes += view.message.size() + (view.newline() ? 1 : 0);
    }
    arena_->pending_drop_lines += lines;
    arena_->pending_drop_bytes += bytes;
    arena_->dropped_lines.fetch_add(lines, std::memory_order_relaxed);
    arena_->dropped_bytes.fetch_add(bytes, std::memory_order_relaxed);
    arena_->bytes_retired.fetch_add(end - c.consumed, std::memory_order_release);
}

// Moves the producer to a cell with room. Ring order from the producer onwards is: FREE cells,
// then the consumer's cell and the other sealed cells, oldest first.
bool RingLog::advanceProducerLocked() {
    uint32_t cur = arena_->producer_cell;
    uint32_t next = cell(cur).next;
    uint32_t target = kNone;
    if (next != cur && cell(next).state == static_cast<uint32_t>(CellState::kFree) &&
        next != arena_->consumer_cell) {
        target = next;
    } else if (arena_->cells_in_use < geometry_.max_cells && mayGrowLocked()) {
        target = arena_->cells_in_use++;
        if (budget_ != nullptr)
            budget_->used.fetch_add(geometry_.cell_size, std::memory_order_relaxed);
        new (&cells_[target]) CellHeader{};
        insertAfterLocked(target, cur);
    } else if (policy_ == OverflowPolicy::kBlock) {
        producer_blocked_ = true;
        return false;
    } else {
        // Drop the oldest cell, unless the consumer is persisting it right now, or (more than one
        // driver) a driver is sending its records and waits for them to be acknowledged: then
        // the one after, if no driver is persisting that one.
        uint32_t victim = arena_->consumer_cell;
        uint32_t after = cell(victim).next;
        bool after_busy = consumer_busy_ && busy_cell_ == after;
        if ((consumer_busy_ && busy_cell_ == victim) ||
            (heldLocked(victim) && after != cur && !after_busy))
            victim = after;
        dropCellLocked(victim);
        if (victim == arena_->consumer_cell) {
            arena_->consumer_cell = cell(victim).next;
        } else {
            unlinkLocked(victim);
            insertAfterLocked(victim, cur);
        }
        target = victim;
    }
    cell(cur).state = static_cast<uint32_t>(CellState::kFull);
    resetCellLocked(target);
    arena_->producer_cell = target;
    // An empty consumer cell that was the producer's: the consumer now starts at the new one.
    if (arena_->consumer_cell == cur && cell(cur).consumed == cell(cur).committed.load()) {
        resetCellLocked(cur);
        arena_->consumer_cell = target;
    }
    return true;
}

RingLog::PushResult RingLog::push(const RecordHeader& header, std::string_view message) {
    uint32_t need = recordSpace(message.size());
    uint32_t cur = arena_->producer_cell;  // only the producer moves it
    uint32_t off = cell(cur).committed.load(std::memory_order_relaxed);
    if (off + need > geometry_.cell_size) {
        std::lock_guard lock(mutex_);
        if (!advanceProducerLocked())
            return PushResult::kFull;
        cur = arena_->producer_cell;
        off = 0;
    }
    char* dst = cellData(cur) + off;
    RecordHeader h = header;
    h.length = static_cast<uint32_t>(message.size());
    int s = h.stream == static_cast<uint8_t>(Stream::kStderr) ? 1 : 0;
    if (h.source != 0)
        return pushFileRecord(h, message, dst, off + need);
    // The input bytes this record took, and where the stream's input is after it (its low 32
    // bits: what recover() needs to repair the ledger's copy).
    uint64_t framed = ledger_->framed[s] + message.size() + ((h.flags & kRecordNewline) ? 1 : 0);
    h.reserved2 = static_cast<uint32_t>(framed);
    std::memcpy(dst, &h, sizeof(h));
    std::memcpy(dst + sizeof(h), message.data(), message.size());
    cell(cur).committed.store(off + need, std::memory_order_release);
    // Only the producer writes it: a plain store, not a locked add, once per record.
    arena_->bytes_pushed.store(arena_->bytes_pushed.load(std::memory_order_relaxed) + need,
                               std::memory_order_release);
    storeInOrder(ledger_->framed[s], framed);
    storeInOrder(arena_->last_sequence, h.sequence);  // read by newestSequence()
    arena_->last_time_ns = h.time_ns;
    bool unfinished = (h.flags & kRecordPartial) && !(h.flags & kRecordPartialLast);
    arena_->next_ordinal[s] = unfinished ? h.partial_ordinal + 1 : 0;
    arena_->partial_id[s] = unfinished ? h.partial_id : 0;
    return PushResult::kOk;
}

// A log file's record (RecordHeader::source): the pipes' ledger and split lines are not its
// business; its file offset is in reserved2, as the follower set it.
RingLog::PushResult RingLog::pushFileRecord(const RecordHeader& h, std::string_view message,
                                            char* dst, uint32_t committed) {
    uint32_t cur = arena_->producer_cell;
    std::memcpy(dst, &h, sizeof(h));
    std::memcpy(dst + sizeof(h), message.data(), message.size());
    cell(cur).committed.store(committed, std::memory_order_release);
    arena_->bytes_pushed.store(
        arena_->bytes_pushed.load(std::memory_order_relaxed) + recordSpace(message.size()),
        std::memory_order_release);
    storeInOrder(arena_->last_sequence, h.sequence);
    arena_->last_time_ns = h.time_ns;
    return PushResult::kOk;
}

uint64_t RingLog::producerRoom() const {
    if (policy_ != OverflowPolicy::kBlock)
        return UINT64_MAX;
    std::lock_guard lock(mutex_);
    uint32_t cur = arena_->producer_cell;
    uint64_t room = geometry_.cell_size - cell(cur).committed.load(std::memory_order_relaxed);
    // The cells advanceProducerLocked() would move to: the free ones after the producer's.
    for (uint32_t c = cell(cur).next; c != cur && c != arena_->consumer_cell &&
                                      cell(c).state == static_cast<uint32_t>(CellState::kFree);
         c = cell(c).next)
        room += geometry_.cell_size;
    if (arena_->cells_in_use < geometry_.max_cells && mayGrowLocked())
        room += geometry_.cell_size;  // at least one more; an estimate is all the caller needs
    return room;
}

bool RingLog::fits(std::span<const uint32_t> message_sizes) const {
    if (policy_ != OverflowPolicy::kBlock)
        return true;
    std::lock_guard lock(mutex_);
    uint32_t cur = arena_->producer_cell;
    uint64_t left = geometry_.cell_size - cell(cur).committed.load(std::memory_order_relaxed);
    // The cells advanceProducerLocked() would move to: the free ones after the producer's, then
    // new ones while the ring and the budget allow.
    uint64_t cells = 0;
    for (uint32_t c = cell(cur).next; c != cur && c != arena_->consumer_cell &&
                                      cell(c).state == static_cast<uint32_t>(CellState::kFree);
         c = cell(c).next)
        ++cells;
    for (uint64_t in_use = arena_->cells_in_use; in_use < geometry_.max_cells; ++in_use) {
        bool budgeted = budget_ != nullptr && budget_->limit != 0 && in_use >= 2;
        uint64_t grown = in_use - arena_->cells_in_use + 1;
        if (budgeted &&
            budget_->used.load(std::memory_order_relaxed) + grown * geometry_.cell_size >
                budget_->limit)
            break;
        ++cells;
    }
    for (uint32_t size : message_sizes) {
        uint32_t need = recordSpace(size);
        if (need > left) {
            if (cells == 0)
                return false;
            --cells;
            left = geometry_.cell_size;
        }
        left -= need;
    }
    return true;
}

bool RingLog::take(Batch& batch) {
    std::lock_guard lock(mutex_);
    for (;;) {
        uint32_t c = arena_->consumer_cell;
        CellHeader& h = cell(c);
        uint32_t committed = h.committed.load(std::memory_order_acquire);
        if (h.consumed < committed) {
            batch.cell = c;
            batch.begin = h.consumed;
            batch.end = committed;
            batch.data = cellData(c);
            batch.dropped_before = {arena_->pending_drop_lines, arena_->pending_drop_bytes};
            consumer_busy_ = true;
            busy_cell_ = c;
            return true;
        }
        if (c == arena_->producer_cell || h.state != static_cast<uint32_t>(CellState::kFull))
            return false;
        // A sealed cell fully persisted: free it and look at the next one.
        resetCellLocked(c);
        arena_->consumer_cell = h.next;
    }
}

bool RingLog::release(const Batch& batch, uint32_t upto, uint64_t records) {
    std::lock_guard lock(mutex_);
    consumer_busy_ = false;
    CellHeader& h = cell(batch.cell);
    arena_->bytes_retired.fetch_add(upto - batch.begin, std::memory_order_release);
    h.consumed = upto;
    if (records > 0) {
        // The drop marker went out with the first record of this batch.
        arena_->pending_drop_lines -= batch.dropped_before.lines;
        arena_->pending_drop_bytes -= batch.dropped_before.bytes;
    }
    bool freed = false;
    if (batch.cell != arena_->producer_cell && h.state == static_cast<uint32_t>(CellState::kFull) &&
        h.consumed == h.committed.load(std::memory_order_acquire)) {
        resetCellLocked(batch.cell);
        arena_->consumer_cell = h.next;
        freed = true;
    }
    // A blocked producer is woken once half the ring is free again, not at the first free cell:
    // each wake-up costs the event loop a round of syscalls, so it should bring a good part of a
    // ring's worth of bytes (the consumer keeps persisting meanwhile).
    uint64_t buffered = arena_->bytes_pushed.load(std::memory_order_relaxed) -
                        arena_->bytes_retired.load(std::memory_order_relaxed);
    uint64_t capacity = uint64_t{arena_->cells_in_use} * geometry_.cell_size;
    if (producer_blocked_ && freed && buffered <= capacity / 2) {
        producer_blocked_ = false;
        return true;
    }
    return false;
}

bool RingLog::takeAfter(uint64_t sequence, Batch& batch) {
    std::lock_guard lock(mutex_);
    RecordView v;
    // Cells in list order from the oldest: sealed cells, then the producer's.
    for (uint32_t c = arena_->consumer_cell, seen = 0; seen < geometry_.max_cells;
         ++seen, c = cell(c).next) {
        const CellHeader& h = cell(c);
        uint32_t committed = h.committed.load(std::memory_order_acquire);
        bool last = c == arena_->producer_cell;
        if (!last) {
            // The next cell starting at or before sequence + 1: nothing after `sequence` here.
            const CellHeader& n = cell(h.next);
            uint32_t next_committed = n.committed.load(std::memory_order_acquire);
            if (n.consumed < next_committed) {
                decode(cellData(h.next), n.consumed, v);
                if (v.sequence <= sequence + 1)
                    continue;
            }
        }
        for (uint32_t off = h.consumed; off < committed;) {
            uint32_t next = decode(cellData(c), off, v);
            if (v.sequence > sequence) {
                batch.cell = c;
                batch.begin = off;
                batch.end = committed;
                batch.data = cellData(c);
                batch.dropped_before = {};
                consumer_busy_ = true;
                busy_cell_ = c;
                return true;
            }
            off = next;
        }
        if (last)
            return false;
    }
    return false;
}

void RingLog::hold(uint64_t first, uint64_t last) {
    std::lock_guard lock(mutex_);
    held_first_ = first;
    held_last_ = last;
}

bool RingLog::heldLocked(uint32_t index) const {
    if (held_last_ == 0)
        return false;
    const CellHeader& h = cell(index);
    uint32_t committed = h.committed.load(std::memory_order_acquire);
    RecordView v;
    for (uint32_t off = h.consumed; off < committed;) {
        off = decode(cellData(index), off, v);
        if (v.sequence >= held_first_)
            return v.sequence <= held_last_;
    }
    return false;
}

void RingLog::endTake() {
    std::lock_guard lock(mutex_);
    consumer_busy_ = false;
}

bool RingLog::retireThrough(uint64_t sequence) {
    std::lock_guard lock(mutex_);
    bool freed = false;
    for (;;) {
        uint32_t c = arena_->consumer_cell;
        CellHeader& h = cell(c);
        uint32_t committed = h.committed.load(std::memory_order_acquire);
        uint32_t off = h.consumed;
        RecordView v;
        while (off < committed) {
            uint32_t next = decode(cellData(c), off, v);
            if (v.sequence > sequence)
                break;
            off = next;
        }
        if (off != h.consumed) {
            arena_->bytes_retired.fetch_add(off - h.consumed, std::memory_order_release);
            h.consumed = off;
        }
        if (c == arena_->producer_cell || h.state != static_cast<uint32_t>(CellState::kFull) ||
            off < committed)
            break;
        resetCellLocked(c);
        arena_->consumer_cell = h.next;
        freed = true;
    }
    // Drop markers are per driver here (gaps in the sequences), not the ring's.
    arena_->pending_drop_lines = arena_->pending_drop_bytes = 0;
    uint64_t buffered = arena_->bytes_pushed.load(std::memory_order_relaxed) -
                        arena_->bytes_retired.load(std::memory_order_relaxed);
    uint64_t capacity = uint64_t{arena_->cells_in_use} * geometry_.cell_size;
    if (producer_blocked_ && freed && buffered <= capacity / 2) {
        producer_blocked_ = false;
        return true;
    }
    return false;
}

uint64_t RingLog::newestSequence() const {
    return std::atomic_ref<uint64_t>(arena_->last_sequence).load(std::memory_order_acquire);
}

bool RingLog::empty() const {
    return arena_->bytes_pushed.load(std::memory_order_acquire) ==
           arena_->bytes_retired.load(std::memory_order_acquire);
}

RingStats RingLog::stats() const {
    RingStats s;
    {
        std::lock_guard lock(mutex_);
        s.cells_in_use = arena_->cells_in_use;
    }
    // Retired first: it never passes pushed, so read in this order the difference cannot wrap.
    uint64_t retired = arena_->bytes_retired.load(std::memory_order_acquire);
    s.bytes_buffered = arena_->bytes_pushed.load(std::memory_order_acquire) - retired;
    s.dropped_lines = arena_->dropped_lines.load();
    s.dropped_bytes = arena_->dropped_bytes.load();
    return s;
}

uint64_t RingLog::inputFramed(Stream s) const {
    return ledger_->framed[streamIndex(s)];
}

uint64_t RingLog::inputDiscarded(Stream s) const {
    return ledger_->discarded[streamIndex(s)];
}

void RingLog::beginDiscard(Stream s) {
    int i = streamIndex(s);
    storeInOrder(ledger_->pending_base, ledger_->discarded[i]);
    storeInOrder(ledger_->pending, static_cast<uint32_t>(i + 1));
}

void RingLog::endDiscard(Stream s, uint64_t moved) {
    int i = streamIndex(s);
    storeInOrder(ledger_->discarded[i], ledger_->pending_base + moved);
    storeInOrder(ledger_->pending, 0u);
}

void RingLog::settleDiscard(std::optional<uint64_t> journal_bytes) {
    if (ledger_->pending == 0 || ledger_->pending > 2)
        return;
    Stream s = ledger_->pending == 2 ? Stream::kStderr : Stream::kStdout;
    if (!journal_bytes)
        unsure_[streamIndex(s)] = true;
    endDiscard(s, journal_bytes.value_or(0));
}

void RingLog::rebaseLedger(Stream s) {
    int i = streamIndex(s);
    storeInOrder(ledger_->discarded[i], ledger_->framed[i]);
    unsure_[i] = false;
}

uint64_t RingLog::unpersistedRecords() const {
    std::lock_guard lock(mutex_);
    uint64_t records = 0;
    // From the consumer's cell along the list to the producer's: the cells holding records not
    // yet retired, oldest first (a drop unlinks the cells it empties).
    uint32_t c = arena_->consumer_cell;
    for (uint32_t seen = 0; seen < geometry_.max_cells; ++seen) {
        const CellHeader& h = cell(c);
        uint32_t end = h.committed.load(std::memory_order_acquire);
        for (uint32_t off = h.consumed; off < end;) {
            RecordView v;
            off = decode(cellData(c), off, v);
            ++records;
        }
        if (c == arena_->producer_cell)
            break;
        c = h.next;
    }
    return records;
}

uint32_t RingLog::decode(const char* cell_data, uint32_t offset, RecordView& out) {
    RecordHeader h;
    std::memcpy(&h, cell_data + offset, sizeof(h));
    out.stream = static_cast<Stream>(h.stream);
    out.flags = h.flags;
    out.partial_ordinal = h.partial_ordinal;
    out.time_ns = h.time_ns;
    out.sequence = h.sequence;
    out.partial_id = h.partial_id;
    out.source = h.source;
    out.message = std::string_view(cell_data + offset + sizeof(h), h.length);
    return offset + recordSpace(h.length);
}

}  // namespace ringlog
