// `ringlogctl status CONTAINER`: its state, last error and counters, as systemctl status shows a
// unit.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addStatusCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
