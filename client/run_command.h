// `ringlogctl run` and `ringlogctl attach`: hand a container's output to ringlogd over the ingest
// socket, as an engine does with libringlog-client.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addRunCommand(CLI::App& app, const GlobalOptions& global);
void addAttachCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
