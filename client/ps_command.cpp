#include "client/ps_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "client/container_fields.h"
#include "client/daemon_calls.h"
#include "client/output_format.h"

namespace ringlogctl {

namespace {

struct PsOptions {
    bool all = false;
    bool quiet = false;
    bool no_trunc = false;
    std::string format;
};

const char* const kDefaultFormat =
    "table {{.ID}}\t{{.Image}}\t{{.Driver}}\t{{.Mode}}\t{{.Status}}\t{{.Names}}";

// docker's names and headers first, then ours.
std::vector<Template::Field> psFields() {
    return {{"ID", "CONTAINER ID"},
            {"Image", "IMAGE"},
            {"Status", "STATUS"},
            {"State", "STATE"},
            {"Names", "NAMES"},
            {"Labels", "LABELS"},
            {"Label", "LABEL"},
            {"RunningFor", "CREATED"},
            {"CreatedAt", "CREATED AT"},
            {"Driver", "DRIVER"},
            {"Mode", "MODE"},
            {"LinesIn", "LINES IN"},
            {"BytesIn", "BYTES IN"},
            {"LinesDropped", "LINES DROPPED"},
            {"BytesDropped", "BYTES DROPPED"},
            {"LinesWritten", "LINES WRITTEN"},
            {"WriteFailures", "WRITE FAILURES"}};
}

nlohmann::json psRow(const Dict& c, bool no_trunc, uint64_t now) {
    std::string id = dictValue<std::string>(c, "Id");
    uint64_t attached = dictValue<uint64_t>(c, "AttachedAt");
    nlohmann::json row;
    row["ID"] = no_trunc ? id : shortId(id);
    row["Image"] = dictValue<std::string>(c, "Image");
    row["Status"] = statusText(c, now);
    row["State"] = dictValue<std::string>(c, "State");
    row["Names"] = dictValue<std::string>(c, "Name");
    row["Labels"] = dictValue<std::map<std::string, std::string>>(c, "Labels");
    row["RunningFor"] =
        humanDuration(now > attached ? static_cast<int64_t>(now - attached) : 0) + " ago";
    row["CreatedAt"] = rfc3339(attached);
    row["Driver"] = dictValue<std::string>(c, "Driver");
    row["Mode"] = dictValue<std::string>(c, "Mode");
    for (const char* counter :
         {"LinesIn", "BytesIn", "LinesDropped", "BytesDropped", "LinesWritten", "WriteFailures"})
        row[counter] = dictValue<uint64_t>(c, counter);
    return row;
}

// `docker ps --format json`: every field, each a string.
nlohmann::json jsonRow(const nlohmann::json& row) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : row.items())
        out[key] = fieldText(value);
    return out;
}

void runPs(const PsOptions& o) {
    // The format is checked before ringlogd is asked anything: a typo is a usage error.
    Template tmpl(o.format.empty() ? kDefaultFormat : o.format, psFields());
    auto bus = connectSystemBus();
    std::vector<Dict> containers;
    try {
        DaemonCalls daemon(*bus);
        for (const ContainerEntry& e : daemon.listContainers()) {
            if (!o.all && e.state == "exited")
                continue;
            try {
                containers.push_back(daemon.inspect(e.id));
            } catch (const sdbus::Error& err) {
                if (err.getName() != "org.ringlog.Log1.NoSuchContainer")
                    throw;  // gone since the listing: not listed
            }
        }
    } catch (const sdbus::Error& e) {
        throwBusError(e);
    }
    // Newest first, as docker ps.
    std::stable_sort(containers.begin(), containers.end(), [](const Dict& a, const Dict& b) {
        return dictValue<uint64_t>(a, "AttachedAt") > dictValue<uint64_t>(b, "AttachedAt");
    });
    if (o.quiet) {
        for (const Dict& c : containers) {
            std::string id = dictValue<std::string>(c, "Id");
            std::printf("%s\n", (o.no_trunc ? id : shortId(id)).c_str());
        }
        return;
    }
    uint64_t now = listingNowUs();
    std::vector<nlohmann::json> rows;
    for (const Dict& c : containers) {
        nlohmann::json row = psRow(c, o.no_trunc, now);
        rows.push_back(tmpl.isJson() ? jsonRow(row) : row);
    }
    std::fputs(tmpl.renderAll(rows).c_str(), stdout);
}

}  // namespace

void addPsCommand(CLI::App& app, const GlobalOptions&) {
    auto o = std::make_shared<PsOptions>();
    CLI::App* sub = app.add_subcommand(
        "ps", "List the containers you may read (running ones; -a: exited ones too)");
    sub->add_flag("-a,--all", o->all, "Show exited containers too");
    sub->add_flag("-q,--quiet", o->quiet, "Only the ids");
    sub->add_flag("--no-trunc", o->no_trunc, "Full ids");
    sub->add_option("--format", o->format,
                    "Go-template names ({{.ID}}\\t{{.Names}}), 'table TEMPLATE' or 'json'")
        ->type_name("FORMAT");
    sub->callback([o] { runPs(*o); });
}

}  // namespace ringlogctl
