// `ringlogctl logs`: a container's log read back over D-Bus (Query), as `docker logs` shows it.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addLogsCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
