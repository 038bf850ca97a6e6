/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_hello.c - the smallest program on the device SDK: register an identity
 * with an SGA gateway and say how it went. Build it against an installed SDK:
 *
 *   cc sga_hello.c $(pkg-config --cflags --libs sga-client) -o sga-hello
 *   ./sga-hello 10.77.0.1 7000 meter-1 meter-1.state gateway.pkg
 *
 * The state file holds the identity and its key (created, mode 0600): keep it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sga_client.h>

int main(int argc, char **argv)
{
	struct sga_client_config cfg = {0};
	struct sga_client *c;
	int err = 0, rc;

	if (argc != 6) {
		fprintf(stderr, "usage: %s GATEWAY_IP PORT ID STATE_FILE PACKAGE_FILE\n", argv[0]);
		return 2;
	}
	cfg.gateway_ip = argv[1];
	cfg.gateway_port = (uint16_t)atoi(argv[2]);
	cfg.id = argv[3];
	cfg.state_path = argv[4];
	cfg.package_path = argv[5];
	c = sga_client_open(&cfg, &err);
	if (!c) {
		fprintf(stderr, "sga-hello: open: %s\n", sga_client_strerror(err));
		return 1;
	}
	rc = sga_client_register(c, NULL);
	if (rc)
		fprintf(stderr, "sga-hello: register: %s (%s)\n", sga_client_strerror(rc),
		        sga_client_detail(c));
	else
		printf("sga-hello: %s registered\n", cfg.id);
	sga_client_close(c);
	return rc ? 1 : 0;
}
