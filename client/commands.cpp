#include "client/commands.h"

#include "client/container_actions.h"
#include "client/logs_command.h"
#include "client/run_command.h"
#include "client/status_command.h"

namespace ringlogctl {

void addCommands(CLI::App& app, const GlobalOptions& global) {
    addRunCommand(app, global);
    addAttachCommand(app, global);
    addLogsCommand(app, global);
    addStatusCommand(app, global);
    addDetachCommand(app, global);
    addReopenCommand(app, global);
}

}  // namespace ringlogctl
