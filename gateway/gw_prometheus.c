/* SPDX-License-Identifier: BSD-3-Clause */
/* gw_prometheus.c - see gw_prometheus.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_metrics.h"
#include "gw_prometheus.h"

/* "a.b.c.d:port" -> sockaddr; 0 or -1. */
static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	char ip[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(ip))
		return -1;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

#ifdef SGA_HAVE_MHD
#include <microhttpd.h>

struct gw_prom {
	struct MHD_Daemon *d;
	const struct gw_telemetry_src *src;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **con_cls)
{
	struct gw_prom *p = cls;
	struct MHD_Response *r;
	struct gw_metrics *m;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		buf = strdup("GET /metrics\n");
	} else if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		buf = strdup("the metrics are at /metrics\n");
	} else if ((m = malloc(sizeof(*m))) && (f = open_memstream(&buf, &len))) {
		gw_metrics_take(p->src, m);
		gw_metrics_prometheus(m, f);
		fclose(f);
		free(m);
	} else {
		free(m);
		return MHD_NO;
	}
	if (!buf)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(buf), buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type",
	                        status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
	                                              : "text/plain");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

struct gw_prom *gw_prom_start(const char *listen, const struct gw_telemetry_src *src, char *err,
                              size_t err_len)
{
	struct sockaddr_in sa;
	struct gw_prom *p;

	if (parse_listen(listen, &sa)) {
		snprintf(err, err_len, "metrics_listen = %s: expected IPv4:PORT", listen);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	p->src = src;
	/* One internal thread; scrapes are rare and small, so a few connections. */
	p->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, ntohs(sa.sin_port), NULL, NULL,
	                        answer, p, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT,
	                        10u, MHD_OPTION_END);
	if (!p->d) {
		snprintf(err, err_len, "metrics_listen = %s: cannot listen: %s", listen,
		         strerror(errno ? errno : EADDRINUSE));
		free(p);
		return NULL;
	}
	return p;
}

void gw_prom_stop(struct gw_prom *p)
{
	if (!p)
		return;
	MHD_stop_daemon(p->d);
	free(p);
}
#else
struct gw_prom {
	int unused;
};

struct gw_prom *gw_prom_start(const char *listen, const struct gw_telemetry_src *src, char *err,
                              size_t err_len)
{
	struct sockaddr_in sa;

	(void)src;
	if (parse_listen(listen, &sa))
		snprintf(err, err_len, "metrics_listen = %s: expected IPv4:PORT", listen);
	else
		snprintf(err, err_len,
		         "metrics_listen = %s: this build has no HTTP endpoint (libmicrohttpd-dev "
		         "was not installed when it was configured)",
		         listen);
	return NULL;
}

void gw_prom_stop(struct gw_prom *p)
{
	(void)p;
}
#endif
