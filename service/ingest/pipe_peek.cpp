#include "service/ingest/pipe_peek.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace ringlog {

Result<PipePeek> PipePeek::open(size_t max_peek, size_t input_pipe_size, UniqueFd journal_read,
                                UniqueFd journal_write) {
    PipePeek p;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return invalid("creating the scratch pipe: " + errnoText(errno));
    p.scratch_read_.reset(fds[0]);
    p.scratch_write_.reset(fds[1]);
    if (!journal_read || !journal_write) {
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
            return invalid("creating the discard journal: " + errnoText(errno));
        journal_read.reset(fds[0]);
        journal_write.reset(fds[1]);
    }
    for (int fd : {journal_read.get(), journal_write.get()}) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    p.journal_read_ = std::move(journal_read);
    p.journal_write_ = std::move(journal_write);
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
    // The journal takes what one discard moves: as many slots as an input, like the scratch pipe.
    ::fcntl(journal_write_.get(), F_SETPIPE_SZ, static_cast<int>(pipe_size));
    got = ::fcntl(journal_write_.get(), F_GETPIPE_SZ);
    journal_size_ = got > 0 ? static_cast<size_t>(got) : 4096;
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

uint64_t PipePeek::journalBytes() const {
    int n = 0;
    return ::ioctl(journal_read_.get(), FIONREAD, &n) == 0 && n > 0 ? static_cast<uint64_t>(n) : 0;
}

void PipePeek::drainJournal(size_t expected) {
    for (size_t done = 0; done < expected;) {
        ssize_t n = ::splice(journal_read_.get(), nullptr, devnull_.get(), nullptr, expected - done,
                             SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EINVAL) {
            char sink[65536];
            n = ::read(journal_read_.get(), sink, sizeof sink);
        }
        if (n <= 0)
            return;
        done += static_cast<size_t>(n);
    }
}

bool PipePeek::discard(int pipe_fd, size_t len, Ledger* ledger) {
    if (ledger == nullptr)
        return discardToDevNull(pipe_fd, len);
    // In rounds of at most what the journal holds (it has as many slots as an input; a round
    // ends early only if it fills): begin, move, end, empty the journal.
    while (len > 0) {
        ledger->begin();
        size_t moved = 0;
        int error = 0;
        while (moved < len) {
            ssize_t n = ::splice(pipe_fd, nullptr, journal_write_.get(), nullptr, len - moved,
                                 SPLICE_F_NONBLOCK);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                error = n < 0 ? errno : EIO;
                break;
            }
            moved += static_cast<size_t>(n);
        }
        ledger->end(moved);
        drainJournal(moved);
        len -= moved;
        if (len == 0)
            return true;
        if (moved == 0) {
            if (error != EAGAIN && error != EINVAL)
                return false;
            // The kernel will not splice between these pipes: no journal, then.
            ledger->begin();
            bool ok = discardToDevNull(pipe_fd, len);
            ledger->end(ok ? len : 0);
            return ok;
        }
    }
    return true;
}

bool PipePeek::discardToDevNull(int pipe_fd, size_t len) {
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
