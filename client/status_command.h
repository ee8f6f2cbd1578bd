// `ringlogctl status`, over D-Bus: one container's state, last error and counters, as
// `systemctl status` shows a unit.
#pragma once

int statusCommand(int argc, char** argv, int first);
