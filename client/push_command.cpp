#include "client/push_command.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringlog/client.h"

namespace ringlogctl {

namespace {

struct PushOptions {
    std::string id;
    std::string stream = "stdout";
};

// Lines gathered into one push request, sent when the next would not fit or when stdin has
// nothing more for now (so that a line typed or logged alone goes at once).
class Batcher {
  public:
    Batcher(const GlobalOptions& global, const PushOptions& o) : global_(global), o_(o) {
        socket_ = global.socket.empty() ? nullptr : global.socket.c_str();
        char err[RINGLOG_MAX_REPLY_BYTES];
        pusher_ = ringlog_pusher_open(socket_, err, sizeof err);
        if (pusher_ == nullptr)
            socketError(-errno, err);
        // The request: an 8-byte header, then 8 bytes and the value per field.
        room_ = RINGLOG_MAX_REQUEST_BYTES - 8 - (8 + o.id.size()) - (8 + o.stream.size());
    }
    ~Batcher() { ringlog_pusher_close(pusher_); }
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    void add(std::string_view line) {
        // A line longer than a request can carry is cut into lines that fit (said once).
        size_t most = room_ - 8;
        if (line.size() > most && !warned_) {
            std::fprintf(stderr,
                         "ringlogctl: a line of %zu bytes is longer than one push request can "
                         "carry: cut into lines of %zu bytes\n",
                         line.size(), most);
            warned_ = true;
        }
        do {
            std::string_view part = line.substr(0, most);
            line.remove_prefix(part.size());
            if (used_ + 8 + part.size() > room_)
                flush();
            ends_.push_back(bytes_.size() + part.size());
            bytes_.append(part);
            used_ += 8 + part.size();
        } while (!line.empty());
    }

    void flush() {
        if (ends_.empty())
            return;
        std::vector<const char*> lines;
        std::vector<size_t> lengths;
        size_t begin = 0;
        for (size_t end : ends_) {
            lines.push_back(bytes_.data() + begin);
            lengths.push_back(end - begin);
            begin = end;
        }
        // RETRY_LATER took nothing: the same request again, after a pause that grows.
        auto pause = std::chrono::milliseconds(10);
        for (;;) {
            char err[RINGLOG_MAX_REPLY_BYTES];
            int r = ringlog_pusher_send(pusher_, o_.id.c_str(), o_.stream.c_str(), lines.data(),
                                        lengths.data(), lines.size(), err, sizeof err);
            if (r == RINGLOG_STATUS_OK)
                break;
            if (r == RINGLOG_STATUS_RETRY_LATER) {
                std::this_thread::sleep_for(pause);
                pause = std::min(pause * 2, std::chrono::milliseconds(1000));
                continue;
            }
            if (r < 0)
                socketError(r, err);
            std::string message = err;
            if (r == RINGLOG_STATUS_PERMISSION_DENIED)
                message +=
                    ". Who may push: root, the user that attached the container, and its "
                    "push-users and push-groups log options; a push names the container by its "
                    "full id (ringlogctl ps --no-trunc)";
            throw CommandError(kExitFailed, message);
        }
        bytes_.clear();
        ends_.clear();
        used_ = 0;
    }

  private:
    [[noreturn]] void socketError(int negative_errno, const char* message) {
        if (negative_errno == -EACCES || negative_errno == -EPERM)
            throw CommandError(kExitFailed,
                               std::string(message) +
                                   ". The socket is root:ringlog 0660: a user outside the group "
                                   "`ringlog` may push only where the socket's mode lets it "
                                   "connect (docs/protocol.md, \"Push\")");
        try {
            throwSocketError(negative_errno, message, global_.socket);
        } catch (const CommandError& e) {
            throw CommandError(kExitFailed, e.what());
        }
    }

    const GlobalOptions& global_;
    const PushOptions& o_;
    const char* socket_ = nullptr;
    ringlog_pusher* pusher_ = nullptr;
    size_t room_ = 0;  // for LINE fields in one request
    size_t used_ = 0;
    std::string bytes_;         // the lines, one after another
    std::vector<size_t> ends_;  // where each ends in bytes_
    bool warned_ = false;
};

bool moreReadyNow(int fd) {
    struct pollfd p {
        fd, POLLIN, 0
    };
    return ::poll(&p, 1, 0) == 1;
}

void push(const GlobalOptions& global, const PushOptions& o) {
    Batcher batch(global, o);
    std::vector<char> buffer(256 * 1024);
    std::string partial;  // a line whose end has not been read yet
    for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw CommandError(kExitFailed, std::string("reading stdin: ") + std::strerror(errno));
        if (n == 0)
            break;
        std::string_view data(buffer.data(), static_cast<size_t>(n));
        while (!data.empty()) {
            size_t nl = data.find('\n');
            if (nl == std::string_view::npos) {
                partial.append(data);
                break;
            }
            if (partial.empty()) {
                batch.add(data.substr(0, nl));
            } else {
                partial.append(data.substr(0, nl));
                batch.add(partial);
                partial.clear();
            }
            data.remove_prefix(nl + 1);
        }
        if (!moreReadyNow(STDIN_FILENO))
            batch.flush();
    }
    if (!partial.empty())
        batch.add(partial);  // a last line without '\n' is a line all the same
    batch.flush();
}

}  // namespace

void addPushCommand(CLI::App& app, const GlobalOptions& global) {
    auto o = std::make_shared<PushOptions>();
    CLI::App* sub = app.add_subcommand(
        "push", "Push lines read from stdin into an attached container's log (as its stdout)");
    sub->add_option("CONTAINER", o->id, "The container's full id")->required();
    sub->add_option("--stream", o->stream, "stdout (default) or stderr")
        ->check(CLI::IsMember({"stdout", "stderr"}));
    sub->footer(
        "Each line is one record, after what the container wrote before it. Who may push: "
        "root, the user that attached the container, its push-users and push-groups. Exit "
        "status: 0 every line pushed, 1 ringlogd refused or could not be reached.");
    sub->callback([o, &global] { push(global, *o); });
}

}  // namespace ringlogctl
