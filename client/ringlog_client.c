/* libringlog-client: encodes the attach request of client/include/ringlog/protocol.h and
 * sends it with the container's fds. Plain C so every engine can link it. */
#define _GNU_SOURCE
#include "ringlog/client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
 * and "log-glob=GLOB" (RINGLOG_FIELD_LOG_GLOB), docs/log-files.md; "push-only=true"
 * (RINGLOG_FIELD_PUSH_ONLY), docs/protocol.md "Push". 0 for any other entry. */
static uint16_t log_files_tag(const char* entry) {
    if (strncmp(entry, "log-dir=", 8) == 0)
        return RINGLOG_FIELD_LOG_DIR;
    if (strncmp(entry, "log-glob=", 9) == 0)
        return RINGLOG_FIELD_LOG_GLOB;
    if (strncmp(entry, "push-only=", 10) == 0)
        return RINGLOG_FIELD_PUSH_ONLY;
    return 0;
}

static int uses_log_files(const char* const* values) {
    for (; values != NULL && *values != NULL; values++)
        if (log_files_tag(*values) != 0)
            return 1;
    return 0;
}

/* Whether the request may come without fds: log directories to follow, or push-only. */
static int takes_no_fds(const char* const* values) {
    for (; values != NULL && *values != NULL; values++) {
        uint16_t tag = log_files_tag(*values);
        if (tag == RINGLOG_FIELD_LOG_DIR ||
            (tag == RINGLOG_FIELD_PUSH_ONLY && strcmp(*values, "push-only=false") != 0))
            return 1;
    }
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
        put_u16(buf + 4, 2); /* log directories and push-only are of version 2 */
    return (long)off;
}

/* printf's format attribute: the compiler checks every caller's format and arguments (and clang's
 * -Wformat-nonliteral accepts fmt passed on to vsnprintf). */
__attribute__((format(printf, 4, 5))) static int fail(char* err, size_t err_len, int code,
                                                      const char* fmt, ...) {
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A connection to ringlogd's socket, or -errno with the reason in err. */
static int connect_socket(const char* socket_path, char* err, size_t err_len) {
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
    return sock;
}

/* Waits for the reply to the request sent on sock: its status with its message in err, or
 * -errno (-ECONNRESET: the connection ended without a reply, the request was not read). */
static int read_reply(int sock, const char* socket_path, char* err, size_t err_len) {
    struct pollfd pfd = {.fd = sock, .events = POLLIN};
    int pr;
    do
        pr = poll(&pfd, 1, RINGLOG_REPLY_TIMEOUT_MS);
    while (pr < 0 && errno == EINTR);
    if (pr == 0)
        return fail(err, err_len, -ETIMEDOUT, "ringlogd at %s did not answer within %d s",
                    socket_path, RINGLOG_REPLY_TIMEOUT_MS / 1000);

    unsigned char reply[RINGLOG_MAX_REPLY_BYTES + 1];
    ssize_t n;
    do
        n = recv(sock, reply, sizeof(reply) - 1, 0);
    while (n < 0 && errno == EINTR);
    /* ringlogd refused the connection (LIMIT) and closed it with the request unread: the kernel
     * reports that first, once, and the reply sent before the close comes next. */
    if (n < 0 && errno == ECONNRESET) {
        n = recv(sock, reply, sizeof(reply) - 1, MSG_DONTWAIT);
        if (n <= 0)
            errno = ECONNRESET;
    }
    if (n < 0)
        return fail(err, err_len, -errno, "reading ringlogd's reply: %s", strerror(errno));
    if (n == 0)
        return fail(err, err_len, -ECONNRESET, "ringlogd at %s closed the connection unanswered",
                    socket_path);
    if (n < 8 || get_u32(reply) != RINGLOG_REPLY_MAGIC)
        return fail(err, err_len, -EPROTO, "ringlogd at %s sent no valid reply", socket_path);
    uint16_t status = get_u16(reply + 6);
    reply[n] = '\0';
    fail(err, err_len, 0, "%s", (const char*)reply + 8);
    return status;
}

/* The request could not be sent (errno says why). ringlogd may have refused the connection
 * before reading anything (LIMIT) and hung up: its reply is still there to read, and says more
 * than "Broken pipe". */
static int reply_before_hang_up(int sock, const char* socket_path, const char* what, char* err,
                                size_t err_len) {
    int e = errno;
    if (e == EPIPE || e == ECONNRESET) {
        int status = read_reply(sock, socket_path, err, err_len);
        if (status >= 0)
            return status;
    }
    return fail(err, err_len, -e, "sending the %s request to %s: %s", what, socket_path,
                strerror(e));
}

int ringlog_attach_send(const char* socket_path, const struct ringlog_attach* a, char* err,
                        size_t err_len) {
    if (socket_path == NULL)
        socket_path = RINGLOG_DEFAULT_SOCKET;
    /* A container whose only logs are files (log-dir= entries) or pushes (push-only=true) may
     * come without fds. */
    if (a == NULL || a->id == NULL || (a->stdout_fd < 0 && !takes_no_fds(a->log_opts)))
        return fail(err, err_len, -EINVAL, "attach request needs a container id and a stdout fd");

    static unsigned char request[RINGLOG_MAX_REQUEST_BYTES];
    long len = ringlog_attach_encode(a, request, sizeof(request));
    if (len < 0)
        return fail(err, err_len, (int)len, "attach request is larger than the %d-byte limit",
                    RINGLOG_MAX_REQUEST_BYTES);

    int sock = connect_socket(socket_path, err, err_len);
    if (sock < 0)
        return sock;

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

    int status = sendmsg(sock, &msg, MSG_NOSIGNAL) < 0
                     ? reply_before_hang_up(sock, socket_path, "attach", err, err_len)
                     : read_reply(sock, socket_path, err, err_len);
    close(sock);
    return status;
}

/* ---- Push (protocol version 2, docs/protocol.md "Push") ---- */

long ringlog_push_encode(const char* id, const char* stream, const char* const* lines,
                         const size_t* lengths, size_t n_lines, unsigned char* buf,
                         size_t buf_len) {
    if (id == NULL || (lines == NULL && n_lines > 0) || buf_len < 8)
        return -EINVAL;
    put_u32(buf, RINGLOG_REQUEST_MAGIC);
    put_u16(buf + 4, 2);
    put_u16(buf + 6, RINGLOG_MSG_PUSH);
    size_t off = 8;
    int r;
    if ((r = put_field(buf, buf_len, &off, RINGLOG_FIELD_ID, id)) < 0 ||
        (r = put_field(buf, buf_len, &off, RINGLOG_FIELD_STREAM, stream)) < 0)
        return r;
    for (size_t i = 0; i < n_lines; i++) {
        size_t len = lengths != NULL ? lengths[i] : strlen(lines[i]);
        if (off + 8 + len > buf_len || len > UINT32_MAX)
            return -EMSGSIZE;
        put_u16(buf + off, RINGLOG_FIELD_LINE);
        put_u16(buf + off + 2, 0);
        put_u32(buf + off + 4, (uint32_t)len);
        memcpy(buf + off + 8, lines[i], len);
        off += 8 + len;
    }
    return (long)off;
}

struct ringlog_pusher {
    char* socket_path;
    int sock; /* -1 until connected, and after ringlogd closed the connection */
    unsigned char request[RINGLOG_MAX_REQUEST_BYTES];
};

struct ringlog_pusher* ringlog_pusher_open(const char* socket_path, char* err, size_t err_len) {
    struct ringlog_pusher* p = calloc(1, sizeof(*p));
    if (p == NULL) {
        fail(err, err_len, -ENOMEM, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    p->socket_path = strdup(socket_path != NULL ? socket_path : RINGLOG_DEFAULT_SOCKET);
    p->sock = p->socket_path != NULL ? connect_socket(p->socket_path, err, err_len) : -ENOMEM;
    if (p->sock < 0) {
        int e = -p->sock;
        ringlog_pusher_close(p);
        errno = e;
        return NULL;
    }
    return p;
}

void ringlog_pusher_close(struct ringlog_pusher* p) {
    if (p == NULL)
        return;
    if (p->sock >= 0)
        close(p->sock);
    free(p->socket_path);
    free(p);
}

int ringlog_pusher_send(struct ringlog_pusher* p, const char* id, const char* stream,
                        const char* const* lines, const size_t* lengths, size_t n_lines, char* err,
                        size_t err_len) {
    if (p == NULL || id == NULL)
        return fail(err, err_len, -EINVAL, "a push needs a connection and a container id");
    long len =
        ringlog_push_encode(id, stream, lines, lengths, n_lines, p->request, sizeof(p->request));
    if (len < 0)
        return fail(err, err_len, (int)len,
                    len == -EMSGSIZE ? "the lines do not fit one push request (%d bytes)"
                                     : "invalid push request",
                    RINGLOG_MAX_REQUEST_BYTES);
    /* ringlogd closes a connection idle for 10 s: a request it never read was not taken, so it
     * is sent again once on a new connection. A reply always comes before a close. */
    for (int attempt = 0;; attempt++) {
        if (p->sock < 0) {
            p->sock = connect_socket(p->socket_path, err, err_len);
            if (p->sock < 0) {
                int e = p->sock;
                p->sock = -1;
                return e;
            }
        }
        int r = send(p->sock, p->request, (size_t)len, MSG_NOSIGNAL) < 0
                    ? reply_before_hang_up(p->sock, p->socket_path, "push", err, err_len)
                    : read_reply(p->sock, p->socket_path, err, err_len);
        int closed = r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN;
        if (r == RINGLOG_STATUS_OK || r == RINGLOG_STATUS_RETRY_LATER)
            return r;   /* the connection stays open for the next push */
        close(p->sock); /* after any other reply ringlogd closes it */
        p->sock = -1;
        if (!closed || attempt > 0)
            return r;
    }
}

int ringlog_push_send(const char* socket_path, const char* id, const char* stream,
                      const char* const* lines, size_t n_lines, char* err, size_t err_len) {
    struct ringlog_pusher* p = ringlog_pusher_open(socket_path, err, err_len);
    if (p == NULL)
        return -errno;
    int r = ringlog_pusher_send(p, id, stream, lines, NULL, n_lines, err, err_len);
    ringlog_pusher_close(p);
    return r;
}
