// `ringlogctl push`: lines read from stdin pushed into an attached container's log over the
// ingest socket (docs/protocol.md, "Push"), as an application does with libringlog-client.
#pragma once

#include <CLI/CLI.hpp>

#include "client/cli.h"

namespace ringlogctl {

void addPushCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace ringlogctl
