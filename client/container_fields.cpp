#include "client/container_fields.h"

#include <cstdlib>
#include <map>
#include <vector>

#include "client/output_format.h"

namespace ringlogctl {

nlohmann::json inspectJson(const Dict& c) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : c) {
        if (key == "AttachedAt" || key == "ExitedAt" || key == "LastErrorAt")
            out[key] = rfc3339(dictValue<uint64_t>(c, key));
        else if (value.containsValueOfType<std::string>())
            out[key] = value.get<std::string>();
        else if (value.containsValueOfType<sdbus::ObjectPath>())
            out[key] = std::string(value.get<sdbus::ObjectPath>());
        else if (value.containsValueOfType<uint64_t>())
            out[key] = value.get<uint64_t>();
        else if (value.containsValueOfType<uint32_t>())
            out[key] = value.get<uint32_t>();
        else if (value.containsValueOfType<int64_t>())
            out[key] = value.get<int64_t>();
        else if (value.containsValueOfType<bool>())
            out[key] = value.get<bool>();
        else if (value.containsValueOfType<std::map<std::string, std::string>>())
            out[key] = value.get<std::map<std::string, std::string>>();
        else if (value.containsValueOfType<std::vector<std::string>>())
            out[key] = value.get<std::vector<std::string>>();
        else
            out[key] = nullptr;  // a type this client does not know yet
    }
    return out;
}

std::string statusText(const Dict& c, uint64_t now_us) {
    auto since = [now_us](uint64_t t) {
        return humanDuration(now_us > t ? static_cast<int64_t>(now_us - t) : 0);
    };
    std::string state = dictValue<std::string>(c, "State");
    if (state == "exited")
        return "Exited " + since(dictValue<uint64_t>(c, "ExitedAt")) + " ago";
    std::string up = "Up " + since(dictValue<uint64_t>(c, "AttachedAt"));
    return state == "degraded" ? up + " (degraded)" : up;
}

uint64_t listingNowUs() {
    if (const char* now = std::getenv("RINGLOGCTL_NOW"); now != nullptr && *now != '\0')
        return std::strtoull(now, nullptr, 10);
    return nowUs();
}

}  // namespace ringlogctl
