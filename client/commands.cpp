#include "client/commands.h"

#include "client/completion_command.h"
#include "client/container_actions.h"
#include "client/inspect_command.h"
#include "client/logs_command.h"
#include "client/ps_command.h"
#include "client/push_command.h"
#include "client/run_command.h"
#include "client/stats_command.h"
#include "client/status_command.h"
#include "client/version_command.h"

namespace ringlogctl {

void addCommands(CLI::App& app, const GlobalOptions& global) {
    addRunCommand(app, global);
    addAttachCommand(app, global);
    addPushCommand(app, global);
    addLogsCommand(app, global);
    addStatusCommand(app, global);
    addDetachCommand(app, global);
    addReopenCommand(app, global);
    addPsCommand(app, global);
    addInspectCommand(app, global);
    addStatsCommand(app, global);
    addVersionCommand(app, global);
    addCompletionCommands(app, global);
}

}  // namespace ringlogctl
