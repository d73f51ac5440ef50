/*
** corosync.conf rendering and atomic file writes (see corosync_conf.h).
**
** Rendering validates everything first and only then prints, so a NULL
** return never leaves half a file behind anywhere.  Values are printed
** verbatim, which is why validation refuses anything corosync's line parser
** would read differently from what we meant: whitespace, braces, '#', and
** control characters in tokens; newlines and braces in paths.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heartbeat/corosync_conf.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct buf {
	char *s;
	size_t len, cap;
};

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		ha_assert(n >= 0);
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = 2 * b->cap + (size_t)n + 1;
		b->s = xrealloc(b->s, b->cap);
	}
	b->len += (size_t)n;
}

static int seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A single word corosync reads back unchanged: non-empty, printable, no
** whitespace, braces, '#' or ':' confusion (':' is allowed: IPv6). */
static int
token_ok(const char *s, size_t max)
{
	size_t i, n = strnlen(s, max);

	if (n == 0 || n == max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || c == '{' || c == '}' || c == '#')
			return 0;
	}
	return 1;
}

/* A path value: non-empty, no control characters or braces. */
static int
path_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < ' ' || c == 0x7f || c == '{' || c == '}')
			return 0;
	}
	return 1;
}

static int
validate(const struct cc_params *p, char *err, size_t errlen)
{
	size_t i, j;

	if (p->cluster_name == NULL || !token_ok(p->cluster_name, 256))
		return seterr(err, errlen, "the cluster name is missing or not a single word");
	if (p->token_ms == 0)
		return seterr(err, errlen, "the token timeout must be > 0 ms");
	if (!path_ok(p->keyfile))
		return seterr(err, errlen, "the keyfile path is missing or invalid");
	if (p->logfile != NULL && !path_ok(p->logfile))
		return seterr(err, errlen, "the logfile path is invalid");
	if (p->state_dir != NULL && !path_ok(p->state_dir))
		return seterr(err, errlen, "the state_dir path is invalid");
	if (p->nnodes == 0 || p->nodes == NULL)
		return seterr(err, errlen, "the cluster has no nodes");
	if (p->nnodes > CC_MAX_NODES)
		return seterr(err, errlen, "the cluster has %zu nodes, more than %d", p->nnodes,
		              CC_MAX_NODES);
	for (i = 0; i < p->nnodes; i++) {
		const struct cc_node *n = &p->nodes[i];

		if (n->nodeid == 0)
			return seterr(err, errlen, "node %zu has nodeid 0", i);
		if (!token_ok(n->name, sizeof(n->name)))
			return seterr(err, errlen, "node %u: the name is empty or not a single word",
			              n->nodeid);
		if (n->naddrs < 1 || n->naddrs > CC_MAX_LINKS)
			return seterr(err, errlen, "node %u: %zu addresses (1 or 2 expected)",
			              n->nodeid, n->naddrs);
		if (n->naddrs != p->nodes[0].naddrs)
			return seterr(err, errlen,
			              "node %u has %zu addresses but node %u has %zu: knet links "
			              "must match on every host",
			              n->nodeid, n->naddrs, p->nodes[0].nodeid, p->nodes[0].naddrs);
		for (j = 0; j < n->naddrs; j++)
			if (!token_ok(n->addrs[j], sizeof(n->addrs[j])))
				return seterr(err, errlen,
				              "node %u: address %zu is empty or contains "
				              "whitespace, braces or '#'",
				              n->nodeid, j);
		for (j = 0; j < i; j++) {
			if (p->nodes[j].nodeid == n->nodeid)
				return seterr(err, errlen, "nodeid %u is used twice", n->nodeid);
			if (strcmp(p->nodes[j].name, n->name) == 0)
				return seterr(err, errlen, "node name %s is used twice", n->name);
		}
	}
	return 0;
}

static int
node_cmp(const void *a, const void *b)
{
	const struct cc_node *x = *(const struct cc_node *const *)a;
	const struct cc_node *y = *(const struct cc_node *const *)b;

	return x->nodeid < y->nodeid ? -1 : x->nodeid > y->nodeid;
}

char *
cc_render_err(const struct cc_params *p, char *err, size_t errlen)
{
	const struct cc_node **sorted;
	struct buf b = {NULL, 0, 0};
	size_t i, j, nlinks;

	if (p == NULL) {
		seterr(err, errlen, "no parameters");
		return NULL;
	}
	if (validate(p, err, errlen) < 0)
		return NULL;
	nlinks = p->nodes[0].naddrs;
	sorted = xcalloc(p->nnodes, sizeof(*sorted));
	for (i = 0; i < p->nnodes; i++)
		sorted[i] = &p->nodes[i];
	qsort(sorted, p->nnodes, sizeof(*sorted), node_cmp);

	b.cap = 1024;
	b.s = xmalloc(b.cap);
	b.s[0] = '\0';
	buf_printf(&b,
	           "totem {\n"
	           "    version: 2\n"
	           "    cluster_name: %s\n"
	           "    transport: knet\n"
	           "    crypto_cipher: aes256\n"
	           "    crypto_hash: sha256\n"
	           "    keyfile: %s\n"
	           "    token: %u\n"
	           "    token_coefficient: 0\n",
	           p->cluster_name, p->keyfile, p->token_ms);
	/* One link needs no interface section; with two, name both so that
	** a reader sees the links the nodelist's ringN_addr refer to. */
	if (nlinks > 1)
		for (i = 0; i < nlinks; i++)
			buf_printf(&b, "    interface {\n        linknumber: %zu\n    }\n", i);
	buf_printf(&b, "}\nnodelist {\n");
	for (i = 0; i < p->nnodes; i++) {
		buf_printf(&b, "    node {\n        name: %s\n        nodeid: %u\n", sorted[i]->name,
		           sorted[i]->nodeid);
		for (j = 0; j < nlinks; j++)
			buf_printf(&b, "        ring%zu_addr: %s\n", j, sorted[i]->addrs[j]);
		buf_printf(&b, "    }\n");
	}
	buf_printf(&b, "}\nquorum {\n    provider: corosync_votequorum\n");
	if (p->nnodes == 2)
		buf_printf(&b, "    two_node: 1\n");
	buf_printf(&b, "}\nlogging {\n    to_stderr: no\n    to_syslog: no\n");
	if (p->logfile != NULL)
		buf_printf(&b, "    to_logfile: yes\n    logfile: %s\n", p->logfile);
	else
		buf_printf(&b, "    to_logfile: no\n");
	buf_printf(&b, "    timestamp: hires\n}\n");
	if (p->state_dir != NULL)
		buf_printf(&b, "system {\n    state_dir: %s\n}\n", p->state_dir);
	xfree(sorted);
	return b.s;
}

char *
cc_render(const struct cc_params *p)
{
	char err[256];
	char *s = cc_render_err(p, err, sizeof(err));

	if (s == NULL)
		log_warnx("corosync.conf not rendered: %s", err);
	return s;
}

uint32_t
cc_token_ms(uint32_t ha_timeout_s)
{
	uint64_t t = (uint64_t)ha_timeout_s * 1000 / 30;

	if (t < 500)
		return 500;
	if (t > 10000)
		return 10000;
	return (uint32_t)t;
}

/* 1 if `path` is a regular file holding exactly `data` with `mode`. */
static int
same_file(const char *path, const void *data, size_t len, mode_t mode)
{
	struct stat st;
	char chunk[4096];
	size_t off = 0;
	int fd, same = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len ||
	    (st.st_mode & 07777) != (mode & 07777))
		goto out;
	while (off < len) {
		size_t want = len - off < sizeof(chunk) ? len - off : sizeof(chunk);
		ssize_t n = read(fd, chunk, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || memcmp(chunk, (const char *)data + off, (size_t)n) != 0)
			goto out;
		off += (size_t)n;
	}
	same = read(fd, chunk, 1) == 0;
out:
	close(fd);
	return same;
}

int
cc_write_file(const char *path, const void *data, size_t len, mode_t mode, char *err,
              size_t errlen)
{
	char *tmp = NULL, *dir = NULL, *slash;
	size_t off = 0;
	int fd = -1, dfd = -1;

	if (same_file(path, data, len, mode))
		return 0;
	tmp = xasprintf("%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		seterr(err, errlen, "%s: cannot create a temporary file: %s", path,
		       strerror(errno));
		xfree(tmp);
		return -1;
	}
	if (fchmod(fd, mode & 07777) < 0) {
		seterr(err, errlen, "%s: chmod: %s", tmp, strerror(errno));
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			seterr(err, errlen, "%s: write: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		seterr(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		seterr(err, errlen, "%s: close: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		seterr(err, errlen, "%s: rename from %s: %s", path, tmp, strerror(errno));
		goto fail;
	}
	xfree(tmp);
	tmp = NULL;
	/* The rename is durable only once the directory is. */
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		seterr(err, errlen, "%s: fsync of the directory %s: %s", path, dir,
		       strerror(errno));
		if (dfd >= 0)
			close(dfd);
		xfree(dir);
		return -1;
	}
	close(dfd);
	xfree(dir);
	return 1;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	xfree(tmp);
	return -1;
}
