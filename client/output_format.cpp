#include "client/output_format.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "client/cli.h"

namespace ringlogctl {

std::string humanDuration(int64_t us) {
    // go-units: seconds and minutes truncate; hours and the longer units round to the nearest.
    constexpr int64_t kHour = 3'600'000'000, kDay = 24 * kHour, kWeek = 7 * kDay,
                      kMonth = 30 * kDay, kYear = 365 * kDay;
    auto rounded = [us](int64_t unit) { return (us + unit / 2) / unit; };
    int64_t seconds = us / 1'000'000;
    if (seconds < 1)
        return "Less than a second";
    if (seconds == 1)
        return "1 second";
    if (seconds < 60)
        return std::to_string(seconds) + " seconds";
    int64_t minutes = seconds / 60;
    if (minutes == 1)
        return "About a minute";
    if (minutes < 60)
        return std::to_string(minutes) + " minutes";
    int64_t hours = rounded(kHour);
    if (hours == 1)
        return "About an hour";
    if (hours < 48)
        return std::to_string(hours) + " hours";
    if (us < 2 * kWeek)
        return std::to_string(rounded(kDay)) + " days";
    if (us < 2 * kMonth)
        return std::to_string(rounded(kWeek)) + " weeks";
    if (us < 2 * kYear)
        return std::to_string(rounded(kMonth)) + " months";
    return std::to_string(rounded(kYear)) + " years";
}

std::string bytesSize(double bytes) {
    static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    size_t i = 0;
    while (bytes >= 1024 && i + 1 < std::size(kUnits)) {
        bytes /= 1024;
        ++i;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g%s", bytes, kUnits[i]);
    return buf;
}

std::string rfc3339(uint64_t us) {
    if (us == 0)
        return "0001-01-01T00:00:00Z";
    time_t seconds = static_cast<time_t>(us / 1'000'000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    char date[32], buf[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf, sizeof buf, "%s.%06lluZ", date,
                  static_cast<unsigned long long>(us % 1'000'000));
    return buf;
}

uint64_t nowUs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

namespace {

size_t displayWidth(std::string_view s) {
    // UTF-8: count the bytes that start a character, as tabwriter counts runes.
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t end = s.find(sep, start);
        out.emplace_back(s.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos)
            return out;
        start = end + 1;
    }
}

}  // namespace

std::string alignColumns(const std::string& text) {
    constexpr size_t kMinWidth = 10, kPadding = 3;
    std::vector<std::vector<std::string>> rows;
    for (const std::string& line : split(text, '\n'))
        rows.push_back(split(line, '\t'));
    if (!rows.empty() && rows.back().size() == 1 && rows.back()[0].empty())
        rows.pop_back();  // after the last newline
    std::vector<size_t> widths;
    for (const auto& cells : rows)
        for (size_t i = 0; i + 1 < cells.size(); ++i) {
            if (widths.size() <= i)
                widths.resize(i + 1, kMinWidth);
            widths[i] = std::max(widths[i], displayWidth(cells[i]) + kPadding);
        }
    std::string out;
    for (const auto& cells : rows) {
        for (size_t i = 0; i < cells.size(); ++i) {
            out += cells[i];
            if (i + 1 < cells.size())
                out.append(widths[i] - displayWidth(cells[i]), ' ');
        }
        out += '\n';
    }
    return out;
}

std::string fieldText(const nlohmann::json& value) {
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_object()) {
        std::string out;
        for (const auto& [k, v] : value.items())
            out += (out.empty() ? "" : ",") + k + "=" + fieldText(v);
        return out;
    }
    if (value.is_null())
        return "";
    return value.dump();
}

Template::Template(std::string_view format, std::vector<Field> fields)
    : fields_(std::move(fields)) {
    if (format == "json") {
        json_ = true;
        return;
    }
    if (format.substr(0, 5) == "table") {
        table_ = true;
        format.remove_prefix(5);
        if (!format.empty() && format[0] == ' ')
            format.remove_prefix(1);
    }
    auto known = [&](const std::string& name) {
        return std::any_of(fields_.begin(), fields_.end(),
                           [&](const Field& f) { return f.name == name; });
    };
    auto unknown = [&](const std::string& name) {
        std::string list;
        for (const Field& f : fields_)
            list += (list.empty() ? "" : ", ") + f.name;
        return CommandError(kExitUsage,
                            "--format: unknown field \"" + name + "\" (known: " + list + ")");
    };
    std::string text;
    auto flushText = [&] {
        if (!text.empty())
            parts_.push_back({Part::kText, std::move(text), {}});
        text.clear();
    };
    size_t i = 0;
    while (i < format.size()) {
        if (format.compare(i, 2, "\\t") == 0 || format.compare(i, 2, "\\n") == 0) {
            text += format[i + 1] == 't' ? '\t' : '\n';
            i += 2;
            continue;
        }
        if (format.compare(i, 2, "{{") != 0) {
            text += format[i++];
            continue;
        }
        size_t end = format.find("}}", i + 2);
        if (end == std::string_view::npos)
            throw CommandError(kExitUsage, "--format: unclosed action (a \"{{\" without \"}}\")");
        std::string action(format.substr(i + 2, end - i - 2));
        i = end + 2;
        std::istringstream words(action);
        std::vector<std::string> w;
        for (std::string word; words >> word;)
            w.push_back(word);
        flushText();
        if (w.size() == 2 && w[0] == "json" && w[1] == ".") {
            parts_.push_back({Part::kJsonDot, {}, {}});
        } else if (w.size() == 1 && w[0].size() > 1 && w[0][0] == '.') {
            std::string name = w[0].substr(1);
            if (!known(name))
                throw unknown(name);
            parts_.push_back({Part::kField, name, {}});
        } else if (w.size() == 2 && w[0] == "json" && w[1].size() > 1 && w[1][0] == '.') {
            std::string name = w[1].substr(1);
            if (!known(name))
                throw unknown(name);
            parts_.push_back({Part::kJsonField, name, {}});
        } else if (w.size() == 2 && w[0] == ".Label" && known("Label") && w[1].size() >= 2 &&
                   w[1].front() == '"' && w[1].back() == '"') {
            parts_.push_back({Part::kLabel, "Labels", w[1].substr(1, w[1].size() - 2)});
        } else if (!w.empty() && w[0].size() > 1 && w[0][0] == '.' && !known(w[0].substr(1))) {
            throw unknown(w[0].substr(1));
        } else {
            throw CommandError(kExitUsage,
                               "--format: \"{{" + action +
                                   "}}\" is not understood: ringlogctl knows {{.Field}}, "
                                   "{{.Label \"key\"}}, {{json .Field}} and {{json .}}");
        }
    }
    flushText();
}

std::string Template::render(const nlohmann::json& object) const {
    if (json_)
        return object.dump();
    std::string out;
    for (const Part& p : parts_) {
        switch (p.kind) {
            case Part::kText:
                out += p.text;
                break;
            case Part::kField:
                out += fieldText(object.value(p.text, nlohmann::json()));
                break;
            case Part::kLabel: {
                const nlohmann::json labels = object.value("Labels", nlohmann::json::object());
                out += labels.is_object() ? labels.value(p.arg, std::string()) : std::string();
                break;
            }
            case Part::kJsonField:
                out += object.value(p.text, nlohmann::json()).dump();
                break;
            case Part::kJsonDot:
                out += object.dump();
                break;
        }
    }
    return out;
}

std::string Template::header() const {
    std::string out;
    for (const Part& p : parts_) {
        if (p.kind == Part::kText) {
            out += p.text;
            continue;
        }
        if (p.kind == Part::kLabel) {
            out += "LABEL";
            continue;
        }
        if (p.kind == Part::kJsonDot)
            continue;
        for (const Field& f : fields_)
            if (f.name == p.text)
                out += f.header;
    }
    return out;
}

std::string Template::renderAll(const std::vector<nlohmann::json>& objects) const {
    std::string out;
    if (table_)
        out += header() + "\n";
    for (const auto& o : objects)
        out += render(o) + "\n";
    return table_ ? alignColumns(out) : out;
}

}  // namespace ringlogctl
