// What every ringlogctl command shares: the global options, the exit codes, and the way errors
// reach the user. A command throws CommandError; main() prints "ringlogctl: <message>" on stderr
// and exits with its code. Exit codes are docker's (docs/ringlogctl.md, "Exit status").
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ringlogctl {

// 0: done. 1: the operation failed (ringlogd said no, or could not be reached). 125: ringlogctl's
// own error before anything was done (a bad option, value or time), as docker's CLI; `run` and
// `attach` also use 125 when ringlogd refuses, as `docker run` does when the daemon does.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 125;

struct GlobalOptions {
    std::string socket;  // the ingest socket (--socket, $RINGLOGD_SOCKET); empty: the default
    // What followed the first "--": `run`'s CMD (main() takes it off before CLI11 parses).
    std::vector<std::string> after_dashes;
    bool had_dashes = false;
};

class CommandError : public std::runtime_error {
  public:
    CommandError(int exit_code, const std::string& message)
        : std::runtime_error(message), exit_code_(exit_code) {}
    int exitCode() const { return exit_code_; }

  private:
    int exit_code_;
};

// Thrown by a command that has said what it had to and wants this exit status (run: CMD's).
struct ExitStatus {
    int code;
};

// The system bus ($DBUS_SYSTEM_BUS_ADDRESS or the default), or a CommandError that says the bus
// cannot be reached and what to do.
std::unique_ptr<sdbus::IConnection> connectSystemBus();

// A D-Bus error from ringlogd (or from the bus on its behalf) as a CommandError whose message
// says what happened in the user's terms and what to do: ringlogd not running, no permission,
// unknown or ambiguous container.
[[noreturn]] void throwBusError(const sdbus::Error& error);

// A failure of the ingest socket (ringlog_attach_send's -errno and message) as a CommandError
// with advice: not running, no permission.
[[noreturn]] void throwSocketError(int negative_errno, std::string_view message,
                                   std::string_view socket_path);

}  // namespace ringlogctl
