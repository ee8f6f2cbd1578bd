/* libringlog-client: how a container engine hands a container's output to ringlogd.
 *
 * Usage:
 *   struct ringlog_attach a;
 *   ringlog_attach_init(&a);
 *   a.id = "4f2c…"; a.name = "web"; a.stdout_fd = out_r; a.stderr_fd = err_r;
 *   char err[512];
 *   if (ringlog_attach_send(NULL, &a, err, sizeof err) != 0) fprintf(stderr, "%s\n", err);
 *
 * The call is synchronous: it returns once ringlogd has accepted the fds (0), or with
 * ringlogd's error (a positive ringlog_status) or a local error (-errno), with a
 * one-line message in err either way. The caller keeps its own copies of the fds and
 * should close them afterwards: ringlogd holds its own.
 */
#ifndef RINGLOG_CLIENT_H
#define RINGLOG_CLIENT_H

#include <stddef.h>

#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ringlog_attach {
    const char* id;              /* required: full container id */
    const char* name;            /* optional */
    const char* image;           /* optional */
    const char* const* labels;   /* optional, NULL-terminated "key=value" */
    const char* const* env;      /* optional, NULL-terminated "KEY=value" */
    const char* driver;          /* optional: the daemon's default driver when NULL */
    const char* const* log_opts; /* optional, NULL-terminated "key=value"; an entry
                                    "log-driver=NAME" adds a driver, whose options are the
                                    entries after it (docs/protocol.md); entries
                                    "log-dir=PATH" and "log-glob=GLOB" name log files to
                                    follow (docs/log-files.md; sent as protocol version 2) */
    const char* mode;            /* optional: "blocking" or "non-blocking" */
    const char* max_buffer_size; /* optional: e.g. "4m" */
    int stdout_fd;               /* required: read end of the container's stdout (-1 with
                                    a log-dir entry: a container whose logs are files) */
    int stderr_fd;               /* optional (-1): read end of stderr; without it every
                                    line is attributed to stdout */
};

/* Sets every pointer to NULL and both fds to -1. */
void ringlog_attach_init(struct ringlog_attach* attach);

/* Connects to socket_path (RINGLOG_DEFAULT_SOCKET when NULL), sends the request and
 * waits for the reply. Returns 0 on success, a positive ringlog_status for an error
 * reply, or -errno for a local failure. */
int ringlog_attach_send(const char* socket_path, const struct ringlog_attach* attach, char* err,
                        size_t err_len);

/* Encodes the request datagram into buf. Returns its length, or -EMSGSIZE/-EINVAL.
 * Exposed for tests and for engines that manage the socket themselves. */
long ringlog_attach_encode(const struct ringlog_attach* attach, unsigned char* buf, size_t buf_len);

#ifdef __cplusplus
}
#endif

#endif
