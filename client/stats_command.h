// `ringlogctl stats`: each container's rates, drops and ring use, live as `docker stats`.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addStatsCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
