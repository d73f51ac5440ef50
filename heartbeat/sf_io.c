/*
** The statefile I/O thread (contract in sf_io.h).
**
** One struct sfio is shared by the loop and the thread and freed by whichever
** lets go last (refs, under mu): sfio_close() never waits for a thread that
** may be stuck in the kernel for minutes.  Everything below mu is touched
** only under it, except the file descriptor (written once before the thread
** starts) and a RUNNING request's buffer, which belongs to the thread until
** it takes mu again.
**
** Requests live on one list in submission order until sfio_poll() reports
** them.  States: QUEUED (waiting for the thread), RUNNING (the thread is in
** its I/O), DONE (result ready).  When a RUNNING request's deadline passes,
** the loop reports TIMEOUT, unlinks it and marks it abandoned: the thread
** frees it (and counts it late) when its I/O returns.  A QUEUED request whose
** deadline passes is unlinked and freed by the loop and never run.
**
** Latency: the thread times each request's I/O (req_run) and counts it in
** the instance's histograms under mu and in the process-wide totals under
** totals_mu (sf_io.h); neither lock is held across I/O.
*/
#include "heartbeat/sf_io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/clock.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define SFIO_HANG_MS 10000 /* what the "sf.io.hang" fault point sleeps */

/* 100 us .. 30 s: a healthy local disk lands in the first few, multipath
** failover (the conservative profile's tens of seconds) in the last. */
const uint64_t sfio_hist_bound_us[SFIO_HIST_BOUNDS] = {
    100,    250,    500,     1000,    2500,    5000,     10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 5000000, 30000000,
};

/* Every sfio of the process together (sfio_get_latency_totals). */
static pthread_mutex_t totals_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sfio_hist totals_read, totals_write;

enum req_state {
	REQ_QUEUED,
	REQ_RUNNING,
	REQ_DONE,
};

struct sfio_req {
	struct sfio_req *next;
	uint64_t id;
	enum sfio_op op;
	unsigned index;
	uint64_t deadline;
	uint8_t *buf; /* SF_SECTOR-aligned; READ_ALL: SF_FILE_SIZE, WRITE: SF_SECTOR */
	enum req_state state;
	int abandoned; /* timed out while RUNNING: off the list, the thread frees it */
	enum sfio_status status;
	int err;
	uint64_t done_ms;
	uint64_t took_us; /* the I/O's latency (req_run) */
};

struct sfio {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs; /* 2 while both the loop and the thread hold it */
	int closing;
	int fd;  /* the statefile; used by the thread only */
	int efd; /* eventfd: completions ready */
	int direct;
	struct sfio_req *head, *tail;
	uint64_t next_id;
	struct sfio_stats stats;
};

static void
req_free(struct sfio_req *q)
{
	if (q == NULL)
		return;
	free(q->buf);
	xfree(q);
}

static uint8_t *
aligned_buf(size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, SF_SECTOR, size) != 0)
		fatalx("statefile: out of memory for an aligned %zu-byte buffer", size);
	memset(p, 0, size);
	return p;
}

static void
sfio_unref(struct sfio *s)
{
	int last;

	pthread_mutex_lock(&s->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (!last)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->efd >= 0)
		close(s->efd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	xfree(s);
}

static void
efd_signal(struct sfio *s)
{
	uint64_t one = 1;

	/* Nonblocking; EAGAIN (counter saturated) still leaves it readable. */
	if (write(s->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("statefile: eventfd write");
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Transfer all of `len` bytes at `off`; 0, or -1 with errno (EIO if short). */
static int
full_io(int fd, int write_op, uint8_t *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (write_op)
			n = pwrite(fd, buf + done, len - done, off + (off_t)done);
		else
			n = pread(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

void
sfio_hist_add(struct sfio_hist *h, uint64_t us)
{
	unsigned i = 0;

	while (i < SFIO_HIST_BOUNDS && us > sfio_hist_bound_us[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_us += us;
}

/* Count a finished request's latency; called with mu held. */
static void
req_count(struct sfio *s, const struct sfio_req *q)
{
	int rd = q->op == SFIO_READ_ALL;

	sfio_hist_add(rd ? &s->stats.read_lat : &s->stats.write_lat, q->took_us);
	pthread_mutex_lock(&totals_mu);
	sfio_hist_add(rd ? &totals_read : &totals_write, q->took_us);
	pthread_mutex_unlock(&totals_mu);
}

void
sfio_get_latency_totals(struct sfio_hist *read, struct sfio_hist *write)
{
	pthread_mutex_lock(&totals_mu);
	if (read != NULL)
		*read = totals_read;
	if (write != NULL)
		*write = totals_write;
	pthread_mutex_unlock(&totals_mu);
}

/* Run one request, without the lock. */
static void
req_run(struct sfio *s, struct sfio_req *q)
{
	uint64_t t0 = clock_mono_ns();
	int rc;

	if (FAULT("sf.io.hang"))
		sleep_ms(SFIO_HANG_MS);
	if (FAULT("sf.io.eio")) {
		errno = EIO;
		rc = -1;
	} else if (q->op == SFIO_READ_ALL) {
		rc = full_io(s->fd, 0, q->buf, SF_FILE_SIZE, 0);
	} else {
		rc = full_io(s->fd, 1, q->buf, SF_SECTOR, (off_t)(1 + q->index) * SF_SECTOR);
	}
	q->status = rc == 0 ? SFIO_OK : SFIO_EIO;
	q->err = rc == 0 ? 0 : errno;
	q->done_ms = clock_mono_ms();
	q->took_us = (clock_mono_ns() - t0) / 1000;
}

static void *
sfio_thread(void *arg)
{
	struct sfio *s = arg;
	struct sfio_req *q;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (q = s->head; q != NULL && q->state != REQ_QUEUED; q = q->next)
			;
		if (s->closing)
			break;
		if (q == NULL) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		q->state = REQ_RUNNING;
		pthread_mutex_unlock(&s->mu);
		req_run(s, q);
		pthread_mutex_lock(&s->mu);
		req_count(s, q);
		if (q->abandoned) {
			s->stats.late++;
			req_free(q);
			continue;
		}
		q->state = REQ_DONE;
		efd_signal(s);
	}
	pthread_mutex_unlock(&s->mu);
	sfio_unref(s);
	return NULL;
}

struct sfio *
sfio_open(const char *path, char *err, size_t errlen)
{
	static int logged_no_direct;
	struct sfio *s = xcalloc(1, sizeof(*s));
	pthread_attr_t attr;
	pthread_t t;
	struct stat st;

	s->fd = s->efd = -1;
	s->refs = 1;
	s->next_id = 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->direct = 1;
	if (FAULT("sf.open.nodirect")) { /* as tmpfs before Linux 6.6 */
		errno = EINVAL;
		s->fd = -1;
	} else {
		s->fd = open(path, O_RDWR | O_DIRECT | O_DSYNC | O_CLOEXEC);
	}
	if (s->fd < 0 && errno == EINVAL) {
		s->direct = 0;
		s->fd = open(path, O_RDWR | O_DSYNC | O_CLOEXEC);
		if (s->fd >= 0 && !__atomic_exchange_n(&logged_no_direct, 1, __ATOMIC_RELAXED))
			log_notice(
			    "statefile %s: the filesystem refuses O_DIRECT; using O_DSYNC only",
			    path);
	}
	if (s->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(s->fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISREG(st.st_mode) && st.st_size < SF_FILE_SIZE) {
		snprintf(err, errlen, "%s: %lld bytes, a statefile has %d", path,
		         (long long)st.st_size, SF_FILE_SIZE);
		goto fail;
	}
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		snprintf(err, errlen, "%s: eventfd: %s", path, strerror(errno));
		goto fail;
	}
	/* Detached: sfio_close() must not wait for a thread stuck in the kernel. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	s->refs = 2;
	if (pthread_create(&t, &attr, sfio_thread, s) != 0) {
		pthread_attr_destroy(&attr);
		s->refs = 1;
		snprintf(err, errlen, "%s: cannot start the I/O thread", path);
		goto fail;
	}
	pthread_attr_destroy(&attr);
	log_info("statefile %s: opened (%s)", path, s->direct ? "O_DIRECT" : "no O_DIRECT");
	return s;

fail:
	sfio_unref(s);
	return NULL;
}

void
sfio_close(struct sfio *s)
{
	struct sfio_req *q, *next;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->closing = 1;
	for (q = s->head; q != NULL; q = next) {
		next = q->next;
		if (q->state == REQ_RUNNING)
			q->abandoned = 1; /* the thread frees it */
		else
			req_free(q);
	}
	s->head = s->tail = NULL;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	sfio_unref(s);
}

int
sfio_fd(const struct sfio *s)
{
	return s->efd;
}

int
sfio_direct(const struct sfio *s)
{
	return s->direct;
}

static uint64_t
submit(struct sfio *s, enum sfio_op op, unsigned index, uint8_t *buf, uint64_t deadline)
{
	struct sfio_req *q = xcalloc(1, sizeof(*q));
	uint64_t id;

	q->op = op;
	q->index = index;
	q->buf = buf;
	q->deadline = deadline;
	q->state = REQ_QUEUED;
	pthread_mutex_lock(&s->mu);
	id = q->id = s->next_id++;
	if (s->tail != NULL)
		s->tail->next = q;
	else
		s->head = q;
	s->tail = q;
	s->stats.submitted++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return id;
}

uint64_t
sfio_read_all(struct sfio *s, uint64_t deadline)
{
	return submit(s, SFIO_READ_ALL, 0, aligned_buf(SF_FILE_SIZE), deadline);
}

uint64_t
sfio_write_slot(struct sfio *s, unsigned index, const uint8_t sector[SF_SECTOR], uint64_t deadline)
{
	uint8_t *buf;

	ha_assert(index < SF_MAX_HOSTS);
	buf = aligned_buf(SF_SECTOR);
	memcpy(buf, sector, SF_SECTOR);
	return submit(s, SFIO_WRITE_SLOT, index, buf, deadline);
}

static void
unlink_req(struct sfio *s, struct sfio_req *prev, struct sfio_req *q)
{
	if (prev != NULL)
		prev->next = q->next;
	else
		s->head = q->next;
	if (s->tail == q)
		s->tail = prev;
	q->next = NULL;
}

int
sfio_poll(struct sfio *s, uint64_t now, struct sfio_result *out)
{
	struct sfio_req *q, *prev = NULL;
	uint64_t drain;
	int more = 0;

	memset(out, 0, sizeof(*out));
	/* Nonblocking: EAGAIN when nothing was signalled. */
	if (read(s->efd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
		log_warn("statefile: eventfd read");
	pthread_mutex_lock(&s->mu);
	for (q = s->head; q != NULL; prev = q, q = q->next)
		if (q->state == REQ_DONE || q->deadline <= now)
			break;
	if (q == NULL) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	unlink_req(s, prev, q);
	out->id = q->id;
	out->op = q->op;
	out->index = q->index;
	out->deadline = q->deadline;
	if (q->state == REQ_DONE && q->done_ms <= q->deadline) {
		out->status = q->status;
		out->err = q->err;
		if (q->status == SFIO_OK) {
			s->stats.ok++;
			if (q->op == SFIO_READ_ALL) {
				out->buf = q->buf;
				q->buf = NULL;
			}
		} else {
			s->stats.eio++;
		}
		req_free(q);
	} else {
		out->status = SFIO_TIMEOUT;
		s->stats.timeouts++;
		if (q->state == REQ_DONE) {
			s->stats.late++; /* came back after its deadline: discarded */
			req_free(q);
		} else if (q->state == REQ_RUNNING) {
			q->abandoned = 1; /* the thread frees it when its I/O returns */
		} else {
			req_free(q); /* never run */
		}
	}
	for (q = s->head; q != NULL && !more; q = q->next)
		more = q->state == REQ_DONE;
	if (more)
		efd_signal(s);
	pthread_mutex_unlock(&s->mu);
	return 1;
}

int
sfio_next_deadline(struct sfio *s, uint64_t *deadline)
{
	struct sfio_req *q;
	int any = 0;

	pthread_mutex_lock(&s->mu);
	for (q = s->head; q != NULL; q = q->next) {
		if (q->state == REQ_DONE)
			continue;
		if (!any || q->deadline < *deadline)
			*deadline = q->deadline;
		any = 1;
	}
	pthread_mutex_unlock(&s->mu);
	return any;
}

unsigned
sfio_pending(struct sfio *s)
{
	struct sfio_req *q;
	unsigned n = 0;

	pthread_mutex_lock(&s->mu);
	for (q = s->head; q != NULL; q = q->next)
		n++;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void
sfio_get_stats(struct sfio *s, struct sfio_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->stats;
	pthread_mutex_unlock(&s->mu);
}

void
sfio_result_clear(struct sfio_result *r)
{
	free(r->buf);
	r->buf = NULL;
}
