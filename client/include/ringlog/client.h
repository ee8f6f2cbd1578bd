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
                                    follow (docs/log-files.md), "push-only=true" attaches
                                    a container without fds that takes pushes (below); these
                                    are sent as protocol version 2 */
    const char* mode;            /* optional: "blocking" or "non-blocking" */
    const char* max_buffer_size; /* optional: e.g. "4m" */
    int stdout_fd;               /* required: read end of the container's stdout (-1 with
                                    a log-dir entry: a container whose logs are files, or
                                    with push-only=true) */
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

/* ---- Push: records sent in the request itself (protocol version 2, docs/protocol.md "Push").
 *
 * Each of n_lines lines becomes a record of `stream` ("stdout" or "stderr"; NULL: stdout) of
 * the attached container `id` (its full id; a prefix is not enough), in the order given and
 * after whatever the container wrote before; a line needs no '\n' (one at its end is dropped),
 * one with a '\n' inside or longer than the container's max-line is split as piped output is.
 * All of them are taken or none: 0 when ringlogd took them; RINGLOG_STATUS_RETRY_LATER when it
 * took none and the caller should try again after a pause (a blocking container's ring is
 * full, or its push rate is spent); another positive ringlog_status for a refusal (who may push
 * is root, the user that attached the container, and the users and groups of its push-users
 * and push-groups log options); -errno for a local failure (-EMSGSIZE: the lines do not fit
 * one request of RINGLOG_MAX_REQUEST_BYTES, 8 bytes per field beside the header). err holds
 * ringlogd's message or the local one.
 *
 * Attaching a container that only pushes: log_opts entry "push-only=true" and no fds (the
 * request is then sent as version 2). It takes pushes until it is detached. */
int ringlog_push_send(const char* socket_path, const char* id, const char* stream,
                      const char* const* lines, size_t n_lines, char* err, size_t err_len);

/* The same over one connection kept for many pushes: the way to push fast. open() connects
 * (NULL, with errno and err set, when it cannot); send() pushes as ringlog_push_send() does,
 * `lengths` giving each line's length (lines may then hold NUL bytes) or NULL for C strings,
 * and connects again when ringlogd closed the idle connection (after 10 s). Not for use by
 * two threads at once. */
struct ringlog_pusher;
struct ringlog_pusher* ringlog_pusher_open(const char* socket_path, char* err, size_t err_len);
int ringlog_pusher_send(struct ringlog_pusher* pusher, const char* id, const char* stream,
                        const char* const* lines, const size_t* lengths, size_t n_lines, char* err,
                        size_t err_len);
void ringlog_pusher_close(struct ringlog_pusher* pusher);

/* Encodes a push request into buf. Returns its length, or -EMSGSIZE/-EINVAL. */
long ringlog_push_encode(const char* id, const char* stream, const char* const* lines,
                         const size_t* lengths, size_t n_lines, unsigned char* buf, size_t buf_len);

#ifdef __cplusplus
}
#endif

#endif
