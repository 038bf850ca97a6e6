/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_notify.h - systemd's readiness protocol (sd_notify) without libsystemd.
 *
 * Under a unit with Type=notify, systemd passes $NOTIFY_SOCKET; the gateway
 * says READY=1 once it serves (ports up, workers running), STOPPING=1 when it
 * begins to stop, and a one-line STATUS= in between. Outside systemd (no
 * $NOTIFY_SOCKET) every call does nothing. The protocol is one datagram per
 * message on a unix socket (sd_notify(3)); it is small enough to carry here
 * rather than add a library dependency.
 */
#ifndef SGA_GW_NOTIFY_H
#define SGA_GW_NOTIFY_H

/** Send one sd_notify message ("READY=1", "STATUS=..."). 1 sent, 0 not under
 *  systemd, -errno on failure. */
int gw_notify(const char *msg);

#endif /* SGA_GW_NOTIFY_H */
