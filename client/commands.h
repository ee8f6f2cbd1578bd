// Every ringlogctl command, registered on the app in the order `ringlogctl --help` lists them.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addCommands(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
