/*
** hasvc-sffuse: one lab host's own view of the shared statefile, with a
** storage fault switch (docs/hasvc-lab.md, "Storage faults").
**
**   hasvc-sffuse --backing PATH --mount DIR --control CTLFILE [--foreground] [-v]
**
** A FUSE filesystem (libfuse3, high-level API, multi-threaded) mounted on DIR
** that holds one file, DIR/statefile, of the backing file's size.  Reads and
** writes of it are pread/pwrite on PATH; fsync, fdatasync and flush (close)
** are fdatasync on PATH, and so is every write through a descriptor opened
** with O_DSYNC or O_SYNC (with direct_io the kernel sends no fsync for
** them).  Several instances may serve one backing file (one per lab host):
** every request goes to PATH, which they all share, so each sees the others'
** writes at once.  The file's size is PATH's at start and cannot change.
**
** Faults.  CTLFILE holds one word, `ok`, `error` or `hang` (a missing file is
** `ok`; a file with anything else keeps the previous mode).  It is read again
** at the start of every read, write, fsync and flush, so a change is seen by
** the next request:
**   ok     pass-through;
**   error  the request fails with EIO;
**   hang   the request blocks: its FUSE worker waits on a condition variable,
**          re-reading CTLFILE every 50 ms, until the mode leaves `hang`, then
**          carries on in the new mode (so `hang` then `error` fails the hung
**          requests, `hang` then `ok` completes them).  The caller sleeps in
**          the kernel (request_wait_answer), as on a dead iSCSI path: it does
**          not return, and after SIGKILL it stays in D state until the mode
**          changes or this daemon exits (FUSE interrupts are ignored, as a
**          dead path ignores signals).
** Write the file atomically (a temporary file and rename) so that a reader
** never sees half a word.  Lookups, getattr and open never fault.
**
** Page cache.  The file is opened with direct_io: the kernel keeps no page
** cache for it and sends every read and write to this daemon, so a fault is
** seen by every request and another instance's writes are never hidden.  An
** open with O_DIRECT succeeds (FUSE accepts it; with direct_io it changes
** nothing) and, unlike a block device, unaligned O_DIRECT transfers are not
** refused with EINVAL.
**
** Stopping.  SIGTERM, SIGINT or SIGHUP: hung requests fail with EIO, the
** daemon unmounts DIR (lazily, so it works while callers hold the file) and
** exits 0.  If it dies some other way, the kernel fails every request with
** ENOTCONN and DIR must be unmounted by hand (fusermount3 -u -z DIR).
**
** Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fuse3/fuse.h>
#include <fuse3/fuse_lowlevel.h>

#define SFF_FILE       "statefile"
#define SFF_PATH       "/" SFF_FILE
#define SFF_POLL_MS    50
#define SFF_MAX_THREAD 64

enum sff_mode {
	SFF_OK = 0,
	SFF_ERROR = 1,
	SFF_HANG = 2,
};

static const char *const sff_mode_names[] = {"ok", "error", "hang"};

/* Set once in main before the loop starts; read-only afterwards. */
static struct {
	int fd;            /* the backing file, O_RDWR */
	off_t size;        /* its size at start: the size of DIR/statefile */
	struct stat st;    /* its owner, mode and times at start */
	char *control;     /* CTLFILE, absolute */
	int verbose;       /* -v: log requests and mode changes to stderr */
	struct fuse *fuse; /* to see fuse_session_exited() while hung */
} sff;

/* The mode, shared by the workers; the condition variable wakes the hung
** ones when a request sees the mode change. */
static pthread_mutex_t sff_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sff_cond;
static enum sff_mode sff_mode = SFF_OK;

static void sff_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sff_log(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!sff.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "hasvc-sffuse: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	errno = saved;
}

/* Parse the control file's content: 0 and *out set, or -1 (not a mode). */
static int
sff_mode_parse(const char *s, enum sff_mode *out)
{
	size_t n = strcspn(s, " \t\r\n");
	unsigned i;

	for (i = 0; i < sizeof(sff_mode_names) / sizeof(sff_mode_names[0]); i++) {
		if (strlen(sff_mode_names[i]) == n && strncmp(s, sff_mode_names[i], n) == 0 &&
		    s[n + strspn(s + n, " \t\r\n")] == '\0') {
			*out = (enum sff_mode)i;
			return 0;
		}
	}
	return -1;
}

/* Read CTLFILE and update the shared mode; called with sff_lock held.
** Wakes the hung workers when the mode changes.  Returns the mode. */
static enum sff_mode
sff_mode_reload_locked(void)
{
	char buf[64];
	enum sff_mode m = SFF_OK;
	ssize_t n;
	int fd;

	fd = open(sff.control, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT) {
			sff_log("%s: %s; mode stays %s", sff.control, strerror(errno),
				sff_mode_names[sff_mode]);
			return sff_mode;
		}
		/* No control file: ok. */
	} else {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0 || (size_t)n >= sizeof(buf) - 1) {
			sff_log("%s: unreadable or too long; mode stays %s", sff.control,
				sff_mode_names[sff_mode]);
			return sff_mode;
		}
		buf[n] = '\0';
		if (sff_mode_parse(buf, &m) < 0) {
			sff_log("%s: not ok, error or hang; mode stays %s", sff.control,
				sff_mode_names[sff_mode]);
			return sff_mode;
		}
	}
	if (m != sff_mode) {
		sff_log("mode %s -> %s", sff_mode_names[sff_mode], sff_mode_names[m]);
		sff_mode = m;
		pthread_cond_broadcast(&sff_cond);
	}
	return sff_mode;
}

static int
sff_exiting(void)
{
	return sff.fuse != NULL && fuse_session_exited(fuse_get_session(sff.fuse));
}

/* The fault gate at the start of every I/O request: 0 to go on, -EIO to fail
** it.  In `hang` it blocks until the mode changes or the daemon stops. */
static int
sff_gate(const char *op)
{
	struct timespec ts;
	enum sff_mode m;
	int hung = 0;

	pthread_mutex_lock(&sff_lock);
	m = sff_mode_reload_locked();
	while (m == SFF_HANG && !sff_exiting()) {
		if (!hung)
			sff_log("%s: hung", op);
		hung = 1;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += SFF_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&sff_cond, &sff_lock, &ts);
		m = sff_mode_reload_locked();
	}
	pthread_mutex_unlock(&sff_lock);
	if (m == SFF_HANG) {
		sff_log("%s: hung request failed (stopping)", op);
		return -EIO;
	}
	if (hung)
		sff_log("%s: released, mode %s", op, sff_mode_names[m]);
	if (m == SFF_ERROR) {
		sff_log("%s: EIO (mode error)", op);
		return -EIO;
	}
	return 0;
}

static void *
sff_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->direct_io = 1;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->use_ino = 0;
	cfg->attr_timeout = 1.0;
	cfg->entry_timeout = 1.0;
	cfg->negative_timeout = 0;
	return NULL;
}

static int
sff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	st->st_uid = sff.st.st_uid;
	st->st_gid = sff.st.st_gid;
	st->st_atim = sff.st.st_atim;
	st->st_mtim = sff.st.st_mtim;
	st->st_ctim = sff.st.st_ctim;
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, SFF_PATH) == 0) {
		st->st_mode = S_IFREG | (sff.st.st_mode & 0777);
		st->st_nlink = 1;
		st->st_size = sff.size;
		st->st_blksize = 4096;
		st->st_blocks = (sff.size + 511) / 512;
		return 0;
	}
	return -ENOENT;
}

static int
sff_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
	    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOTDIR;
	if (fill(buf, ".", NULL, 0, 0) || fill(buf, "..", NULL, 0, 0) ||
	    fill(buf, SFF_FILE, NULL, 0, 0))
		return -ENOMEM;
	return 0;
}

static int
sff_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, SFF_PATH) != 0)
		return strcmp(path, "/") == 0 ? -EISDIR : -ENOENT;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	sff_log("open flags 0x%x%s", (unsigned)fi->flags,
		(fi->flags & O_DIRECT) ? " (O_DIRECT)" : "");
	return 0;
}

/* The file's size cannot change: truncating to its size is accepted (an
** O_TRUNC of nothing), anything else is refused. */
static int
sff_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	if (strcmp(path, SFF_PATH) != 0)
		return -ENOENT;
	return size == sff.size ? 0 : -EPERM;
}

static int
sff_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	size_t done = 0;
	ssize_t n;
	int rc;

	(void)fi;
	if (strcmp(path, SFF_PATH) != 0)
		return -ENOENT;
	if ((rc = sff_gate("read")) < 0)
		return rc;
	if (off < 0)
		return -EINVAL;
	if (off >= sff.size)
		return 0;
	if ((off_t)size > sff.size - off)
		size = (size_t)(sff.size - off);
	if (size > INT_MAX)
		size = INT_MAX;
	while (done < size) {
		n = pread(sff.fd, buf + done, size - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done ? (int)done : -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	sff_log("read %zu at %jd: %zu", size, (intmax_t)off, done);
	return (int)done;
}

/* Like a block device: a write past the end is cut at the end, one that
** starts at or after it fails with ENOSPC. */
static int
sff_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	size_t done = 0;
	ssize_t n;
	int rc;

	if (strcmp(path, SFF_PATH) != 0)
		return -ENOENT;
	if ((rc = sff_gate("write")) < 0)
		return rc;
	if (off < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	if (off >= sff.size)
		return -ENOSPC;
	if ((off_t)size > sff.size - off)
		size = (size_t)(sff.size - off);
	if (size > INT_MAX)
		size = INT_MAX;
	while (done < size) {
		n = pwrite(sff.fd, buf + done, size - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done ? (int)done : -errno;
		if (n == 0)
			return done ? (int)done : -EIO;
		done += (size_t)n;
	}
	/* The kernel sends no fsync for an O_DSYNC write with direct_io:
	** the write is synchronous here instead, as the caller asked. */
	if ((fi->flags & (O_DSYNC | O_SYNC)) && fdatasync(sff.fd) < 0)
		return -errno;
	sff_log("write %zu at %jd: %zu%s", size, (intmax_t)off, done,
		(fi->flags & (O_DSYNC | O_SYNC)) ? " (O_DSYNC: fdatasync)" : "");
	return (int)done;
}

static int
sff_sync(const char *op)
{
	int rc;

	if ((rc = sff_gate(op)) < 0)
		return rc;
	if (fdatasync(sff.fd) < 0)
		return -errno;
	sff_log("%s", op);
	return 0;
}

static int
sff_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return sff_sync(datasync ? "fdatasync" : "fsync");
}

static int
sff_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return sff_sync("flush");
}

static const struct fuse_operations sff_ops = {
	.init = sff_init,
	.getattr = sff_getattr,
	.readdir = sff_readdir,
	.open = sff_open,
	.truncate = sff_truncate,
	.read = sff_read,
	.write = sff_write,
	.fsync = sff_fsync,
	.flush = sff_flush,
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: hasvc-sffuse --backing PATH --mount DIR --control CTLFILE "
		   "[--foreground] [-v]\n"
		   "  serves DIR/statefile = PATH; CTLFILE holds ok, error or hang, read at "
		   "every request\n");
}

/* An absolute path for p (which need not exist): the daemon leaves the
** working directory.  NULL on failure. */
static char *
abs_path(const char *p)
{
	char cwd[PATH_MAX];
	char *out;

	if (p[0] == '/')
		return strdup(p);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, p) < 0)
		return NULL;
	return out;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"backing", required_argument, NULL, 'b'},
		{"mount", required_argument, NULL, 'm'},
		{"control", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *fargv[] = {argv[0], "-o", "fsname=hasvc-sffuse,subtype=hasvc-sffuse", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_loop_config *lcfg = NULL;
	const char *backing = NULL, *mountdir = NULL, *control = NULL;
	pthread_condattr_t ca;
	int foreground = 0, c, rc = 1, mounted = 0, handlers = 0;
	struct fuse_session *se;

	while ((c = getopt_long(argc, argv, "fvh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			backing = optarg;
			break;
		case 'm':
			mountdir = optarg;
			break;
		case 'c':
			control = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			sff.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !backing || !mountdir || !control) {
		usage(stderr);
		return 2;
	}

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sff_cond, &ca);
	pthread_condattr_destroy(&ca);

	sff.fd = open(backing, O_RDWR | O_CLOEXEC);
	if (sff.fd < 0) {
		fprintf(stderr, "hasvc-sffuse: %s: %s\n", backing, strerror(errno));
		goto fail;
	}
	if (fstat(sff.fd, &sff.st) < 0 || !S_ISREG(sff.st.st_mode)) {
		fprintf(stderr, "hasvc-sffuse: %s: not a regular file\n", backing);
		goto fail;
	}
	sff.size = sff.st.st_size;
	sff.control = abs_path(control);
	if (sff.control == NULL) {
		fprintf(stderr, "hasvc-sffuse: %s: %s\n", control, strerror(errno));
		goto fail;
	}
	pthread_mutex_lock(&sff_lock);
	sff_mode_reload_locked();
	pthread_mutex_unlock(&sff_lock);

	sff.fuse = fuse_new(&args, &sff_ops, sizeof(sff_ops), NULL);
	if (sff.fuse == NULL) {
		fprintf(stderr, "hasvc-sffuse: fuse_new failed\n");
		goto fail;
	}
	if (fuse_mount(sff.fuse, mountdir) != 0) {
		fprintf(stderr, "hasvc-sffuse: cannot mount %s\n", mountdir);
		goto fail;
	}
	mounted = 1;
	se = fuse_get_session(sff.fuse);
	if (fuse_set_signal_handlers(se) != 0) {
		fprintf(stderr, "hasvc-sffuse: cannot set signal handlers\n");
		goto fail;
	}
	handlers = 1;
	if (fuse_daemonize(foreground) != 0)
		goto fail;
	sff_log("serving %s as %s/" SFF_FILE " (%jd bytes), control %s, mode %s", backing,
		mountdir, (intmax_t)sff.size, sff.control, sff_mode_names[sff_mode]);

	/* Multi-threaded, so that other requests (a getattr, a request
	** that sees the mode change) are served while some are hung. */
	lcfg = fuse_loop_cfg_create();
	if (lcfg == NULL)
		goto fail;
	fuse_loop_cfg_set_clone_fd(lcfg, 0);
	fuse_loop_cfg_set_max_threads(lcfg, SFF_MAX_THREAD);
	fuse_loop_cfg_set_idle_threads(lcfg, 4);
	/* After a signal (its handlers: SIGHUP, SIGINT, SIGTERM), libfuse
	** returns the signal's number. */
	c = fuse_loop_mt(sff.fuse, lcfg);
	if (c != 0 && c != SIGHUP && c != SIGINT && c != SIGTERM) {
		fprintf(stderr, "hasvc-sffuse: the FUSE loop failed (%d)\n", c);
		goto fail;
	}
	sff_log("stopping%s", c > 0 ? " (signal)" : "");
	rc = 0;
fail:
	if (lcfg)
		fuse_loop_cfg_destroy(lcfg);
	if (handlers)
		fuse_remove_signal_handlers(fuse_get_session(sff.fuse));
	if (mounted)
		fuse_unmount(sff.fuse);
	if (sff.fuse)
		fuse_destroy(sff.fuse);
	fuse_opt_free_args(&args);
	free(sff.control);
	if (sff.fd > 0)
		close(sff.fd);
	return rc;
}
