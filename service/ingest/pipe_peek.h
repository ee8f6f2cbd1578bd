// PipePeek: reads a pipe without taking the bytes out of it, and takes them out later.
//
// ringlogd reads a container's pipe in two steps so that a crash between them loses nothing:
// peek() copies bytes out with tee(2) (the bytes stay in the container's pipe, which systemd's fd
// store keeps open for the next instance), the framer commits the complete lines into the ring
// (memfd, also in the fd store), and only then discard() removes exactly those bytes from the
// pipe. An incomplete last line stays in the pipe until its end arrives.
//
// A kill between commit and discard would make the next instance read those lines again. So the
// ring counts the input bytes its records took (its ingest ledger), and discard() moves the bytes
// with splice(2) into the discard journal, a pipe of ringlogd's own kept in the fd store, between
// the ledger's begin and end marks; the journal is emptied after each discard. A kill in the
// middle leaves the journal holding exactly what that discard took out: the next instance settles
// the ledger from it, then takes out of each pipe what the ring already has (exactly once).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "service/base/error.h"
#include "service/base/unique_fd.h"

namespace ringlog {

class PipePeek {
  public:
    // `max_peek`: the most one peek() returns. tee(2) copies whole pipe buffers and stops when
    // the scratch pipe has no free slot, so the scratch pipe is made as large as the inputs
    // (`input_pipe_size`, and fitPipe() for a larger one): a peek then sees as far into an input
    // as it asks, and a short peek means that the input held no more (how pumpPipe tells a line
    // still being written from one that is not).
    // `journal_read`, `journal_write`: the discard journal an earlier instance left in the fd
    // store, if any (see journalBytes()); else a new one is made.
    static Result<PipePeek> open(size_t max_peek, size_t input_pipe_size,
                                 UniqueFd journal_read = {}, UniqueFd journal_write = {});
    size_t capacity() const { return capacity_; }
    // Grows the scratch pipe for an input pipe of `pipe_size` bytes; false if the kernel refuses.
    bool fitPipe(size_t pipe_size);

    // Copies up to `len` bytes from the head of `pipe_fd` (non-blocking) into `buffer` and leaves
    // them in the pipe. Returns the count, 0 at end of file, -1 with errno (EAGAIN: empty).
    ssize_t peek(int pipe_fd, char* buffer, size_t len);
    // Where a discard is written down: the ring's ingest ledger for one stream.
    class Ledger {
      public:
        virtual void begin() = 0;
        virtual void end(uint64_t moved) = 0;

      protected:
        ~Ledger() = default;
    };
    // Removes `len` bytes, already peeked, from the head of `pipe_fd`, through the journal and
    // written down in `ledger` (none: straight into /dev/null).
    bool discard(int pipe_fd, size_t len, Ledger* ledger = nullptr);

    // The discard journal: what it holds (right after a start, what a killed instance's last
    // discard moved), emptying it, and its ends for the fd store.
    uint64_t journalBytes() const;
    // Empties it: of `expected` bytes (one syscall when it holds them), or of all it holds.
    void drainJournal(size_t expected = SIZE_MAX);
    int journalRead() const { return journal_read_.get(); }
    int journalWrite() const { return journal_write_.get(); }

    // What `pipe_fd` holds and nobody will read: its bytes, and its lines (an unfinished last
    // one included). Leaves the pipe as it is; `buffer` is scratch space. For the report of a
    // stop, when the pipe closes with ringlogd.
    struct Unread {
        uint64_t bytes = 0;
        uint64_t lines = 0;
    };
    Unread countUnread(int pipe_fd, char* buffer, size_t buffer_size);

  private:
    bool discardToDevNull(int pipe_fd, size_t len);

    UniqueFd scratch_read_, scratch_write_;  // tee's target: drained into the buffer at once
    UniqueFd devnull_;
    UniqueFd journal_read_, journal_write_;
    size_t journal_size_ = 0;
    size_t capacity_ = 0;      // max_peek
    size_t scratch_size_ = 0;  // the scratch pipe's size
};

// True for an fd PipePeek can read: a pipe or FIFO.
bool isPipe(int fd);

}  // namespace ringlog
