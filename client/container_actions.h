// `ringlogctl detach` and `ringlogctl reopen`: root's actions on a container, over D-Bus.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addDetachCommand(CLI::App& app, const GlobalOptions& global);
void addReopenCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
