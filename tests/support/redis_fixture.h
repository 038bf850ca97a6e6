/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * redis_fixture.h - a private redis-server per test, on a unix socket in a
 * fresh temporary directory, for the suites that exercise the Redis store.
 * Bounded waits everywhere; the server dies with the test process.
 */
#ifndef SGA_TEST_REDIS_FIXTURE_H
#define SGA_TEST_REDIS_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

struct redis_fx {
	pid_t pid;
	char dir[64];
	char sock[96];
};
extern struct redis_fx redis_fx;

/** Make a temporary directory (prefix e.g. "/tmp/sga-store") and start the server. */
void redis_fx_setup(const char *prefix);
/** Kill the server and remove the directory. */
void redis_fx_teardown(void);
/** Start (again) a server on the same socket; waits until it answers PING (10 s). */
void redis_fx_spawn(void);
/** The same, with `--requirepass pass` (pass NULL: none); waits until AUTH succeeds. */
void redis_fx_spawn_auth(const char *pass);
/** Kill the server (SIGKILL) and remove its socket. */
void redis_fx_kill(void);
/** One command on a fresh connection; asserts it got a reply. */
redisReply *redis_fx_cmd(const char *fmt, ...);

/** Fork and exec argv (stdio on /dev/null, killed with the test process). */
pid_t fx_spawn(char *const argv[]);

/** 1 if nothing listens on 127.0.0.1:port (a bind succeeds). */
int fx_port_free(int port);
/** One command on a fresh TCP connection to 127.0.0.1:port with a 1 s
 *  timeout: the reply, or NULL (no server, no reply). */
redisReply *fx_try_cmd(int port, const char *fmt, ...);

uint64_t fx_now_ms(void);
void fx_msleep(unsigned ms);

#endif
