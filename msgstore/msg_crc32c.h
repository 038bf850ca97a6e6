/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg_crc32c.h - CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected form
 * 0x82F63B78, init and final xor 0xFFFFFFFF), the record checksum of the message
 * store (iSCSI, ext4 and SCTP use the same one; RFC 3720 appendix B.4 has test
 * vectors).
 *
 * Two implementations with identical results: the SSE4.2 `crc32` instruction
 * (8 bytes per instruction) when the CPU reports SSE4.2 - checked once, at the
 * first call - and a portable slicing-by-8 table version otherwise. Private to
 * msgstore/ (the tests include it to check both against the vectors).
 */
#ifndef SGA_MSG_CRC32C_H
#define SGA_MSG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/** CRC-32C of buf[0..len) continuing from `crc` (0 to start): crc32c(crc32c(0, a), b)
 *  equals crc32c(0, a || b). Thread-safe. */
uint32_t msg_crc32c(uint32_t crc, const void *buf, size_t len);

/** The table implementation, always available (tests compare both). */
uint32_t msg_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/** 1 if msg_crc32c uses the SSE4.2 instruction on this CPU. */
int msg_crc32c_hw(void);

#endif /* SGA_MSG_CRC32C_H */
