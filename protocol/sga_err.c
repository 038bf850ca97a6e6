/* SPDX-License-Identifier: BSD-3-Clause */
/* sga_err.c - names and descriptions generated from the SGA_ERRORS list. */
#include "sga_err.h"

static const char *const err_names[] = {
#define SGA_ERR_NAME(name, num, desc) [num] = #name,
    SGA_ERRORS(SGA_ERR_NAME)
#undef SGA_ERR_NAME
};

static const char *const err_descs[] = {
#define SGA_ERR_DESC(name, num, desc) [num] = desc,
    SGA_ERRORS(SGA_ERR_DESC)
#undef SGA_ERR_DESC
};

static int err_index(int code)
{
	if (code < 0)
		code = -code;
	return (code < SGA_E__COUNT && err_names[code]) ? code : -1;
}

const char *sga_err_name(int code)
{
	int i = err_index(code);
	return i < 0 ? "UNKNOWN" : err_names[i];
}

const char *sga_err_desc(int code)
{
	int i = err_index(code);
	return i < 0 ? "unknown error" : err_descs[i];
}
