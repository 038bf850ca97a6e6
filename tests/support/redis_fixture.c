/* SPDX-License-Identifier: BSD-3-Clause */
/* redis_fixture.c - see redis_fixture.h. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis_fixture.h"

struct redis_fx redis_fx;

uint64_t fx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fx_msleep(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

void redis_fx_spawn(void)
{
	redis_fx_spawn_auth(NULL);
}

pid_t fx_spawn(char *const argv[])
{
	pid_t pid = fork();

	cr_assert(pid >= 0, "fork");
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

void redis_fx_spawn_auth(const char *pass)
{
	char *argv[] = {"redis-server", "--port",        "0",          "--unixsocket",
	                redis_fx.sock,  "--save",        "",           "--appendonly",
	                "no",           "--daemonize",   "no",         "--dir",
	                redis_fx.dir,   "--requirepass", (char *)pass, NULL};
	pid_t pid;

	if (!pass)
		argv[13] = NULL; /* no --requirepass */
	pid = fx_spawn(argv);
	redis_fx.pid = pid;
	for (uint64_t t0 = fx_now_ms(); fx_now_ms() - t0 < 10000; fx_msleep(10)) {
		struct timeval tv = {1, 0};
		redisContext *c = redisConnectUnixWithTimeout(redis_fx.sock, tv);
		redisReply *r = NULL;
		int ok;

		cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0, "redis-server exited");
		if (c && !c->err)
			r = pass ? redisCommand(c, "AUTH %s", pass) : redisCommand(c, "PING");
		ok = r && r->type == REDIS_REPLY_STATUS && (pass || !strcmp(r->str, "PONG"));
		if (r)
			freeReplyObject(r);
		if (c)
			redisFree(c);
		if (ok)
			return;
	}
	cr_assert_fail("redis-server did not answer %s within 10 s", pass ? "AUTH" : "PING");
}

void redis_fx_kill(void)
{
	if (redis_fx.pid > 0) {
		kill(redis_fx.pid, SIGKILL);
		waitpid(redis_fx.pid, NULL, 0);
		redis_fx.pid = 0;
	}
	unlink(redis_fx.sock);
}

void redis_fx_setup(const char *prefix)
{
	snprintf(redis_fx.dir, sizeof(redis_fx.dir), "%s-XXXXXX", prefix);
	cr_assert_not_null(mkdtemp(redis_fx.dir));
	snprintf(redis_fx.sock, sizeof(redis_fx.sock), "%s/r.sock", redis_fx.dir);
	redis_fx_spawn();
}

void redis_fx_teardown(void)
{
	redis_fx_kill();
	rmdir(redis_fx.dir);
}

redisReply *redis_fx_cmd(const char *fmt, ...)
{
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectUnixWithTimeout(redis_fx.sock, tv);
	redisReply *r;
	va_list ap;

	cr_assert(c && !c->err, "connect to the test redis-server");
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	cr_assert_not_null(r);
	return r;
}

int fx_port_free(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

redisReply *fx_try_cmd(int port, const char *fmt, ...)
{
	struct timeval tv = {1, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r = NULL;
	va_list ap;

	if (c && !c->err) {
		redisSetTimeout(c, tv);
		va_start(ap, fmt);
		r = redisvCommand(c, fmt, ap);
		va_end(ap);
	}
	if (c)
		redisFree(c);
	return r;
}
