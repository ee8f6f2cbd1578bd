// `ringlogctl ps`: the containers, as `docker ps` lists them.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addPsCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
