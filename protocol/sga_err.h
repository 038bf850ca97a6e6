/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_err.h - every protocol error SGA can report, as one X-macro list.
 *
 * The list generates the enum (returned negated by library functions), the
 * names used in logs and the numbers carried by ERROR frames and NEG_RESULT
 * status bytes. Numbers are part of the wire format: never renumber, only add.
 */
#ifndef SGA_ERR_H
#define SGA_ERR_H

/*      name               num  description */
#define SGA_ERRORS(X)                                                                              \
	X(OK, 0, "success")                                                                        \
	X(TRUNCATED, 1, "frame shorter than its header or a field says")                           \
	X(OVERSIZED, 2, "frame or field longer than the protocol allows")                          \
	X(BAD_VERSION, 3, "unsupported protocol version")                                          \
	X(BAD_TYPE, 4, "unknown or unexpected message type")                                       \
	X(BAD_LENGTH, 5, "a length field disagrees with the frame or the negotiated parameters")   \
	X(TRAILING, 6, "bytes after the last field")                                               \
	X(BAD_FIELD, 7, "a field holds a value outside its domain")                                \
	X(AUTH, 8, "authentication failed (tag, MAC or proof)")                                    \
	X(REPLAY, 9, "stale or repeated counter, nonce or sequence number")                        \
	X(UNKNOWN_DEVICE, 10, "no device registered under this identity")                          \
	X(UNKNOWN_SESSION, 11, "no session with this identifier")                                  \
	X(EXISTS, 12, "identity already registered; re-registration needs the old key")            \
	X(ENROLL_DENIED, 13, "enrollment policy refused the device (allow-list or token)")         \
	X(NO_COMMON_SUITE, 14, "no cipher suite in both devices' sets and the gateway's")          \
	X(BAD_STATE, 15, "message not valid in the current state")                                 \
	X(BAD_ELEMENT, 16, "group element outside [2, p-2]")                                       \
	X(DECLINED, 17, "the peer declined the session")                                           \
	X(CRYPTO, 18, "crypto library failure")                                                    \
	X(NOSPACE, 19, "output buffer too small")                                                  \
	X(BAD_PACKAGE, 20, "gateway package malformed or not the pinned one")                      \
	X(UNAVAILABLE, 21, "gateway state store unavailable; retry later")                         \
	X(INTERNAL, 22, "internal error")                                                          \
	X(KEY_CONFIRM, 23, "key confirmation failed: the two devices derived different keys")      \
	X(SESSION_CLOSED, 24, "the session was closed (by a device, the gateway or the operator)") \
	X(REVOKED, 25, "the device's registration was revoked by the operator")                    \
	X(NO_COMMON_GROUP, 26, "the two devices registered with different profiles (groups)")

enum sga_err {
#define SGA_ERR_ENUM(name, num, desc) SGA_E_##name = num,
	SGA_ERRORS(SGA_ERR_ENUM)
#undef SGA_ERR_ENUM
	    SGA_E__COUNT
};

/** "TRUNCATED", ... for a (positive or negated) code; "UNKNOWN" otherwise. */
const char *sga_err_name(int code);
/** Human description for a (positive or negated) code. */
const char *sga_err_desc(int code);

#endif /* SGA_ERR_H */
