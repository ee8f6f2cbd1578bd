// How ringlogctl's listing commands (ps, inspect, stats, version) print: docker's wording of
// durations and sizes (moby/go-units), docker's tables (text/tabwriter as docker's formatter sets
// it up) and a small --format engine for docker's Go-template names.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ringlogctl {

// go-units' HumanDuration: "Less than a second", "1 second", "N seconds", "About a minute",
// "N minutes", "About an hour", "N hours", "N days", "N weeks", "N months", "N years".
std::string humanDuration(int64_t microseconds);

// go-units' BytesSize ("%.4g" and binary units): 0B, 512B, 1.5KiB, 1MiB.
std::string bytesSize(double bytes);

// Microseconds since the epoch as RFC 3339 in UTC with microseconds
// (2026-11-30T13:20:01.123456Z); 0 as Go's zero time, 0001-01-01T00:00:00Z, as docker inspect.
std::string rfc3339(uint64_t microseconds);

// Microseconds since the epoch, now.
uint64_t nowUs();

// Lines of tab-separated cells aligned as docker's tables: text/tabwriter with minwidth 10,
// padding 3, blanks; the last cell of a line is not padded.
std::string alignColumns(const std::string& text);

// docker's --format for one kind of object. Not Go's text/template (Debian has no C++ one): a
// hand-written substitution of what docker's users write: {{.Field}}, {{.Label "key"}},
// {{json .Field}}, {{json .}}, and the escapes \t and \n; "table " first adds a header and aligns
// the columns; "json" alone is one JSON object per line.
class Template {
  public:
    // The fields an object has, each with its table header (docker's: ID is "CONTAINER ID").
    struct Field {
        std::string name;
        std::string header;
    };
    // Throws CommandError(kExitUsage) for a field that is not in `fields`, naming the known ones,
    // and for a syntax it does not know.
    Template(std::string_view format, std::vector<Field> fields);

    bool isTable() const { return table_; }
    bool isJson() const { return json_; }
    // One object: `object` holds the fields' values (strings, numbers, objects of strings).
    std::string render(const nlohmann::json& object) const;
    // The header line (table only).
    std::string header() const;
    // The objects rendered, with the header and aligned when a table, one per line.
    std::string renderAll(const std::vector<nlohmann::json>& objects) const;

  private:
    struct Part {
        enum Kind { kText, kField, kLabel, kJsonField, kJsonDot } kind;
        std::string text;  // kText: the text; otherwise the field's name
        std::string arg;   // kLabel: the key
    };
    std::vector<Field> fields_;
    std::vector<Part> parts_;
    bool table_ = false;
    bool json_ = false;
};

// A field's value as a template prints it: strings as they are, numbers in decimal, objects as
// KEY=VALUE joined by commas in key order (docker ps's .Labels).
std::string fieldText(const nlohmann::json& value);

}  // namespace ringlogctl
