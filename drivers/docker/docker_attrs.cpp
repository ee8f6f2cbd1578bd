#include "drivers/docker/docker_attrs.h"

#include <regex>

namespace ringlog {

namespace {

std::vector<std::string> splitComma(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(',', start);
        if (end == std::string::npos)
            end = s.size();
        if (end > start)
            out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace

Result<std::string> expandTag(const std::string& tmpl, const ContainerInfo& info) {
    std::string out;
    size_t pos = 0;
    while (pos < tmpl.size()) {
        size_t open = tmpl.find("{{", pos);
        if (open == std::string::npos) {
            out += tmpl.substr(pos);
            break;
        }
        out += tmpl.substr(pos, open - pos);
        size_t close = tmpl.find("}}", open);
        if (close == std::string::npos)
            return invalid("log option \"tag\": unclosed {{ in \"" + tmpl + "\"");
        std::string field = tmpl.substr(open + 2, close - open - 2);
        while (!field.empty() && field.front() == ' ')
            field.erase(0, 1);
        while (!field.empty() && field.back() == ' ')
            field.pop_back();
        if (field == ".ID")
            out += info.shortId();
        else if (field == ".FullID")
            out += info.id;
        else if (field == ".Name")
            out += info.name;
        else if (field == ".ImageName")
            out += info.image;
        else if (field == ".DaemonName")
            out += "ringlogd";
        else
            return invalid("log option \"tag\": unsupported template field {{" + field + "}}");
        pos = close + 2;
    }
    return out;
}

Result<std::map<std::string, std::string>> extraAttributes(const ContainerInfo& info,
                                                           const OptionMap& o, KeyMod key_mod) {
    std::map<std::string, std::string> attrs;
    auto put = [&](const std::string& k, const std::string& v) {
        attrs[key_mod ? key_mod(k) : k] = v;
    };
    auto lookup = [](const KeyValues& kv, const std::string& key) -> const std::string* {
        for (const auto& [k, v] : kv)
            if (k == key)
                return &v;
        return nullptr;
    };
    auto addMatching = [&](const KeyValues& kv, const std::string& option) -> std::optional<Error> {
        const std::string& pattern = o.at(option);
        if (pattern.empty())
            return std::nullopt;
        try {
            std::regex re(pattern);
            for (const auto& [k, v] : kv)
                if (std::regex_search(k, re))
                    put(k, v);
        } catch (const std::regex_error& e) {
            return invalid("log option \"" + option + "\": bad regular expression: " + e.what());
        }
        return std::nullopt;
    };
    for (const auto& key : splitComma(o.at("labels")))
        if (const auto* v = lookup(info.labels, key))
            put(key, *v);
    if (auto e = addMatching(info.labels, "labels-regex"))
        return *e;
    for (const auto& key : splitComma(o.at("env")))
        if (const auto* v = lookup(info.env, key))
            put(key, *v);
    if (auto e = addMatching(info.env, "env-regex"))
        return *e;
    return attrs;
}

std::string sanitizeJournalKey(std::string_view key) {
    // Docker's journald key rule: upper-case letters, digits and '_', other characters become
    // '_', and no leading '_' (journald reserves those fields).
    std::string out;
    for (char c : key) {
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            c = '_';
        if (out.empty() && c == '_')
            continue;
        out.push_back(c);
    }
    return out;
}

}  // namespace ringlog
