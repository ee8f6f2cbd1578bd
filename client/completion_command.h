// Shell completion: `ringlogctl completion bash|zsh|fish` prints a script, and the hidden
// `ringlogctl __complete WORDS... CURRENT` prints the candidates for CURRENT, one per line.
//
// The scripts (client/completion/) are shims: they pass the words after `ringlogctl` to
// __complete, the last one being the word under the cursor (possibly empty). The candidates come
// from the same CLI11 definitions as the parsing and --help (commands, their options and the
// global ones, an option's {a,b} choices), and from ringlogd for what only it knows: container
// names and ids (ListContainers), drivers and their --log-opt keys (DescribeDaemon). Nothing
// printed: the shell completes file names.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "client/cli.h"

namespace ringlogctl {

void addCompletionCommands(CLI::App& app, const GlobalOptions& global);

// The candidates for words.back() after the words before it (each starts with it).
std::vector<std::string> completionCandidates(const CLI::App& app,
                                              const std::vector<std::string>& words);

}  // namespace ringlogctl
