// ringlogctl: the command-line client of ringlogd. Each command is one add*Command() that
// declares its options with CLI11 and runs from its callback; the same definitions give
// --help, the shell completion (`ringlogctl completion`) and the check of docs/ringlogctl.md
// and ringlogctl(1) (`ringlogctl __describe`).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/cli.h"
#include "client/commands.h"
#include "ringlog/protocol.h"

namespace {

using namespace ringlogctl;

// Every command and option, one per line: "COMMAND<TAB>NAMES<TAB>DESCRIPTION" (an empty NAMES
// for the command itself). The docs test compares it with docs/ringlogctl.md and the man page.
void describe(const CLI::App& app) {
    for (const CLI::App* sub : app.get_subcommands({})) {
        if (sub->get_group().empty())
            continue;  // hidden
        std::printf("%s\t\t%s\n", sub->get_name().c_str(), sub->get_description().c_str());
        for (const CLI::Option* opt : sub->get_options()) {
            if (opt->get_group().empty())
                continue;
            std::printf("%s\t%s\t%s\n", sub->get_name().c_str(), opt->get_name(false, true).c_str(),
                        opt->get_description().c_str());
        }
    }
    for (const CLI::Option* opt : app.get_options())
        if (!opt->get_group().empty())
            std::printf("\t%s\t%s\n", opt->get_name(false, true).c_str(),
                        opt->get_description().c_str());
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ringlogctl: run containers' output through ringlogd and read their logs",
                 "ringlogctl"};
    app.footer(
        "Run 'ringlogctl COMMAND --help' for a command's options. Exit status: 0 done, "
        "1 the operation failed, 125 a usage error (docs/ringlogctl.md).");
    app.set_version_flag("-v,--version", std::string("ringlogctl ") + RINGLOG_VERSION,
                         "Print the client's version and exit");
    // Global options are accepted before and after the command (`ringlogctl --socket P run …`
    // and `ringlogctl run --socket P …`): a command passes the options it does not know up.
    app.fallthrough();
    app.require_subcommand(1);
    GlobalOptions global;
    app.add_option("--socket", global.socket,
                   "ringlogd's ingest socket (run, attach; default " RINGLOG_DEFAULT_SOCKET ")")
        ->envname("RINGLOGD_SOCKET")
        ->type_name("PATH");
    addCommands(app, global);
    app.add_subcommand("__describe", "")->group("")->callback([&app] { describe(app); });

    // `ringlogctl help [COMMAND]` as `ringlogctl [COMMAND] --help`.
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "help") {
        args.erase(args.begin());
        args.push_back("--help");
    }
    // `run CMD…` and the completion engine take every word after "--" as theirs, as words, not
    // as positionals: they get them apart. For every other command "--" ends the options, as
    // CLI11 (and getopt) have it: `ringlogctl logs -- ID`.
    auto dashes = std::find(args.begin(), args.end(), "--");
    auto command = args.begin();
    while (command != dashes && (command->empty() || (*command)[0] == '-'))
        command += (*command == "--socket" && command + 1 != dashes) ? 2 : 1;
    if (dashes != args.end() && command != dashes &&
        (*command == "run" || *command == "__complete")) {
        global.after_dashes.assign(dashes + 1, args.end());
        global.had_dashes = true;
        args.erase(dashes, args.end());
    }
    // CLI11 would say "A subcommand is required" for a mistyped one: name it instead.
    for (size_t i = 0; i < args.size() && args[i] != "--"; ++i) {
        const std::string& a = args[i];
        if (a == "--socket") {
            ++i;  // its value
            continue;
        }
        if (a.empty() || a[0] == '-')
            continue;
        bool known = true;
        try {
            app.get_subcommand(a);
        } catch (const CLI::OptionNotFound&) {
            known = false;
        }
        if (!known) {
            std::fprintf(stderr, "ringlogctl: unknown command \"%s\"\nSee 'ringlogctl --help'.\n",
                         a.c_str());
            return kExitUsage;
        }
        break;
    }
    std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
    try {
        app.parse(args);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "ringlogctl: %s\n", e.what());
        const CLI::App* sub = nullptr;
        for (const CLI::App* s : app.get_subcommands())
            sub = s;
        std::fprintf(stderr, "See 'ringlogctl %s--help'.\n",
                     sub ? (sub->get_name() + " ").c_str() : "");
        return kExitUsage;
    } catch (const CommandError& e) {
        std::fprintf(stderr, "ringlogctl: %s\n", e.what());
        return e.exitCode();
    } catch (const ExitStatus& e) {
        return e.code;
    }
    return kExitOk;
}
