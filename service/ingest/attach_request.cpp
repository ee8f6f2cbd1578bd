#include "service/ingest/attach_request.h"

#include <cstring>

namespace ringlog {

namespace {

uint16_t u16(const char* p) {
    return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) |
                                 (static_cast<unsigned char>(p[1]) << 8));
}

uint32_t u32(const char* p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

bool hasControl(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f)
            return true;
    return false;
}

std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s.substr(0, 64)) {
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            char buf[8];
            snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return s.size() > 64 ? out + "…" : out;
}

Error bad(std::string message) {
    return Error{RINGLOG_STATUS_BAD_REQUEST, std::move(message)};
}

std::optional<std::string> splitPair(std::string_view field, std::string_view value, KeyValues& out,
                                     bool allow_empty_value) {
    size_t eq = value.find('=');
    if (eq == std::string_view::npos || eq == 0)
        return std::string(field) + " \"" + printable(value) + "\" is not key=value";
    std::string_view key = value.substr(0, eq), val = value.substr(eq + 1);
    if (key.size() > AttachLimits::kMaxKeyBytes)
        return std::string(field) + " key is longer than 256 bytes";
    if (val.size() > AttachLimits::kMaxValueBytes)
        return std::string(field) + " \"" + printable(key) +
               "\" has a value longer than 4096 bytes";
    if (hasControl(key))
        return std::string(field) + " key \"" + printable(key) + "\" has control characters";
    if (!allow_empty_value && val.empty())
        return std::string(field) + " \"" + printable(key) + "\" has an empty value";
    if (out.size() >= AttachLimits::kMaxPairs)
        return "more than 256 " + std::string(field) + " entries";
    out.emplace_back(std::string(key), std::string(val));
    return std::nullopt;
}

}  // namespace

std::optional<std::string> checkContainerId(std::string_view id) {
    if (id.empty())
        return "container id is empty";
    if (id.size() > AttachLimits::kMaxIdBytes)
        return "container id is longer than 128 bytes";
    // Ids name directories: letters, digits, '_', '-', '.', not starting with '.'.
    for (unsigned char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return "container id \"" + printable(id) +
                   "\" has a character other than letters, digits, '_', '-', '.'";
    }
    if (id.front() == '.')
        return "container id \"" + printable(id) + "\" starts with '.'";
    return std::nullopt;
}

std::optional<std::string> checkContainerName(std::string_view name) {
    if (name.size() > AttachLimits::kMaxNameBytes)
        return "container name is longer than 128 bytes";
    if (name.find('\0') != std::string_view::npos || hasControl(name))
        return "container name \"" + printable(name) + "\" has control characters";
    if (name.find('/') != std::string_view::npos)
        return "container name \"" + printable(name) + "\" contains '/'";
    if (name.find("..") != std::string_view::npos)
        return "container name \"" + printable(name) + "\" contains '..'";
    return std::nullopt;
}

// RINGLOG_FIELD_LOG_DIR and RINGLOG_FIELD_LOG_GLOB: checked here for their form; the daemon
// checks a directory against its roots.
static std::optional<std::string> takeLogFilesField(uint16_t tag, std::string_view value,
                                                    AttachRequest& req) {
    if (value.empty() || value.size() > AttachLimits::kMaxValueBytes || hasControl(value) ||
        value.find('\0') != std::string_view::npos)
        return std::string(tag == RINGLOG_FIELD_LOG_DIR ? "log directory" : "log glob") + " \"" +
               printable(value) + "\" is empty, too long or has control characters";
    if (tag == RINGLOG_FIELD_LOG_GLOB) {
        if (req.log_glob)
            return "log glob is given twice";
        if (value.find('/') != std::string_view::npos)
            return "log glob \"" + printable(value) + "\" has a '/': it matches file names";
        req.log_glob = std::string(value);
        return std::nullopt;
    }
    if (value[0] != '/')
        return "log directory \"" + printable(value) + "\" is not an absolute path";
    if (req.log_dirs.size() == AttachLimits::kMaxLogDirs)
        return "more than " + std::to_string(AttachLimits::kMaxLogDirs) + " log directories";
    req.log_dirs.emplace_back(value);
    return std::nullopt;
}

Result<RequestHeader> decodeRequestHeader(std::string_view d) {
    if (d.size() < 8)
        return bad("request is " + std::to_string(d.size()) +
                   " bytes, shorter than the 8-byte header");
    if (u32(d.data()) != RINGLOG_REQUEST_MAGIC)
        return bad("not a ringlogd request (bad magic)");
    RequestHeader h{u16(d.data() + 4), u16(d.data() + 6)};
    if (h.version < RINGLOG_PROTOCOL_MIN_VERSION || h.version > RINGLOG_PROTOCOL_VERSION)
        return Error{RINGLOG_STATUS_UNSUPPORTED,
                     "protocol version " + std::to_string(h.version) +
                         " is not supported (this ringlogd speaks versions " +
                         std::to_string(RINGLOG_PROTOCOL_MIN_VERSION) + " to " +
                         std::to_string(RINGLOG_PROTOCOL_VERSION) + ")"};
    if (h.type == RINGLOG_MSG_PUSH && h.version < 2)
        return Error{RINGLOG_STATUS_UNSUPPORTED,
                     "message type 2 (push) needs protocol version 2, the request is of version " +
                         std::to_string(h.version)};
    if (h.type != RINGLOG_MSG_ATTACH && h.type != RINGLOG_MSG_PUSH)
        return Error{RINGLOG_STATUS_UNSUPPORTED,
                     "message type " + std::to_string(h.type) + " is not supported"};
    return h;
}

Result<bool> RequestFields::next(uint16_t& tag, std::string_view& value) {
    if (pos_ >= d_.size())
        return false;
    if (d_.size() - pos_ < 8)
        return bad("truncated field header at byte " + std::to_string(pos_));
    tag = u16(d_.data() + pos_);
    uint32_t len = u32(d_.data() + pos_ + 4);
    if (u16(d_.data() + pos_ + 2) != 0)
        return bad("field at byte " + std::to_string(pos_) + " has non-zero reserved bits");
    if (len > d_.size() - pos_ - 8)
        return bad("field at byte " + std::to_string(pos_) + " runs past the end of the request");
    value = d_.substr(pos_ + 8, len);
    pos_ += 8 + len;
    return true;
}

std::string printableValue(std::string_view value) {
    return printable(value);
}

Result<AttachRequest> decodeAttachRequest(std::string_view d) {
    auto header = decodeRequestHeader(d);
    if (!header)
        return header.error();
    uint16_t version = header->version;
    if (header->type != RINGLOG_MSG_ATTACH)
        return Error{RINGLOG_STATUS_UNSUPPORTED,
                     "message type " + std::to_string(header->type) + " is not an attach"};

    AttachRequest req;
    req.version = version;
    bool have_id = false, have_name = false, have_image = false, have_driver = false,
         have_push_only = false;
    size_t log_opt_count = 0;
    RequestFields fields(d);
    uint16_t tag = 0;
    std::string_view value;
    for (;;) {
        auto more = fields.next(tag, value);
        if (!more)
            return more.error();
        if (!*more)
            break;
        // Fields of a later version than the request's are unknown to it.
        if (version < 2 && tag >= RINGLOG_FIELD_PUSH_ONLY && tag <= RINGLOG_FIELD_LOG_GLOB)
            return bad("unknown field tag " + std::to_string(tag) + " in a version " +
                       std::to_string(version) + " request (it is of version 2)");
        auto once = [&](bool& seen, const char* what) -> std::optional<Error> {
            if (seen)
                return bad(std::string(what) + " is given twice");
            seen = true;
            return std::nullopt;
        };
        std::optional<std::string> problem;
        switch (tag) {
            case RINGLOG_FIELD_ID:
                if (auto e = once(have_id, "container id"))
                    return *e;
                problem = checkContainerId(value);
                req.info.id = value;
                break;
            case RINGLOG_FIELD_NAME:
                if (auto e = once(have_name, "container name"))
                    return *e;
                problem = checkContainerName(value);
                req.info.name = value;
                break;
            case RINGLOG_FIELD_IMAGE:
                if (auto e = once(have_image, "image"))
                    return *e;
                if (value.size() > AttachLimits::kMaxImageBytes)
                    problem = "image name is longer than 1024 bytes";
                else if (hasControl(value))
                    problem = "image name has control characters";
                req.info.image = value;
                break;
            case RINGLOG_FIELD_LABEL:
                problem = splitPair("label", value, req.info.labels, true);
                break;
            case RINGLOG_FIELD_ENV:
                problem = splitPair("env", value, req.info.env, true);
                break;
            case RINGLOG_FIELD_LOG_OPT:
                // Options belong to the driver named before them (the first, before any).
                if (++log_opt_count > AttachLimits::kMaxPairs)
                    return invalid("more than 256 log options");
                problem = splitPair("log option", value, req.drivers.back().log_opts, true);
                break;
            case RINGLOG_FIELD_DRIVER:
                if (value.empty() || value.size() > 64 || hasControl(value)) {
                    problem = "driver name \"" + printable(value) + "\" is not valid";
                    break;
                }
                for (const auto& earlier : req.drivers)
                    if (earlier.name == value)
                        return invalid("log driver \"" + std::string(value) + "\" is given twice");
                if (have_driver) {
                    if (req.drivers.size() == AttachLimits::kMaxDrivers)
                        return invalid("more than 4 log drivers");
                    req.drivers.emplace_back();
                }
                have_driver = true;
                req.drivers.back().name = value;
                break;
            case RINGLOG_FIELD_MODE:
                if (req.mode)
                    return bad("mode is given twice");
                req.mode = std::string(value);
                break;
            case RINGLOG_FIELD_MAX_BUFFER_SIZE:
                if (req.max_buffer_size)
                    return bad("max-buffer-size is given twice");
                req.max_buffer_size = std::string(value);
                break;
            case RINGLOG_FIELD_LOG_DIR:
            case RINGLOG_FIELD_LOG_GLOB:
                problem = takeLogFilesField(tag, value, req);
                break;
            case RINGLOG_FIELD_PUSH_ONLY:
                if (auto e = once(have_push_only, "push-only"))
                    return *e;
                if (value.empty() || value == "true")
                    req.push_only = true;
                else if (value != "false")
                    problem = "push-only \"" + printable(value) + "\" is not true or false";
                break;
            default:
                return bad("unknown field tag " + std::to_string(tag));
        }
        if (problem)
            return invalid(*problem);
    }
    if (!have_id)
        return invalid("container id is missing");
    return req;
}

std::string encodeReply(ringlog_status status, std::string_view message) {
    std::string out(8, '\0');
    uint32_t magic = RINGLOG_REPLY_MAGIC;
    for (int i = 0; i < 4; ++i)
        out[i] = static_cast<char>((magic >> (8 * i)) & 0xff);
    out[4] = static_cast<char>(RINGLOG_PROTOCOL_VERSION & 0xff);
    out[5] = static_cast<char>(RINGLOG_PROTOCOL_VERSION >> 8);
    out[6] = static_cast<char>(static_cast<unsigned>(status) & 0xff);
    out[7] = static_cast<char>(static_cast<unsigned>(status) >> 8);
    out.append(message.substr(0, RINGLOG_MAX_REPLY_BYTES - 8));
    return out;
}

}  // namespace ringlog
