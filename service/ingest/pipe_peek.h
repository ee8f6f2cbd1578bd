// PipePeek: reads a pipe without taking the bytes out of it, and takes them out later.
//
// ringlogd reads a container's pipe in two steps so that a crash between them loses nothing:
// peek() copies bytes out with tee(2) (the bytes stay in the container's pipe, which systemd's fd
// store keeps open for the next instance), the framer commits the complete lines into the ring
// (memfd, also in the fd store), and only then discard() removes exactly those bytes from the
// pipe, with splice(2) into /dev/null. An incomplete last line stays in the pipe until its end
// arrives. A kill between commit and discard makes the next instance read those lines again: the
// one window for a duplicate, a few microseconds wide.
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
    static Result<PipePeek> open(size_t max_peek, size_t input_pipe_size);
    size_t capacity() const { return capacity_; }
    // Grows the scratch pipe for an input pipe of `pipe_size` bytes; false if the kernel refuses.
    bool fitPipe(size_t pipe_size);

    // Copies up to `len` bytes from the head of `pipe_fd` (non-blocking) into `buffer` and leaves
    // them in the pipe. Returns the count, 0 at end of file, -1 with errno (EAGAIN: empty).
    ssize_t peek(int pipe_fd, char* buffer, size_t len);
    // Removes `len` bytes, already peeked, from the head of `pipe_fd`.
    bool discard(int pipe_fd, size_t len);

    // What `pipe_fd` holds and nobody will read: its bytes, and its lines (an unfinished last
    // one included). Leaves the pipe as it is; `buffer` is scratch space. For the report of a
    // stop, when the pipe closes with ringlogd.
    struct Unread {
        uint64_t bytes = 0;
        uint64_t lines = 0;
    };
    Unread countUnread(int pipe_fd, char* buffer, size_t buffer_size);

  private:
    UniqueFd scratch_read_, scratch_write_;  // tee's target: drained into the buffer at once
    UniqueFd devnull_;
    size_t capacity_ = 0;      // max_peek
    size_t scratch_size_ = 0;  // the scratch pipe's size
};

// True for an fd PipePeek can read: a pipe or FIFO.
bool isPipe(int fd);

}  // namespace ringlog
