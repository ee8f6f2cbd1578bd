// The attach request: the input is one datagram as the ingest socket hands it to Daemon::attach,
// decoded by decodeAttachRequest (service/ingest/attach_request.h); what decodes then has each
// driver's options validated as planAttach does (validateOptions with the daemon's common options).
//
// Invariants: a decoded request keeps every limit and rule the decoder promises, and it re-encodes
// through the client library's encoder (ringlog_attach_encode, what engines send) into a request
// that decodes to the same thing. Requests the C API cannot express are not re-encoded: a string
// holding a NUL, and a log option named log-driver, log-dir, log-glob or push-only (the client
// sends such an entry as a field of its own).
#include <cstdint>
#include <string>
#include <vector>

#include "drivers/registry.h"
#include "ringlog/client.h"
#include "service/daemon/daemon_internal.h"
#include "service/ingest/attach_request.h"
#include "tests/fuzz/fuzz_support.h"

namespace ringlog {
namespace {

bool hasControl(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f)
            return true;
    return false;
}

void checkPairs(const KeyValues& pairs) {
    FUZZ_CHECK(pairs.size() <= AttachLimits::kMaxPairs);
    for (const auto& [key, value] : pairs) {
        FUZZ_CHECK(!key.empty() && key.size() <= AttachLimits::kMaxKeyBytes && !hasControl(key));
        FUZZ_CHECK(key.find('=') == std::string::npos);
        FUZZ_CHECK(value.size() <= AttachLimits::kMaxValueBytes);
    }
}

void checkLimits(const AttachRequest& req) {
    FUZZ_CHECK(req.version >= RINGLOG_PROTOCOL_MIN_VERSION &&
               req.version <= RINGLOG_PROTOCOL_VERSION);
    FUZZ_CHECK(!checkContainerId(req.info.id));
    FUZZ_CHECK(!checkContainerName(req.info.name));
    FUZZ_CHECK(req.info.image.size() <= AttachLimits::kMaxImageBytes &&
               !hasControl(req.info.image));
    checkPairs(req.info.labels);
    checkPairs(req.info.env);
    FUZZ_CHECK(!req.drivers.empty() && req.drivers.size() <= AttachLimits::kMaxDrivers);
    size_t options = 0;
    for (size_t i = 0; i < req.drivers.size(); ++i) {
        const auto& d = req.drivers[i];
        FUZZ_CHECK(d.name.size() <= 64 && !hasControl(d.name));
        FUZZ_CHECK(!d.name.empty() || req.drivers.size() == 1);
        for (size_t j = 0; j < i; ++j)
            FUZZ_CHECK(req.drivers[j].name != d.name);
        checkPairs(d.log_opts);
        options += d.log_opts.size();
    }
    FUZZ_CHECK(options <= AttachLimits::kMaxPairs);
    FUZZ_CHECK(req.log_dirs.size() <= AttachLimits::kMaxLogDirs);
    for (const auto& dir : req.log_dirs)
        FUZZ_CHECK(!dir.empty() && dir[0] == '/' && !hasControl(dir));
    if (req.log_glob)
        FUZZ_CHECK(!req.log_glob->empty() && req.log_glob->find('/') == std::string::npos);
    if (req.version < 2)
        FUZZ_CHECK(!req.push_only && req.log_dirs.empty() && !req.log_glob);
}

bool expressibleInC(const AttachRequest& req) {
    auto plain = [](const std::string& s) { return s.find('\0') == std::string::npos; };
    auto plainPairs = [&](const KeyValues& kv) {
        for (const auto& [k, v] : kv)
            if (!plain(k) || !plain(v))
                return false;
        return true;
    };
    if (!plain(req.info.name) || !plain(req.info.image) || !plainPairs(req.info.labels) ||
        !plainPairs(req.info.env) || (req.mode && !plain(*req.mode)) ||
        (req.max_buffer_size && !plain(*req.max_buffer_size)))
        return false;
    for (const auto& d : req.drivers) {
        if (!plainPairs(d.log_opts))
            return false;
        for (const auto& [key, value] : d.log_opts)
            if (key == "log-driver" || key == "log-dir" || key == "log-glob" || key == "push-only")
                return false;
    }
    return true;
}

// Through ringlog_attach_encode, as an engine would send it.
std::string reencode(const AttachRequest& req) {
    std::vector<std::string> strings;  // the entries' text; the pointers below point into it
    strings.reserve(1024);
    auto list = [&](const KeyValues& kv, std::vector<const char*>& out) {
        for (const auto& [k, v] : kv) {
            strings.push_back(k + "=" + v);
            out.push_back(strings.back().c_str());
        }
    };
    std::vector<const char*> labels, env, log_opts;
    list(req.info.labels, labels);
    list(req.info.env, env);
    for (size_t i = 0; i < req.drivers.size(); ++i) {
        if (i > 0) {
            strings.push_back("log-driver=" + req.drivers[i].name);
            log_opts.push_back(strings.back().c_str());
        }
        list(req.drivers[i].log_opts, log_opts);
    }
    for (const auto& dir : req.log_dirs) {
        strings.push_back("log-dir=" + dir);
        log_opts.push_back(strings.back().c_str());
    }
    if (req.log_glob) {
        strings.push_back("log-glob=" + *req.log_glob);
        log_opts.push_back(strings.back().c_str());
    }
    if (req.push_only) {
        strings.push_back("push-only=true");
        log_opts.push_back(strings.back().c_str());
    }
    labels.push_back(nullptr);
    env.push_back(nullptr);
    log_opts.push_back(nullptr);

    struct ringlog_attach a;
    ringlog_attach_init(&a);
    a.id = req.info.id.c_str();
    a.name = req.info.name.c_str();
    a.image = req.info.image.c_str();
    a.labels = labels.data();
    a.env = env.data();
    a.driver = req.drivers[0].name.empty() ? nullptr : req.drivers[0].name.c_str();
    a.log_opts = log_opts.data();
    a.mode = req.mode ? req.mode->c_str() : nullptr;
    a.max_buffer_size = req.max_buffer_size ? req.max_buffer_size->c_str() : nullptr;
    std::string out(2 * RINGLOG_MAX_REQUEST_BYTES, '\0');
    long n = ringlog_attach_encode(&a, reinterpret_cast<unsigned char*>(out.data()), out.size());
    FUZZ_CHECK(n > 0);
    out.resize(static_cast<size_t>(n));
    return out;
}

bool same(const AttachRequest& a, const AttachRequest& b) {
    if (a.info.id != b.info.id || a.info.name != b.info.name || a.info.image != b.info.image ||
        a.info.labels != b.info.labels || a.info.env != b.info.env || a.mode != b.mode ||
        a.max_buffer_size != b.max_buffer_size || a.push_only != b.push_only ||
        a.log_dirs != b.log_dirs || a.log_glob != b.log_glob ||
        a.drivers.size() != b.drivers.size())
        return false;
    for (size_t i = 0; i < a.drivers.size(); ++i)
        if (a.drivers[i].name != b.drivers[i].name ||
            a.drivers[i].log_opts != b.drivers[i].log_opts)
            return false;
    return true;
}

}  // namespace
}  // namespace ringlog

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ringlog;
    if (size > RINGLOG_MAX_REQUEST_BYTES)
        return -1;  // the socket never hands over more (docs/protocol.md)
    std::string_view datagram(reinterpret_cast<const char*>(data), size);
    auto req = decodeAttachRequest(datagram);
    if (!req) {
        FUZZ_CHECK(req.error().status != RINGLOG_STATUS_OK && !req.error().message.empty());
        return 0;
    }
    checkLimits(*req);

    if (expressibleInC(*req)) {
        std::string again = reencode(*req);
        auto decoded = decodeAttachRequest(again);
        if (!decoded)
            std::fprintf(stderr, "the re-encoded request is refused: %s\n",
                         decoded.error().message.c_str());
        FUZZ_CHECK(decoded.ok());
        FUZZ_CHECK(same(*req, *decoded));
    }

    // What planAttach does next with each driver's options.
    for (const auto& wanted : req->drivers) {
        const DriverDescriptor* d = findDriver(wanted.name.empty() ? "json-file" : wanted.name);
        if (d == nullptr)
            continue;
        auto options = validateOptions(*d, kCommonOptions, wanted.log_opts);
        if (!options)
            continue;
        for (const auto& [key, value] : wanted.log_opts) {
            auto it = options->find(key);
            FUZZ_CHECK(it != options->end() && it->second == value);
        }
        for (const auto& spec : d->options)
            FUZZ_CHECK(options->count(spec.key) == 1);
    }
    if (req->max_buffer_size)
        (void)parseSize(*req->max_buffer_size);
    return 0;
}
