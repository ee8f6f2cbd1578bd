#include "service/ingest/pipe_peek.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace ringlog {

Result<PipePeek> PipePeek::open(size_t max_peek, size_t input_pipe_size) {
    PipePeek p;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return invalid("creating the scratch pipe: " + errnoText(errno));
    p.scratch_read_.reset(fds[0]);
    p.scratch_write_.reset(fds[1]);
    p.fitPipe(std::max(max_peek, input_pipe_size));
    p.capacity_ = std::min(max_peek, p.scratch_size_);
    p.devnull_.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    if (!p.devnull_)
        return invalid("opening /dev/null: " + errnoText(errno));
    return p;
}

bool PipePeek::fitPipe(size_t pipe_size) {
    if (pipe_size <= scratch_size_)
        return true;
    // Costs no memory up front: tee shares the input's pages, and the slots are 40 bytes each.
    ::fcntl(scratch_write_.get(), F_SETPIPE_SZ, static_cast<int>(pipe_size));
    int got = ::fcntl(scratch_write_.get(), F_GETPIPE_SZ);
    scratch_size_ = got > 0 ? static_cast<size_t>(got) : 4096;
    return scratch_size_ >= pipe_size;
}

ssize_t PipePeek::peek(int pipe_fd, char* buffer, size_t len) {
    ssize_t n = ::tee(pipe_fd, scratch_write_.get(), std::min(len, capacity_), SPLICE_F_NONBLOCK);
    if (n <= 0)
        return n;
    ssize_t got = 0;
    while (got < n) {
        ssize_t r = ::read(scratch_read_.get(), buffer + got, static_cast<size_t>(n - got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;  // cannot happen: the scratch pipe holds exactly what tee put there
        got += r;
    }
    return n;
}

bool PipePeek::discard(int pipe_fd, size_t len) {
    while (len > 0) {
        ssize_t n = ::splice(pipe_fd, nullptr, devnull_.get(), nullptr, len, SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EINVAL) {
            // A kernel without splice into /dev/null: read the bytes away instead.
            std::vector<char> sink(std::min<size_t>(len, 64 * 1024));
            n = ::read(pipe_fd, sink.data(), std::min(len, sink.size()));
        }
        if (n <= 0)
            return false;
        len -= static_cast<size_t>(n);
    }
    return true;
}

PipePeek::Unread PipePeek::countUnread(int pipe_fd, char* buffer, size_t buffer_size) {
    Unread out;
    // The scratch pipe has as many slots as the input (fitPipe), so one tee sees all of it.
    ssize_t n = ::tee(pipe_fd, scratch_write_.get(), SIZE_MAX >> 1, SPLICE_F_NONBLOCK);
    if (n <= 0)
        return out;
    char last = '\n';
    for (ssize_t left = n; left > 0;) {
        ssize_t r = ::read(scratch_read_.get(), buffer, std::min<size_t>(buffer_size, left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        out.lines += static_cast<uint64_t>(std::count(buffer, buffer + r, '\n'));
        last = buffer[r - 1];
        left -= r;
    }
    out.bytes = static_cast<uint64_t>(n);
    if (last != '\n')
        ++out.lines;
    return out;
}

bool isPipe(int fd) {
    struct stat st;
    return ::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

}  // namespace ringlog
