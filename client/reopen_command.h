// `ringlogctl reopen`, over D-Bus: kubelet's rotation by hand (rename the file, then reopen).
#pragma once

int reopenCommand(int argc, char** argv, int first);
