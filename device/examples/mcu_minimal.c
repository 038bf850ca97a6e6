/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mcu_minimal.c - the smallest device on the portable core (device/core):
 * register, connect to "sensor-sink", send one message, close.
 *
 * Everything board-specific is one small static function below (clock,
 * radio, flash, TRNG): a board port replaces their bodies and keeps the rest.
 * scripts/footprint.sh cross-compiles this file for a Cortex-M4 and reports
 * its size; on the host it only has to compile.
 */
#include <string.h>

#include "sga_core.h"
#ifdef SGA_MCU_PORTABLE
#include "sga_portable.h"
#endif

/* The gateway's package body (sga-gateway writes it; PROTOCOL.md 5), pinned
 * at build time. The placeholder byte makes sga_core_init refuse to start. */
static const uint8_t gateway_package[] = {0x00};
static const uint8_t my_id[] = "sensor-0001";
static const uint8_t peer_id[] = "sensor-sink";
static const uint8_t my_suites[] = {SGA_SUITE_AES128_CCM8, SGA_SUITE_AES128_GCM};

static struct sga_core core; /* the whole device state: its size is known at link time */
static struct sga_core_persist flash_copy;
static int flash_valid;
static volatile uint64_t ticks_ms; /* a SysTick handler would count this */
static int done;

static uint64_t board_now_ms(void *ctx)
{
	(void)ctx;
	return ticks_ms;
}

static int board_radio_send(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	(void)frame;
	(void)len;
	return 0; /* hand the datagram to the UDP/6LoWPAN stack */
}

/* Returns the length of a datagram that arrived (the radio's interrupt
 * handler filled buf and set radio_rx_len), 0 if none. */
static volatile size_t radio_rx_len;

static size_t board_radio_recv(uint8_t *buf, size_t cap)
{
	size_t n = radio_rx_len;

	(void)buf;
	radio_rx_len = 0;
	return n <= cap ? n : 0;
}

static int board_flash_save(void *ctx, const struct sga_core_persist *st)
{
	(void)ctx;
	flash_copy = *st; /* program a flash page and wait for it: durable on return */
	flash_valid = 1;
	return 0;
}

#ifdef SGA_MCU_PORTABLE
static int board_trng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0, len); /* read the TRNG's data register */
	return -1;           /* until a board fills it in: fail closed */
}
#endif

static void on_event(void *ctx, const struct sga_core_event *ev)
{
	static const uint8_t hello[] = "21.5 C";

	(void)ctx;
	switch (ev->type) {
	case SGA_CORE_EV_REGISTERED:
		if (sga_core_connect(&core, peer_id, sizeof(peer_id) - 1))
			done = 1;
		break;
	case SGA_CORE_EV_ESTABLISHED:
		if (sga_core_send(&core, hello, sizeof(hello) - 1, NULL))
			done = 1;
		break;
	case SGA_CORE_EV_ACKED:
		if (sga_core_close(&core))
			done = 1;
		break;
	default: /* failures, CLOSED */
		done = 1;
		break;
	}
}

int main(void)
{
	static uint8_t rx[SGA_FRAME_MAX];
	const struct sga_core_io io = {
	    .now_ms = board_now_ms,
	    .send = board_radio_send,
	    .save = board_flash_save,
	    .event = on_event,
	};

#ifdef SGA_MCU_PORTABLE
	sga_portable_set_random(board_trng, NULL);
#endif
	if (sga_core_init(&core, &io, gateway_package, sizeof(gateway_package),
	                  flash_valid ? &flash_copy : NULL, my_id, sizeof(my_id) - 1, my_suites,
	                  sizeof(my_suites)))
		return 1;
	if (sga_core_register(&core, NULL, 0))
		return 1;
	while (!done) {
		size_t n = board_radio_recv(rx, sizeof(rx));

		if (n)
			sga_core_input(&core, rx, n);
		sga_core_poll(&core);
		ticks_ms++; /* a board sleeps until the radio or sga_core_next_timer() wakes it */
	}
	sga_core_fini(&core);
	return 0;
}
