// The attach request of protocol version 1 (client/include/ringlog/protocol.h, docs/protocol.md):
// decoding of the datagram and validation of every field, before anything is created.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/log_driver.h"
#include "service/base/error.h"

namespace ringlog {

// One log driver asked for, with the --log-opt pairs that follow it (docs/protocol.md).
struct DriverRequest {
    std::string name;    // empty: the daemon's default
    KeyValues log_opts;  // docker --log-opt pairs, in the order given
};

struct AttachRequest {
    uint16_t version = RINGLOG_PROTOCOL_VERSION;  // the request's; fields of later ones refused
    ContainerInfo info;
    // At least one; more when the engine asks for several drivers (--log-driver repeated).
    std::vector<DriverRequest> drivers{1};
    std::optional<std::string> mode;
    std::optional<std::string> max_buffer_size;
    // Version 2: no fds, the container's records are pushed (docs/protocol.md, "Push").
    bool push_only = false;
    // Version 2: log directories whose files are followed (docs/log-files.md), and which files.
    std::vector<std::string> log_dirs;
    std::optional<std::string> log_glob;
};

// Limits on what one request may carry; each refusal names the limit.
struct AttachLimits {
    static constexpr size_t kMaxIdBytes = 128;
    static constexpr size_t kMaxNameBytes = 128;
    static constexpr size_t kMaxImageBytes = 1024;
    static constexpr size_t kMaxPairs = 256;  // labels, env entries, log options, each
    static constexpr size_t kMaxKeyBytes = 256;
    static constexpr size_t kMaxValueBytes = 4096;
    static constexpr size_t kMaxDrivers = 4;
    static constexpr size_t kMaxLogDirs = 16;
};

// What every request starts with (docs/protocol.md): magic, a version this ringlogd speaks, and
// a message type of that version (push: version 2 and later).
struct RequestHeader {
    uint16_t version = 0;
    uint16_t type = 0;
};
Result<RequestHeader> decodeRequestHeader(std::string_view datagram);

// The fields after the header, one at a time: next() gives the next tag and value, false at the
// end of the datagram, or a BAD_REQUEST for a truncated or malformed field.
class RequestFields {
  public:
    explicit RequestFields(std::string_view datagram) : d_(datagram) {}
    Result<bool> next(uint16_t& tag, std::string_view& value);

  private:
    std::string_view d_;
    size_t pos_ = 8;
};

// A value as an error message may quote it: control characters escaped, at most 64 bytes.
std::string printableValue(std::string_view value);

Result<AttachRequest> decodeAttachRequest(std::string_view datagram);

// The rules for ids and names, exposed for tests: nothing that could leave a directory.
std::optional<std::string> checkContainerId(std::string_view id);
std::optional<std::string> checkContainerName(std::string_view name);

// The reply datagram.
std::string encodeReply(ringlog_status status, std::string_view message);

}  // namespace ringlog
