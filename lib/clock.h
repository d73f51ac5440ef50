/*
** The real clocks, for the I/O shells only.  Decision logic never calls these:
** it takes `now` as an argument (STYLE habit 7).
*/
#ifndef HASVC_LIB_CLOCK_H
#define HASVC_LIB_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds and nanoseconds. */
uint64_t clock_mono_ms(void);
uint64_t clock_mono_ns(void);
/* Wall clock, seconds since the epoch (for records shown to people). */
int64_t clock_wall_s(void);
int64_t clock_wall_ms(void); /* CLOCK_REALTIME in ms since the epoch */

#endif
