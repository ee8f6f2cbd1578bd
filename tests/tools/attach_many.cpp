// attach_many SOCKET COUNT NAME_PREFIX IMAGE: attaches COUNT push-only containers, with ids
// 000…0 to COUNT-1 in 64 hex digits and names NAME_PREFIX-0000…, through libringlog-client in
// one process: the Cockpit test's thousand containers, attached in well under a second even
// under ASan (one ringlogctl per container took a minute there).
#include <cstdio>
#include <cstdlib>

#include "ringlog/client.h"

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: attach_many SOCKET COUNT NAME_PREFIX IMAGE\n");
        return 2;
    }
    char* end = nullptr;
    const long count = std::strtol(argv[2], &end, 10);
    if (*argv[2] == '\0' || *end != '\0' || count <= 0) {
        std::fprintf(stderr, "attach_many: COUNT must be a positive number, not \"%s\"\n", argv[2]);
        return 2;
    }
    const char* const log_opts[] = {"push-only=true", nullptr};
    for (long i = 0; i < count; ++i) {
        char id[65], name[256];
        std::snprintf(id, sizeof id, "%064lx", static_cast<unsigned long>(i));
        std::snprintf(name, sizeof name, "%s-%04ld", argv[3], i);
        ringlog_attach a;
        ringlog_attach_init(&a);
        a.id = id;
        a.name = name;
        a.image = argv[4];
        a.log_opts = log_opts;
        char err[512];
        if (int rc = ringlog_attach_send(argv[1], &a, err, sizeof err); rc != 0) {
            std::fprintf(stderr, "attach_many: container %s: %s\n", name, err);
            return 1;
        }
    }
    return 0;
}
