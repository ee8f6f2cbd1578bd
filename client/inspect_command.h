// `ringlogctl inspect CONTAINER...`: everything ringlogd knows of containers, as a JSON array
// (docker inspect's form), or one line each through --format.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addInspectCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
