// The one table of log drivers. A new driver adds its folder and one line here.
#include <array>
#include <exception>

#include "drivers/registry.h"

#include "drivers/journald/journald_driver.h"
#include "drivers/json_file/json_file_driver.h"
#include "drivers/k8s_file/k8s_file_driver.h"
#include "drivers/log_driver.h"
#include "drivers/none/none_driver.h"
#include "drivers/syslog/syslog_driver.h"
#include "service/base/units.h"

namespace ringlog {

namespace {

const std::array kDrivers = {
    DriverDescriptor{"json-file", JsonFileDriver::kOptions, &JsonFileDriver::create,
                     &JsonFileDriver::openReader},
    DriverDescriptor{"journald", JournaldDriver::kOptions, &JournaldDriver::create,
                     &JournaldDriver::openReader, 4096},
    DriverDescriptor{"k8s-file", K8sFileDriver::kOptions, &K8sFileDriver::create,
                     &K8sFileDriver::openReader},
    DriverDescriptor{"none", NoneDriver::kOptions, &NoneDriver::create, nullptr},
    DriverDescriptor{"syslog", SyslogDriver::kOptions, &SyslogDriver::create, nullptr},
};

std::string typeName(OptionType t) {
    switch (t) {
        case OptionType::kSize:
            return "a size such as 10m";
        case OptionType::kDecimalSize:
            return "a size such as 10m, 1.5m or 500k (decimal, as docker's json-file reads it: "
                   "1m is 1000000 bytes), or -1";
        case OptionType::kInteger:
            return "a non-negative integer";
        case OptionType::kBool:
            return "true or false";
        case OptionType::kString:
            return "a string";
    }
    return "?";
}

bool valueFits(OptionType t, const std::string& v) {
    switch (t) {
        case OptionType::kSize:
            return v == "-1" || parseSize(v).has_value();
        case OptionType::kDecimalSize:
            return v == "-1" || parseDecimalSize(v).has_value();
        case OptionType::kInteger:
            return parseInteger(v).has_value();
        case OptionType::kBool:
            return parseBool(v).has_value();
        case OptionType::kString:
            return true;
    }
    return false;
}

}  // namespace

std::span<const DriverDescriptor> allDrivers() {
    return kDrivers;
}

const DriverDescriptor* findDriver(std::string_view name) {
    for (const auto& d : kDrivers)
        if (d.name == name)
            return &d;
    return nullptr;
}

Result<OptionMap> validateOptions(const DriverDescriptor& driver,
                                  std::span<const OptionSpec> common, const KeyValues& given) {
    OptionMap out;
    auto find = [&](std::string_view key) -> const OptionSpec* {
        for (const auto& o : driver.options)
            if (o.key == key)
                return &o;
        for (const auto& o : common)
            if (o.key == key)
                return &o;
        return nullptr;
    };
    for (const auto& [key, value] : given) {
        const OptionSpec* spec = find(key);
        if (spec == nullptr) {
            std::string known;
            for (const auto& o : driver.options)
                known += (known.empty() ? "" : ", ") + std::string(o.key);
            for (const auto& o : common)
                known += (known.empty() ? "" : ", ") + std::string(o.key);
            return invalid("unknown log option \"" + key + "\" for driver " +
                           std::string(driver.name) + " (known: " + known + ")");
        }
        if (out.count(key) != 0)
            return invalid("log option \"" + key + "\" is given twice");
        if (!valueFits(spec->type, value))
            return invalid("log option \"" + key + "\": \"" + value + "\" is not " +
                           typeName(spec->type));
        out.emplace(key, value);
    }
    for (const auto& o : driver.options)
        if (out.count(o.key) == 0)
            out.emplace(std::string(o.key), std::string(o.default_value));
    return out;
}

WriteResult LogDriver::write(std::span<const RecordView> records,
                             const DropCount& dropped_before) noexcept {
    WriteResult result;
    try {
        result = doWrite(records, dropped_before);
    } catch (const std::exception& e) {
        result = {WriteStatus::kRetry, 0, std::string("driver error: ") + e.what()};
    }
    if (result.status == WriteStatus::kOk)
        result.records_done = records.size();
    records_written_ += result.records_done;
    return result;
}

void LogDriver::close() noexcept {
    if (std::exchange(closed_, true))
        return;
    try {
        doClose();
    } catch (...) {
        // Nothing is left to persist at close; a failure to release is not the user's problem.
    }
}

}  // namespace ringlog
