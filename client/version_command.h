// `ringlogctl version`: the client's and ringlogd's versions and protocols, as `docker version`.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addVersionCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
