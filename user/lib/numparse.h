/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Numbers from the command line and config files, read whole and checked:
 * "12x", "", " 3", "-1" for an unsigned, "nan" and a value out of range are
 * errors, never a silent 0 or a wrapped value (as atoi()/atof() would give).
 */
#ifndef PRESAGE_NUMPARSE_H
#define PRESAGE_NUMPARSE_H

#include <stdint.h>

/* All of @s is a finite number (strtod syntax, no leading space) in
 * [@lo, @hi]: 0; -EINVAL not a number; -ERANGE outside. */
int parse_dbl(const char *s, double lo, double hi, double *out);

/* All of @s is decimal digits (no sign, no space) in [@lo, @hi]: 0;
 * -EINVAL not such a number; -ERANGE outside (or too large for 64 bits). */
int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

#endif
