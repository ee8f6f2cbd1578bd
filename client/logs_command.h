// `ringlogctl logs`, over D-Bus (kept apart so the attach commands need no bus).
#pragma once

int logsCommand(int argc, char** argv, int first);
