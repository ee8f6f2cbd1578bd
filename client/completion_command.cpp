#include "client/completion_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/daemon_calls.h"

namespace ringlogctl {

// The scripts, embedded at build time from client/completion/ (completion_scripts.cpp).
extern const char* const kBashCompletion;
extern const char* const kZshCompletion;
extern const char* const kFishCompletion;

namespace {

bool startsWith(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

bool hidden(const CLI::App* sub) {
    return sub->get_group().empty();
}

// What ringlogd says, asked at most once per completion; nothing when it cannot be reached.
class Daemon {
  public:
    std::vector<ContainerEntry> containers() {
        if (auto* d = calls())
            try {
                return d->listContainers();
            } catch (const sdbus::Error&) {
            }
        return {};
    }
    const Dict& description() {
        if (!description_) {
            description_.emplace();
            if (auto* d = calls())
                try {
                    *description_ = d->describeDaemon();
                } catch (const sdbus::Error&) {
                }
        }
        return *description_;
    }

  private:
    DaemonCalls* calls() {
        if (!tried_) {
            tried_ = true;
            try {
                bus_ = sdbus::createSystemBusConnection();
                calls_ = std::make_unique<DaemonCalls>(*bus_);
            } catch (const sdbus::Error&) {
            }
        }
        return calls_.get();
    }
    bool tried_ = false;
    std::unique_ptr<sdbus::IConnection> bus_;
    std::unique_ptr<DaemonCalls> calls_;
    std::optional<Dict> description_;
};

const CLI::Option* findOption(const CLI::App& app, const CLI::App& root, const std::string& name) {
    for (const CLI::App* a : {&app, &root})
        for (const CLI::Option* opt : a->get_options())
            if (opt->nonpositional() && opt->check_name(name))
                return opt;
    return nullptr;
}

bool takesValue(const CLI::Option* opt) {
    return opt->get_type_size() > 0;
}

// An option's choices as its type name shows them ("TEXT:{raw,json}"), as CLI::IsMember sets it.
std::vector<std::string> declaredChoices(const CLI::Option* opt) {
    std::string type = opt->get_type_name();
    size_t open = type.find('{'), close = type.rfind('}');
    std::vector<std::string> out;
    if (open == std::string::npos || close == std::string::npos || close < open)
        return out;
    std::string list = type.substr(open + 1, close - open - 1);
    for (size_t start = 0; start <= list.size();) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos)
            comma = list.size();
        if (comma > start)
            out.push_back(list.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

struct State {
    const CLI::App* command = nullptr;
    std::string driver;  // the last --log-driver given
};

std::vector<std::string> optionValues(const CLI::Option* opt, const State& s, Daemon& daemon) {
    std::string name = opt->get_single_name();
    if (name == "log-driver") {
        auto drivers = dictValue<std::vector<std::string>>(daemon.description(), "Drivers");
        if (drivers.empty())
            drivers = {"json-file", "journald", "k8s-file", "syslog", "none"};
        return drivers;
    }
    if (name == "log-opt") {
        auto options = dictValue<std::map<std::string, std::vector<std::string>>>(
            daemon.description(), "LogOptions");
        std::string driver = s.driver.empty()
                                 ? dictValue<std::string>(daemon.description(), "DefaultDriver")
                                 : s.driver;
        std::vector<std::string> out;
        for (const std::string& key : {std::string(), driver})
            for (const std::string& option : options[key])
                out.push_back(option + "=");
        return out;
    }
    if (name == "stream")
        return {"stdout", "stderr"};
    if (name == "mode")
        return {"blocking", "non-blocking"};
    if (name == "format" && s.command->get_name() == "ps")
        return {"json", "table"};
    if (name == "format" && s.command->get_name() == "logs" && declaredChoices(opt).empty())
        return {"raw", "json"};
    return declaredChoices(opt);
}

std::vector<std::string> containerValues(const State& s, const std::string& current,
                                         Daemon& daemon) {
    // push takes an attached container's full id, nothing else.
    bool push = s.command->get_name() == "push";
    bool running_only = push || s.command->get_name() == "detach";
    std::vector<std::string> out;
    for (const ContainerEntry& c : daemon.containers()) {
        if (running_only && c.state == "exited")
            continue;
        if (!c.name.empty() && !push)
            out.push_back(c.name);
        // Ids once a character of one is typed: 64 hex digits would drown the names.
        if (!current.empty() || push)
            out.push_back(c.id);
    }
    return out;
}

}  // namespace

std::vector<std::string> completionCandidates(const CLI::App& root,
                                              const std::vector<std::string>& all_words) {
    if (all_words.empty())
        return {};
    std::string current = all_words.back();
    std::vector<std::string> words(all_words.begin(), all_words.end() - 1);
    Daemon daemon;
    State s;
    s.command = &root;
    const CLI::Option* pending = nullptr;
    size_t positionals = 0;
    for (const std::string& w : words) {
        if (pending != nullptr) {
            if (pending->get_single_name() == "log-driver")
                s.driver = w;
            pending = nullptr;
            continue;
        }
        if (w == "--")
            return {};  // run's CMD: the shell's own completion
        if (w.size() > 1 && w[0] == '-') {
            size_t eq = w.find('=');
            const CLI::Option* opt = findOption(*s.command, root, w.substr(0, eq));
            if (opt != nullptr && takesValue(opt)) {
                if (eq == std::string::npos)
                    pending = opt;
                else if (opt->get_single_name() == "log-driver")
                    s.driver = w.substr(eq + 1);
            }
            continue;
        }
        if (s.command == &root) {
            const CLI::App* sub = nullptr;
            for (const CLI::App* candidate : root.get_subcommands({}))
                if (candidate->check_name(w))
                    sub = candidate;
            if (sub != nullptr) {
                s.command = sub;
                continue;
            }
        }
        ++positionals;
    }

    std::vector<std::string> out;
    std::string prefix;  // what a candidate is put after: "--stream=" for --stream=std
    if (pending != nullptr) {
        out = optionValues(pending, s, daemon);
    } else if (startsWith(current, "--") && current.find('=') != std::string::npos) {
        prefix = current.substr(0, current.find('=') + 1);
        const CLI::Option* opt = findOption(*s.command, root, prefix.substr(0, prefix.size() - 1));
        if (opt != nullptr && takesValue(opt))
            out = optionValues(opt, s, daemon);
    } else if (startsWith(current, "-")) {
        for (const CLI::App* a : {s.command, &root}) {
            for (const CLI::Option* opt : a->get_options()) {
                if (!opt->nonpositional() || opt->get_group().empty())
                    continue;
                for (const std::string& n : opt->get_lnames())
                    out.push_back("--" + n);
                for (const std::string& n : opt->get_snames())
                    out.push_back("-" + n);
            }
            if (a == &root)
                break;
        }
    } else if (s.command == &root) {
        for (const CLI::App* sub : root.get_subcommands({}))
            if (!hidden(sub))
                out.push_back(sub->get_name());
        out.push_back("help");
    } else if (s.command->get_name() == "completion") {
        if (positionals == 0)
            out = {"bash", "zsh", "fish"};
    } else {
        std::vector<const CLI::Option*> slots;
        for (const CLI::Option* opt : s.command->get_options())
            if (opt->get_positional())
                slots.push_back(opt);
        // The slot this word fills; the last one takes the rest when it takes several.
        const CLI::Option* slot = nullptr;
        if (positionals < slots.size())
            slot = slots[positionals];
        else if (!slots.empty() && slots.back()->get_expected_max() > 1)
            slot = slots.back();
        if (slot != nullptr && slot->get_name() == "CONTAINER")
            out = containerValues(s, current, daemon);
        else if (slot != nullptr)
            out = declaredChoices(slot);
    }

    std::vector<std::string> result;
    std::set<std::string> seen;
    for (const std::string& c : out) {
        std::string candidate = prefix + c;
        if (startsWith(candidate, current) && seen.insert(candidate).second)
            result.push_back(candidate);
    }
    return result;
}

void addCompletionCommands(CLI::App& app, const GlobalOptions& global) {
    auto shell = std::make_shared<std::string>();
    CLI::App* completion =
        app.add_subcommand("completion", "Print the shell completion script for bash, zsh or fish");
    completion->add_option("SHELL", *shell, "bash, zsh or fish")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
    completion->callback([shell] {
        const char* script = *shell == "bash"  ? kBashCompletion
                             : *shell == "zsh" ? kZshCompletion
                                               : kFishCompletion;
        std::fputs(script, stdout);
    });

    // Hidden: every word after it is the command line's, none is an option of its own.
    CLI::App* engine = app.add_subcommand("__complete", "")->group("");
    engine->set_help_flag();
    engine->fallthrough(false);
    engine->prefix_command();
    engine->allow_extras();
    const CLI::App* root = &app;
    engine->callback([engine, root, &global] {
        std::vector<std::string> words = engine->remaining();
        if (global.had_dashes) {  // main() took "--" and what followed off
            words.push_back("--");
            words.insert(words.end(), global.after_dashes.begin(), global.after_dashes.end());
        }
        if (words.empty())
            words.push_back("");
        for (const std::string& c : completionCandidates(*root, words))
            std::printf("%s\n", c.c_str());
    });
}

}  // namespace ringlogctl
