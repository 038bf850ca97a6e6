/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sga_check.h - the early-exit idiom of functions that return 0 or a negated
 * SGA_E_* code and clean up at one `out:` label: CHECK(expr) stores expr in the
 * local `rc` and jumps to `out` unless it is 0. For .c files only.
 */
#ifndef SGA_CHECK_H
#define SGA_CHECK_H

#define CHECK(expr)               \
	do {                      \
		rc = (expr);      \
		if (rc)           \
			goto out; \
	} while (0)

#endif /* SGA_CHECK_H */
