// FileRegistry: how far each of a container's log files has been read into its ring, kept in a
// memfd that systemd's fd store holds ("<serial>.files", beside "<serial>.ring"), so that neither
// a restart nor a kill -9 of ringlogd loses or repeats a line of a file (docs/log-files.md,
// "Restarts"). FileBeat keeps the same thing in its registry file; a memfd needs no fsync and
// survives the process, which is all a restart needs.
//
// It holds a slot per followed file (its directory, device and inode, the index its records name
// it by, and two offsets) and the container's table of file names, which the ring's records refer
// to by index.
//
// Crash consistency: the event loop, the ring's one producer, is the only writer. Before it
// pushes a record of a file it writes the record's sequence and then the file's offset after the
// record ("pending"); after the push, the same offset as "committed". A process killed at any
// instant leaves, per slot, either the pending record in the ring (its sequence is at most the
// ring's newest) or not, and resumePoints() takes the matching offset. A name is written before
// the count that publishes it, a slot's fields before the flag that makes it in use.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/base/error.h"
#include "service/base/unique_fd.h"

namespace ringlog {

// What tells a file from another: its device and inode, and its birth time (statx; 0 where the
// file system does not keep one), since a deleted file's inode number is soon given to a new file.
struct FileIdentity {
    uint64_t dev = 0;
    uint64_t ino = 0;
    int64_t birth_ns = 0;
};

class FileRegistry {
  public:
    // A file to follow again, as the registry had it.
    struct Resume {
        uint32_t slot = 0;
        uint16_t dir = 0;  // index into the attach request's log directories
        FileIdentity identity;
        std::string head;     // the file's first bytes, as read (at most kHeadBytes)
        uint16_t source = 0;  // the index its records carry (RecordHeader::source)
        uint64_t offset = 0;  // where to read on
        std::string name;     // as its records name it ("" if the table had no room)
    };

    static constexpr size_t kNamesBytes = 1 << 20;
    // How much of a file's beginning is kept to tell it from another file with its inode number,
    // where the file system has no birth time (as FileBeat's fingerprint identity does).
    static constexpr uint32_t kHeadBytes = 64;

    // A new, empty registry of `slots` files in a memfd named "ringlog-files:<name>".
    static Result<std::unique_ptr<FileRegistry>> create(std::string_view name, uint32_t slots);
    // Takes over a registry made by create() in this or an earlier process, which may have been
    // killed at any instant. An error says why the memfd is not a usable registry.
    static Result<std::unique_ptr<FileRegistry>> adopt(UniqueFd memfd);
    ~FileRegistry();
    FileRegistry(const FileRegistry&) = delete;
    FileRegistry& operator=(const FileRegistry&) = delete;

    int memfd() const { return memfd_.get(); }
    uint32_t slots() const;

    // The name of records that carry `source`: indices are given out in order from 1, so
    // `source` is either known already or the next one. False when the table is full (the
    // records of that name then carry no name after a restart).
    bool recordName(uint16_t source, std::string_view name);
    std::vector<std::string> names() const;

    // A file begins to be followed, read up to `offset`; nullopt when every slot is taken.
    std::optional<uint32_t> claim(uint16_t dir, const FileIdentity& identity, uint16_t source,
                                  uint64_t offset);
    // Bytes read from the file at `offset`: what falls in its first kHeadBytes is kept.
    void recordHead(uint32_t slot, uint64_t offset, std::string_view bytes);
    // Released: read to its end, or gone.
    void release(uint32_t slot);
    // Around the push of one of the file's records: `end` is the file's offset after it,
    // `sequence` the sequence the record gets. pushed(): the ring took it; notPushed(): it did
    // not (blocking mode, full), and the record will be offered again.
    void willPush(uint32_t slot, uint64_t end, uint64_t sequence);
    void pushed(uint32_t slot, uint64_t end);
    void notPushed(uint32_t slot);
    // The file was truncated (copytruncate): it is read again from 0.
    void rewind(uint32_t slot);

    // The container was detached: its files are read to their end and released. A next instance
    // that adopts the registry before that is done finishes the job instead of following on.
    void markFinishing();
    bool finishing() const;

    // Every file in use, with the offset its ring got to: `ring_last_sequence` is the sequence
    // of the newest record in the ring (RingLog::producerState() after adopt()).
    std::vector<Resume> resumePoints(uint64_t ring_last_sequence) const;

  private:
    struct Header;
    struct Slot;
    FileRegistry(UniqueFd memfd, void* base, size_t size);
    Header& header() const;
    Slot& slot(uint32_t index) const;
    char* namesArea() const;

    UniqueFd memfd_;
    void* base_ = nullptr;
    size_t size_ = 0;
    size_t names_end_ = 0;  // bytes of the names area in use (the producer's copy)
};

}  // namespace ringlog
