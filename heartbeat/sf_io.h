/*
** The statefile I/O thread: one thread per open statefile does the blocking
** reads and writes, so the event loop never waits for storage (STYLE habit 6).
**
** The loop submits requests (READ_ALL: one pread of the whole file; WRITE_SLOT:
** one pwrite of one slot sector) into a FIFO queue; the thread runs them in
** order and reports completions through an eventfd (sfio_fd) that the loop
** watches.  The loop collects results with sfio_poll().
**
** Deadlines.  Every request carries an absolute deadline in CLOCK_MONOTONIC
** milliseconds (lib/clock.h clock_mono_ms()).  The verdict depends only on
** whether the I/O finished by its deadline:
**   - finished in time            -> OK or EIO (with errno);
**   - not finished at the deadline -> TIMEOUT, reported by sfio_poll(now)
**     on the loop side, whatever the thread is doing.  A thread stuck in
**     pread/pwrite (a hung path) does not delay the verdict, and requests
**     queued behind it time out at their own deadlines and are never run;
**   - finished after its deadline -> TIMEOUT; the late result is discarded
**     and counted (stats.late), whether or not the loop had already reported
**     the timeout.
** So a hung path and an erroring path are both seen, promptly, as no storage
** access.  The loop arms its timer with sfio_next_deadline(); the eventfd
** only signals completions.
**
** Locking: the queue mutex is the only lock the loop shares with the thread
** and neither side holds it across I/O; the loop never blocks on the thread.
**
** Fault points (FAULTS=1 builds): "sf.io.hang" sleeps 10 s before an I/O (a
** hung path), "sf.io.eio" fails an I/O with EIO, "sf.open.nodirect" makes
** sfio_open() see O_DIRECT refused.
*/
#ifndef HASVC_HEARTBEAT_SF_IO_H
#define HASVC_HEARTBEAT_SF_IO_H

#include <stddef.h>
#include <stdint.h>

#include "heartbeat/statefile.h"

struct sfio;

enum sfio_op {
	SFIO_READ_ALL = 1,
	SFIO_WRITE_SLOT = 2,
};

enum sfio_status {
	SFIO_OK = 0,
	SFIO_EIO = 1,     /* the I/O failed (or was short): see err */
	SFIO_TIMEOUT = 2, /* not finished by its deadline */
};

struct sfio_result {
	uint64_t id; /* as returned by the submitting call */
	enum sfio_op op;
	unsigned index; /* WRITE_SLOT: the slot */
	enum sfio_status status;
	int err; /* SFIO_EIO: the errno (EIO for a short transfer) */
	uint64_t deadline;
	/* READ_ALL and OK: SF_FILE_SIZE bytes, owned by the caller (free with
	** sfio_result_clear or free()); otherwise NULL. */
	uint8_t *buf;
};

/*
** Latency histograms of the I/O itself: the time the thread spent on one
** request (pread/pwrite, and in FAULTS=1 builds the fault points' sleep),
** measured on the thread with CLOCK_MONOTONIC, whatever the result (OK, EIO,
** or late after its deadline).  A request still stuck in the kernel is in no
** bucket until it returns; one never run (timed out while queued) is in none.
** So a hung path shows as timeouts first, then as one huge latency.
**
** Bucket i (i < SFIO_HIST_BOUNDS) counts latencies <= sfio_hist_bound_us[i]
** and above the bound before it; bucket SFIO_HIST_BOUNDS counts the rest.
** The buckets are not cumulative (a reader adds them up for Prometheus' le).
*/
#define SFIO_HIST_BOUNDS 15
extern const uint64_t sfio_hist_bound_us[SFIO_HIST_BOUNDS];

struct sfio_hist {
	uint64_t bucket[SFIO_HIST_BOUNDS + 1];
	uint64_t count;
	uint64_t sum_us;
};

/* Count one latency of `us` microseconds into *h. */
void sfio_hist_add(struct sfio_hist *h, uint64_t us);

struct sfio_stats {
	uint64_t submitted;
	uint64_t ok;
	uint64_t eio;
	uint64_t timeouts;
	uint64_t late; /* results that came back after their deadline, discarded */
	struct sfio_hist read_lat, write_lat; /* this statefile's, since sfio_open */
};

/* Open the statefile at `path` (O_RDWR | O_DIRECT | O_DSYNC; without O_DIRECT
** if the filesystem refuses it with EINVAL, logged once per process) and
** start its thread.  A regular file must be at least SF_FILE_SIZE bytes.
** NULL on failure with a sentence in err[] naming the path. */
struct sfio *sfio_open(const char *path, char *err, size_t errlen);

/* Stop the thread and release everything.  Never blocks on the I/O: a
** thread stuck in pread/pwrite is left behind (it is detached) and exits,
** freeing what is left, when that call returns.  Results not yet polled are
** lost.  sfio_close(NULL) is a no-op. */
void sfio_close(struct sfio *s);

/* The eventfd that becomes readable when a completion is ready. */
int sfio_fd(const struct sfio *s);

/* 1 if the file was opened with O_DIRECT. */
int sfio_direct(const struct sfio *s);

/* Queue a read of the whole file / a write of slot `index` (the sector is
** copied).  `deadline` is absolute, CLOCK_MONOTONIC ms.  Returns the request
** id (nonzero); never blocks. */
uint64_t sfio_read_all(struct sfio *s, uint64_t deadline);
uint64_t sfio_write_slot(struct sfio *s, unsigned index, const uint8_t sector[SF_SECTOR],
                         uint64_t deadline);

/* Collect one result: a completion, or a TIMEOUT for a request whose
** deadline is <= now (CLOCK_MONOTONIC ms).  1 with *out filled, 0 if none.
** Call until it returns 0; the eventfd stays readable while completions
** remain.  Never blocks. */
int sfio_poll(struct sfio *s, uint64_t now, struct sfio_result *out);

/* The earliest deadline among requests not yet completed: 1 and *deadline,
** or 0 if there is none.  The loop arms its timer to call sfio_poll then. */
int sfio_next_deadline(struct sfio *s, uint64_t *deadline);

/* Requests submitted and not yet reported by sfio_poll. */
unsigned sfio_pending(struct sfio *s);

void sfio_get_stats(struct sfio *s, struct sfio_stats *out);

/* The latency histograms of every sfio of the process together, since the
** process started: what /metrics exports (hasvc/metrics.h).  Process-wide
** because a Prometheus histogram must never go back, and hasvcd closes and
** opens its statefile whenever HA is disabled and enabled again.  Either
** pointer may be NULL. */
void sfio_get_latency_totals(struct sfio_hist *read, struct sfio_hist *write);

/* Free a result's buffer (safe to call twice). */
void sfio_result_clear(struct sfio_result *r);

#endif
