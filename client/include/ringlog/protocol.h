/* The ringlogd attach protocol, version 1: the constants both sides share.
 *
 * The full description is in docs/protocol.md; in short:
 *
 *   An engine connects to the ingest socket (AF_UNIX, SOCK_SEQPACKET; default
 *   /run/ringlogd/ingest.sock) and sends exactly one datagram:
 *
 *     request  = header field*             (at most RINGLOG_MAX_REQUEST_BYTES)
 *     header   = magic:u32 "RLGQ" version:u16 type:u16       (8 bytes)
 *     field    = tag:u16 reserved:u16(0) length:u32 value:length bytes
 *
 *   with one SCM_RIGHTS control message carrying 1 or 2 fds: [stdout] or
 *   [stdout, stderr]. All integers are little-endian. Every value is a byte
 *   string (sizes and modes in their textual form, e.g. "1m", "non-blocking");
 *   LABEL, ENV and LOG_OPT values are "key=value" and may repeat.
 *
 *   ringlogd answers with exactly one datagram and closes the connection:
 *
 *     reply    = magic:u32 "RLGR" version:u16 status:u16 message:rest (UTF-8)
 *
 *   status 0 means the container is attached and ringlogd owns its output;
 *   any other status is one of ringlog_status below and the message says
 *   what was wrong, naming the field or option.
 */
#ifndef RINGLOG_PROTOCOL_H
#define RINGLOG_PROTOCOL_H

#include <stdint.h>

#define RINGLOG_REQUEST_MAGIC 0x51474c52u /* "RLGQ" read as little-endian bytes */
#define RINGLOG_REPLY_MAGIC 0x52474c52u   /* "RLGR" */
/* The newest version this header speaks. A client sends the lowest version that carries its
 * request (an attach without version-2 fields is sent as version 1), so that a newer library
 * works with an older ringlogd; ringlogd accepts every version from 1 to its own. */
#define RINGLOG_PROTOCOL_VERSION 2
#define RINGLOG_PROTOCOL_MIN_VERSION 1
#define RINGLOG_MSG_ATTACH 1
#define RINGLOG_MSG_PUSH 2 /* version 2: records sent in the datagram, no fds */

#define RINGLOG_MAX_REQUEST_BYTES 65536
#define RINGLOG_MAX_REPLY_BYTES 4096
#define RINGLOG_MAX_FDS 2
#define RINGLOG_DEFAULT_SOCKET "/run/ringlogd/ingest.sock"

enum ringlog_field_tag {
    RINGLOG_FIELD_ID = 1,              /* full container id, required */
    RINGLOG_FIELD_NAME = 2,            /* container name */
    RINGLOG_FIELD_IMAGE = 3,           /* image name */
    RINGLOG_FIELD_LABEL = 4,           /* "key=value", repeated */
    RINGLOG_FIELD_DRIVER = 5,          /* log driver name; the daemon's default if absent */
    RINGLOG_FIELD_LOG_OPT = 6,         /* "key=value", repeated, docker's --log-opt */
    RINGLOG_FIELD_MODE = 7,            /* "blocking" or "non-blocking" */
    RINGLOG_FIELD_MAX_BUFFER_SIZE = 8, /* e.g. "1m" */
    RINGLOG_FIELD_ENV = 9,             /* "KEY=value", repeated, for the env log-opt */
    /* Version 2. */
    RINGLOG_FIELD_PUSH_ONLY = 10, /* attach: no fds, the container's records are pushed */
    RINGLOG_FIELD_STREAM = 11,    /* push: "stdout" or "stderr" */
    RINGLOG_FIELD_LINE = 12,      /* push: one record's message, repeated */
    RINGLOG_FIELD_LOG_DIR = 13,   /* attach: a directory of log files to follow, repeatable */
    RINGLOG_FIELD_LOG_GLOB = 14,  /* attach: which files of the log directories, e.g. "*.log" */
};

enum ringlog_status {
    RINGLOG_STATUS_OK = 0,
    RINGLOG_STATUS_BAD_REQUEST = 1,       /* malformed datagram or field */
    RINGLOG_STATUS_UNSUPPORTED = 2,       /* unknown version or message type */
    RINGLOG_STATUS_PERMISSION_DENIED = 3, /* peer is neither root nor in the allowed group */
    RINGLOG_STATUS_INVALID_ARGUMENT = 4,  /* a field or option has a bad value */
    RINGLOG_STATUS_BAD_FDS = 5,           /* wrong number or kind of file descriptors */
    RINGLOG_STATUS_BUSY = 6,              /* the container id is attached already */
    RINGLOG_STATUS_LIMIT = 7,             /* a configured limit was reached */
    RINGLOG_STATUS_DRIVER_ERROR = 8,      /* the log driver could not start */
    RINGLOG_STATUS_SHUTTING_DOWN = 9,     /* the daemon is stopping */
    RINGLOG_STATUS_INTERNAL =
        10, /* a bug in ringlogd: the request was refused, nothing else harmed */
    RINGLOG_STATUS_RETRY_LATER = 11, /* push: the ring is full (blocking) or the push rate is
                                        spent; nothing of the request was taken */
};

#endif
