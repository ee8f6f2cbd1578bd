#include "client/stats_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/container_fields.h"
#include "client/daemon_calls.h"
#include "client/output_format.h"

namespace ringlogctl {

namespace {

struct StatsOptions {
    bool no_stream = false;
    bool all = false;
    std::vector<std::string> containers;
};

struct Sample {
    std::vector<Dict> containers;  // in the order they are shown
    std::chrono::steady_clock::time_point at;
};

// The named containers (an unknown one is an error, as docker stats), or every readable one
// (running only, unless -a).
Sample takeSample(DaemonCalls& daemon, const StatsOptions& o) {
    Sample s;
    if (!o.containers.empty()) {
        for (const std::string& name : o.containers)
            s.containers.push_back(daemon.inspect(name));
    } else {
        for (const ContainerEntry& e : daemon.listContainers()) {
            if (!o.all && e.state == "exited")
                continue;
            try {
                s.containers.push_back(daemon.inspect(e.id));
            } catch (const sdbus::Error& err) {
                if (err.getName() != "org.ringlog.Log1.NoSuchContainer")
                    throw;
            }
        }
        // Newest first, as ps.
        std::stable_sort(
            s.containers.begin(), s.containers.end(), [](const Dict& a, const Dict& b) {
                return dictValue<uint64_t>(a, "AttachedAt") > dictValue<uint64_t>(b, "AttachedAt");
            });
    }
    s.at = std::chrono::steady_clock::now();
    return s;
}

std::string percent(double part, double whole) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%%", whole > 0 ? 100.0 * part / whole : 0.0);
    return buf;
}

// The table of `now`, its rates against the same container in `before`: the counters' growth
// over the time between the samples, rounded to whole lines and bytes per second.
std::string render(const Sample& before, const Sample& now) {
    std::map<std::string, const Dict*> previous;
    for (const Dict& c : before.containers)
        previous[dictValue<std::string>(c, "Id")] = &c;
    double seconds = std::chrono::duration<double>(now.at - before.at).count();
    std::string out = "CONTAINER ID\tNAME\tLINES/S\tBYTES/S\tLINES IN\tDROPPED\tRING USE\n";
    for (const Dict& c : now.containers) {
        std::string id = dictValue<std::string>(c, "Id");
        uint64_t lines = dictValue<uint64_t>(c, "LinesIn");
        uint64_t bytes = dictValue<uint64_t>(c, "BytesIn");
        double line_rate = 0, byte_rate = 0;
        if (auto it = previous.find(id); it != previous.end() && seconds > 0) {
            uint64_t lines0 = dictValue<uint64_t>(*it->second, "LinesIn");
            uint64_t bytes0 = dictValue<uint64_t>(*it->second, "BytesIn");
            line_rate = lines >= lines0 ? static_cast<double>(lines - lines0) / seconds : 0;
            byte_rate = bytes >= bytes0 ? static_cast<double>(bytes - bytes0) / seconds : 0;
        }
        double used = static_cast<double>(dictValue<uint64_t>(c, "RingBytesUsed"));
        double size = static_cast<double>(dictValue<uint64_t>(c, "RingBytesSize"));
        std::string name = dictValue<std::string>(c, "Name");
        out += shortId(id) + "\t" + (name.empty() ? "--" : name) + "\t" +
               std::to_string(std::llround(line_rate)) + "\t" + bytesSize(std::round(byte_rate)) +
               "/s\t" + std::to_string(lines) + "\t" +
               std::to_string(dictValue<uint64_t>(c, "LinesDropped")) + "\t" + bytesSize(used) +
               " / " + bytesSize(size) + " (" + percent(used, size) + ")\n";
    }
    return alignColumns(out);
}

void runStats(const StatsOptions& o) {
    auto bus = connectSystemBus();
    DaemonCalls daemon(*bus);
    try {
        Sample before = takeSample(daemon, o);
        for (;;) {
            std::this_thread::sleep_until(before.at + std::chrono::seconds(1));  // the interval
            Sample now = takeSample(daemon, o);
            std::string table = render(before, now);
            if (o.no_stream) {
                std::fputs(table.c_str(), stdout);
                return;
            }
            // As docker stats: clear the screen, cursor home, the table.
            std::fputs(("\033[2J\033[H" + table).c_str(), stdout);
            std::fflush(stdout);
            before = std::move(now);
        }
    } catch (const sdbus::Error& e) {
        throwBusError(e);
    }
}

}  // namespace

void addStatsCommand(CLI::App& app, const GlobalOptions&) {
    auto o = std::make_shared<StatsOptions>();
    CLI::App* sub = app.add_subcommand(
        "stats", "Live lines and bytes per second, drops and ring use of containers");
    sub->add_option("CONTAINER", o->containers, "Full id, unique id prefix, or name");
    sub->add_flag("--no-stream", o->no_stream, "Print once (rates over one second) and exit");
    sub->add_flag("-a,--all", o->all, "Show exited containers too");
    sub->callback([o] { runStats(*o); });
}

}  // namespace ringlogctl
