/* libringlog-client: encodes the attach request of client/include/ringlog/protocol.h and
 * sends it with the container's fds. Plain C so every engine can link it. */
#define _GNU_SOURCE
#include "ringlog/client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A reply that has not come in this long means the daemon is wedged: say so, never hang. */
#define RINGLOG_REPLY_TIMEOUT_MS 30000

void ringlog_attach_init(struct ringlog_attach* attach) {
    memset(attach, 0, sizeof(*attach));
    attach->stdout_fd = -1;
    attach->stderr_fd = -1;
}

static void put_u16(unsigned char* p, uint16_t v) {
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char* p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
}

static uint16_t get_u16(const unsigned char* p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const unsigned char* p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int put_field(unsigned char* buf, size_t buf_len, size_t* off, uint16_t tag,
                     const char* value) {
    if (value == NULL)
        return 0;
    size_t len = strlen(value);
    if (*off + 8 + len > buf_len)
        return -EMSGSIZE;
    put_u16(buf + *off, tag);
    put_u16(buf + *off + 2, 0);
    put_u32(buf + *off + 4, (uint32_t)len);
    memcpy(buf + *off + 8, value, len);
    *off += 8 + len;
    return 0;
}

static int put_list(unsigned char* buf, size_t buf_len, size_t* off, uint16_t tag,
                    const char* const* values) {
    for (; values != NULL && *values != NULL; values++) {
        int r = put_field(buf, buf_len, off, tag, *values);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A log option that is a field of version 2: "log-dir=PATH" (RINGLOG_FIELD_LOG_DIR, repeatable)
 * and "log-glob=GLOB" (RINGLOG_FIELD_LOG_GLOB), docs/log-files.md. 0 for any other entry. */
static uint16_t log_files_tag(const char* entry) {
    if (strncmp(entry, "log-dir=", 8) == 0)
        return RINGLOG_FIELD_LOG_DIR;
    if (strncmp(entry, "log-glob=", 9) == 0)
        return RINGLOG_FIELD_LOG_GLOB;
    return 0;
}

static int uses_log_files(const char* const* values) {
    for (; values != NULL && *values != NULL; values++)
        if (log_files_tag(*values) != 0)
            return 1;
    return 0;
}

/* The log options, where an entry "log-driver=NAME" names one more driver, whose options are
 * the entries after it (as --log-driver repeated on a command line). */
static int put_log_opts(unsigned char* buf, size_t buf_len, size_t* off,
                        const char* const* values) {
    static const char kDriverKey[] = "log-driver=";
    for (; values != NULL && *values != NULL; values++) {
        int r = strncmp(*values, kDriverKey, sizeof kDriverKey - 1) == 0
                    ? put_field(buf, buf_len, off, RINGLOG_FIELD_DRIVER,
                                *values + sizeof kDriverKey - 1)
                : log_files_tag(*values) != 0
                    ? put_field(buf, buf_len, off, log_files_tag(*values), strchr(*values, '=') + 1)
                    : put_field(buf, buf_len, off, RINGLOG_FIELD_LOG_OPT, *values);
        if (r < 0)
            return r;
    }
    return 0;
}

long ringlog_attach_encode(const struct ringlog_attach* a, unsigned char* buf, size_t buf_len) {
    if (a == NULL || a->id == NULL || buf_len < 8)
        return -EINVAL;
    put_u32(buf, RINGLOG_REQUEST_MAGIC);
    put_u16(buf + 4, RINGLOG_PROTOCOL_MIN_VERSION); /* version 2 only for its fields (below) */
    put_u16(buf + 6, RINGLOG_MSG_ATTACH);
    size_t off = 8;
    int r = 0;
    if ((r = put_field(buf, buf_len, &off, RINGLOG_FIELD_ID, a->id)) < 0 ||
        (r = put_field(buf, buf_len, &off, RINGLOG_FIELD_NAME, a->name)) < 0 ||
        (r = put_field(buf, buf_len, &off, RINGLOG_FIELD_IMAGE, a->image)) < 0 ||
        (r = put_list(buf, buf_len, &off, RINGLOG_FIELD_LABEL, a->labels)) < 0 ||
        (r = put_list(buf, buf_len, &off, RINGLOG_FIELD_ENV, a->env)) < 0 ||
        (r = put_field(buf, buf_len, &off, RINGLOG_FIELD_DRIVER, a->driver)) < 0 ||
        (r = put_log_opts(buf, buf_len, &off, a->log_opts)) < 0 ||
        (r = put_field(buf, buf_len, &off, RINGLOG_FIELD_MODE, a->mode)) < 0 ||
        (r = put_field(buf, buf_len, &off, RINGLOG_FIELD_MAX_BUFFER_SIZE, a->max_buffer_size)) < 0)
        return r;
    if (uses_log_files(a->log_opts))
        put_u16(buf + 4, 2); /* log directories are of version 2 */
    return (long)off;
}

static int fail(char* err, size_t err_len, int code, const char* fmt, ...) {
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

int ringlog_attach_send(const char* socket_path, const struct ringlog_attach* a, char* err,
                        size_t err_len) {
    if (socket_path == NULL)
        socket_path = RINGLOG_DEFAULT_SOCKET;
    /* A container whose only logs are files (log-dir= entries) may come without fds. */
    if (a == NULL || a->id == NULL || (a->stdout_fd < 0 && !uses_log_files(a->log_opts)))
        return fail(err, err_len, -EINVAL, "attach request needs a container id and a stdout fd");

    static unsigned char request[RINGLOG_MAX_REQUEST_BYTES];
    long len = ringlog_attach_encode(a, request, sizeof(request));
    if (len < 0)
        return fail(err, err_len, (int)len, "attach request is larger than the %d-byte limit",
                    RINGLOG_MAX_REQUEST_BYTES);

    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (strlen(socket_path) >= sizeof(addr.sun_path))
        return fail(err, err_len, -ENAMETOOLONG, "socket path %s is too long", socket_path);
    strcpy(addr.sun_path, socket_path);

    int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return fail(err, err_len, -errno, "socket: %s", strerror(errno));
    if (connect(sock, (struct sockaddr*)&addr, sizeof(addr)) < 0) {
        int e = errno;
        close(sock);
        return fail(err, err_len, -e, "cannot reach ringlogd at %s: %s", socket_path, strerror(e));
    }

    int fds[2] = {a->stdout_fd, a->stderr_fd};
    int nfds = a->stdout_fd < 0 ? 0 : a->stderr_fd >= 0 ? 2 : 1;
    union {
        char buf[CMSG_SPACE(sizeof(int) * 2)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct iovec iov = {.iov_base = request, .iov_len = (size_t)len};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
    }

    if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
        int e = errno;
        close(sock);
        return fail(err, err_len, -e, "sending the attach request to %s: %s", socket_path,
                    strerror(e));
    }

    struct pollfd pfd = {.fd = sock, .events = POLLIN};
    int pr;
    do
        pr = poll(&pfd, 1, RINGLOG_REPLY_TIMEOUT_MS);
    while (pr < 0 && errno == EINTR);
    if (pr == 0) {
        close(sock);
        return fail(err, err_len, -ETIMEDOUT, "ringlogd at %s did not answer within %d s",
                    socket_path, RINGLOG_REPLY_TIMEOUT_MS / 1000);
    }

    unsigned char reply[RINGLOG_MAX_REPLY_BYTES + 1];
    ssize_t n;
    do
        n = recv(sock, reply, sizeof(reply) - 1, 0);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(sock);
    if (n < 0)
        return fail(err, err_len, -e, "reading ringlogd's reply: %s", strerror(e));
    if (n < 8 || get_u32(reply) != RINGLOG_REPLY_MAGIC)
        return fail(err, err_len, -EPROTO, "ringlogd at %s sent no valid reply", socket_path);
    uint16_t status = get_u16(reply + 6);
    reply[n] = '\0';
    fail(err, err_len, 0, "%s", (const char*)reply + 8);
    return status;
}
