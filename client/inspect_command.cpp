#include "client/inspect_command.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/container_fields.h"
#include "client/daemon_calls.h"
#include "client/output_format.h"

namespace ringlogctl {

namespace {

struct InspectOptions {
    std::vector<std::string> containers;
    std::string format;
};

// Inspect's keys (docs/dbus.md), for --format.
std::vector<Template::Field> inspectFields() {
    std::vector<Template::Field> out;
    for (const char* key : {"Id",
                            "Name",
                            "Image",
                            "Labels",
                            "Label",
                            "Driver",
                            "DriverOptions",
                            "Mode",
                            "State",
                            "LastError",
                            "LastErrorAt",
                            "AttachedAt",
                            "ExitedAt",
                            "LinesIn",
                            "BytesIn",
                            "LinesDropped",
                            "BytesDropped",
                            "LinesWritten",
                            "LinesSplit",
                            "WriteFailures",
                            "RingBytesUsed",
                            "RingBytesSize",
                            "AttachedByUid",
                            "ObjectPath"})
        out.push_back({key, key});
    return out;
}

void runInspect(const InspectOptions& o) {
    std::optional<Template> tmpl;
    if (!o.format.empty())
        tmpl.emplace(o.format, inspectFields());
    auto bus = connectSystemBus();
    DaemonCalls daemon(*bus);
    nlohmann::json all = nlohmann::json::array();
    bool failed = false;
    // As docker: each one that is found is printed, each one that is not is an error on stderr.
    for (const std::string& name : o.containers) {
        try {
            all.push_back(inspectJson(daemon.inspect(name)));
        } catch (const sdbus::Error& e) {
            try {
                throwBusError(e);
            } catch (const CommandError& error) {
                std::fprintf(stderr, "ringlogctl: %s\n", error.what());
                failed = true;
            }
        }
    }
    if (tmpl) {
        for (const auto& c : all)
            std::printf("%s\n", tmpl->render(c).c_str());
    } else {
        std::printf("%s\n", all.dump(4).c_str());
    }
    if (failed)
        throw ExitStatus{kExitFailed};
}

}  // namespace

void addInspectCommand(CLI::App& app, const GlobalOptions&) {
    auto o = std::make_shared<InspectOptions>();
    CLI::App* sub = app.add_subcommand(
        "inspect", "Everything ringlogd knows of containers, as JSON (docker inspect's form)");
    sub->add_option("CONTAINER", o->containers, "Full id, unique id prefix, or name")->required();
    sub->add_option("-f,--format", o->format, "Go-template names, e.g. {{.State}}")
        ->type_name("FORMAT");
    sub->callback([o] { runInspect(*o); });
}

}  // namespace ringlogctl
