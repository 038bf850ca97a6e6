/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_hex.h - lowercase hex for keys, hashes and fingerprints in text files,
 * Redis fields and log lines (device state file, pins, enrollment tokens).
 */
#ifndef SGA_HEX_H
#define SGA_HEX_H

#include <stddef.h>
#include <stdint.h>

/** Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void sga_hex_encode(const uint8_t *in, size_t n, char *out);
/** Exactly 2n hex digits (either case), hex_len of them, into n bytes: 0 or -1. */
int sga_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t n);

#endif /* SGA_HEX_H */
