/*
** The local fence record: encoding, atomic write, listing (fencing/record.h).
**
** One table lists the fields in their on-disk order with their kind; the
** encoder and the decoder both walk it, so they cannot disagree about the
** order or the set of keys.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fencing/record.h"
#include "lib/check.h"
#include "lib/crc32c.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define MAGIC_LINE "hasvc-fence-record 1\n"
#define SUFFIX     ".fence"

enum kind {
	K_U64,  /* decimal */
	K_U32,  /* decimal, <= UINT32_MAX */
	K_I64,  /* decimal, optional '-' */
	K_HEX,  /* 0x + lowercase hex, no leading zeros */
	K_TEXT, /* escaped text, shorter than the field */
};

static const struct field {
	const char *key;
	enum kind kind;
	size_t off, size;
} fields[] = {
    {"seq", K_U64, offsetof(struct fence_record, seq), 0},
    {"reason", K_U32, offsetof(struct fence_record, reason), 0},
    {"reason_text", K_TEXT, offsetof(struct fence_record, reason_text),
     sizeof(((struct fence_record *)0)->reason_text)},
    {"detail", K_TEXT, offsetof(struct fence_record, detail),
     sizeof(((struct fence_record *)0)->detail)},
    {"wall_s", K_I64, offsetof(struct fence_record, wall_s), 0},
    {"mono_ms", K_U64, offsetof(struct fence_record, mono_ms), 0},
    {"host", K_TEXT, offsetof(struct fence_record, host), sizeof(((struct fence_record *)0)->host)},
    {"ring_seq", K_U64, offsetof(struct fence_record, ring_seq), 0},
    {"ring_node", K_U32, offsetof(struct fence_record, ring_node), 0},
    {"members", K_HEX, offsetof(struct fence_record, members), 0},
    {"liveset", K_HEX, offsetof(struct fence_record, liveset), 0},
    {"views", K_TEXT, offsetof(struct fence_record, views),
     sizeof(((struct fence_record *)0)->views)},
};

uint32_t
fence_record_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c(crc, buf, len);
}

/* ---- encoding ------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 1024;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_escaped(struct buf *b, const char *s, size_t max)
{
	char hex[8];

	for (size_t i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			buf_add(b, "\\\\", 2);
		else if (c == '\n')
			buf_add(b, "\\n", 2);
		else if (c < 0x20 || c == 0x7f) {
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			buf_add(b, hex, 4);
		} else
			buf_add(b, (const char *)&c, 1);
	}
}

char *
fence_record_encode(const struct fence_record *rec, size_t *len)
{
	const char *base = (const char *)rec;
	struct buf b = {NULL, 0, 0};
	char num[32];

	buf_str(&b, MAGIC_LINE);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];
		const void *v = base + f->off;

		buf_str(&b, f->key);
		buf_add(&b, "=", 1);
		switch (f->kind) {
		case K_U64:
			snprintf(num, sizeof(num), "%" PRIu64, *(const uint64_t *)v);
			buf_str(&b, num);
			break;
		case K_U32:
			snprintf(num, sizeof(num), "%" PRIu32, *(const uint32_t *)v);
			buf_str(&b, num);
			break;
		case K_I64:
			snprintf(num, sizeof(num), "%" PRId64, *(const int64_t *)v);
			buf_str(&b, num);
			break;
		case K_HEX:
			snprintf(num, sizeof(num), "0x%" PRIx64, *(const uint64_t *)v);
			buf_str(&b, num);
			break;
		case K_TEXT:
			buf_escaped(&b, v, f->size);
			break;
		}
		buf_add(&b, "\n", 1);
	}
	snprintf(num, sizeof(num), "crc32c=%08" PRIx32 "\n", fence_record_crc32c(0, b.p, b.len));
	buf_str(&b, num);
	if (len != NULL)
		*len = b.len;
	return b.p;
}

/* ---- decoding ------------------------------------------------------------- */

/* Parse the canonical decimal in s[0..n): no sign, no leading zero (but "0"),
** no overflow past `max`. */
static int
parse_dec(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* uppercase is not canonical */
}

static int
parse_hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n < 3 || s[0] != '0' || s[1] != 'x' || n > 18 || (s[2] == '0' && n > 3))
		return -1;
	for (size_t i = 2; i < n; i++) {
		int d = hexval(s[i]);

		if (d < 0)
			return -1;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* Unescape s[0..n) into dst (size bytes, NUL-terminated); the encoding must be
** the canonical one.  Why on failure. */
static int
parse_text(const char *s, size_t n, char *dst, size_t size, const char **why)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			*why = "a control character is not escaped";
			return -1;
		}
		if (c == '\\') {
			if (i + 1 >= n) {
				*why = "a value ends in a lone backslash";
				return -1;
			}
			if (s[i + 1] == '\\') {
				c = '\\';
				i += 1;
			} else if (s[i + 1] == 'n') {
				c = '\n';
				i += 1;
			} else if (s[i + 1] == 'x' && i + 3 < n && hexval(s[i + 2]) >= 0 &&
			           hexval(s[i + 3]) >= 0) {
				c = (unsigned char)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
				if (c == 0 || c == '\n' || (c >= 0x20 && c != 0x7f)) {
					*why = "an escape that is not the canonical one";
					return -1;
				}
				i += 3;
			} else {
				*why = "an unknown escape";
				return -1;
			}
		}
		if (o + 1 >= size) {
			*why = "a text value is too long for its field";
			return -1;
		}
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

int
fence_record_decode(const void *data, size_t len, struct fence_record *rec, const char **why)
{
	const char *s = data, *end = s + len, *p;
	char *base = (char *)rec;
	size_t mlen = strlen(MAGIC_LINE);
	uint64_t u, crc;

	memset(rec, 0, sizeof(*rec));
	if (len > FENCE_RECORD_MAX) {
		*why = "the record is larger than 64 KiB";
		return -1;
	}
	if (len < mlen || memcmp(s, MAGIC_LINE, mlen) != 0) {
		*why = "not a fence record (no \"hasvc-fence-record 1\" line)";
		return -1;
	}
	p = s + mlen;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];
		size_t klen = strlen(f->key);
		const char *nl, *v;
		void *dst = base + f->off;

		if ((size_t)(end - p) < klen + 1 || memcmp(p, f->key, klen) != 0 ||
		    p[klen] != '=') {
			*why = "a key is missing, unknown or out of order";
			return -1;
		}
		v = p + klen + 1;
		nl = memchr(v, '\n', (size_t)(end - v));
		if (nl == NULL) {
			*why = "the record is truncated (a line has no end)";
			return -1;
		}
		switch (f->kind) {
		case K_U64:
			if (parse_dec(v, (size_t)(nl - v), UINT64_MAX, &u) < 0)
				goto badnum;
			*(uint64_t *)dst = u;
			break;
		case K_U32:
			if (parse_dec(v, (size_t)(nl - v), UINT32_MAX, &u) < 0)
				goto badnum;
			*(uint32_t *)dst = (uint32_t)u;
			break;
		case K_I64:
			if (v < nl && *v == '-') {
				if (parse_dec(v + 1, (size_t)(nl - v - 1), (uint64_t)INT64_MAX + 1,
				              &u) < 0 ||
				    u == 0)
					goto badnum;
				*(int64_t *)dst =
				    u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
			} else {
				if (parse_dec(v, (size_t)(nl - v), INT64_MAX, &u) < 0)
					goto badnum;
				*(int64_t *)dst = (int64_t)u;
			}
			break;
		case K_HEX:
			if (parse_hex(v, (size_t)(nl - v), &u) < 0)
				goto badnum;
			*(uint64_t *)dst = u;
			break;
		case K_TEXT:
			if (parse_text(v, (size_t)(nl - v), dst, f->size, why) < 0)
				return -1;
			break;
		}
		p = nl + 1;
	}
	/* The checksum line: "crc32c=" 8 lowercase hex digits "\n", then nothing. */
	if ((size_t)(end - p) < 16 || memcmp(p, "crc32c=", 7) != 0 || p[15] != '\n') {
		*why = "the checksum line is missing or malformed";
		return -1;
	}
	crc = 0;
	for (int k = 0; k < 8; k++) {
		int d = hexval(p[7 + k]);

		if (d < 0) {
			*why = "the checksum line is missing or malformed";
			return -1;
		}
		crc = crc << 4 | (uint64_t)d;
	}
	if (p + 16 != end) {
		*why = "bytes follow the checksum line";
		return -1;
	}
	if (crc != fence_record_crc32c(0, s, (size_t)(p - s))) {
		*why = "the checksum does not match (a torn or altered record)";
		return -1;
	}
	return 0;
badnum:
	*why = "a number is malformed or out of range";
	return -1;
}

/* ---- files ---------------------------------------------------------------- */

/* The seq of a record file name "<wall>-<seq>.fence", or -1 if the name is
** not one (temporary files start with '.'). */
static int
name_seq(const char *name, uint64_t *seq)
{
	size_t n = strlen(name), sl = strlen(SUFFIX);
	const char *dash, *p = name;
	uint64_t wall;

	if (n <= sl || name[0] == '.' || strcmp(name + n - sl, SUFFIX) != 0)
		return -1;
	if (*p == '-')
		p++;
	dash = memchr(p, '-', (size_t)(name + n - sl - p));
	if (dash == NULL || parse_dec(p, (size_t)(dash - p), INT64_MAX, &wall) < 0)
		return -1;
	return parse_dec(dash + 1, (size_t)(name + n - sl - dash - 1), UINT64_MAX, seq);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
fence_record_write(const char *dir, struct fence_record *rec, char *path, size_t pathlen, char *err,
                   size_t errlen)
{
	char tmp[4096], final[4096];
	char *text = NULL;
	size_t len;
	uint64_t seq, maxseq = 0;
	int fd = -1, dfd = -1, have_tmp = 0;
	DIR *d;
	struct dirent *de;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the fence record directory %s: %s", dir,
		         strerror(errno));
		goto fail;
	}
	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "cannot read the fence record directory %s: %s", dir,
		         strerror(errno));
		goto fail;
	}
	while ((de = readdir(d)) != NULL)
		if (name_seq(de->d_name, &seq) == 0 && seq > maxseq)
			maxseq = seq;
	closedir(d);
	rec->seq = maxseq + 1;
	text = fence_record_encode(rec, &len);

	snprintf(tmp, sizeof(tmp), "%s/.%" PRIu64 ".tmp", dir, rec->seq);
	snprintf(final, sizeof(final), "%s/%" PRId64 "-%" PRIu64 SUFFIX, dir, rec->wall_s,
	         rec->seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto fail;
	}
	have_tmp = 1;
	if (FAULT("fence.record.eio")) {
		errno = EIO;
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, final) < 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
		goto fail;
	}
	have_tmp = 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		snprintf(err, errlen, "cannot sync the directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	close(dfd);
	if (path != NULL)
		snprintf(path, pathlen, "%s", final);
	xfree(text);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (have_tmp)
		unlink(tmp);
	xfree(text);
	return -1;
}

/* Read and decode one file into e. */
static void
read_entry(int dfd, struct fence_record_entry *e)
{
	struct stat st;
	char *data = NULL;
	const char *why = NULL;
	size_t got = 0;
	int fd;

	e->ok = 0;
	fd = openat(dfd, e->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		snprintf(e->why, sizeof(e->why), "cannot open it: %s", strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(e->why, sizeof(e->why), "not a regular file");
		goto out;
	}
	if (st.st_size > FENCE_RECORD_MAX) {
		snprintf(e->why, sizeof(e->why), "larger than 64 KiB (%lld bytes)",
		         (long long)st.st_size);
		goto out;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(e->why, sizeof(e->why), "cannot read it: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (fence_record_decode(data, got, &e->rec, &why) < 0) {
		snprintf(e->why, sizeof(e->why), "corrupt: %s", why);
		goto out;
	}
	if (e->rec.seq != e->seq) {
		snprintf(e->why, sizeof(e->why), "corrupt: its seq %" PRIu64 " is not its name's",
		         e->rec.seq);
		goto out;
	}
	e->ok = 1;
out:
	if (!e->ok)
		memset(&e->rec, 0, sizeof(e->rec));
	xfree(data);
	close(fd);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct fence_record_entry *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq > y->seq ? -1 : 1;
	return -strcmp(x->name, y->name);
}

int
fence_record_list(const char *dir, struct fence_record_entry **out, size_t *n, char *err,
                  size_t errlen)
{
	struct fence_record_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	uint64_t seq;
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read the fence record directory %s: %s", dir,
		         strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (name_seq(de->d_name, &seq) < 0 || strlen(de->d_name) >= sizeof(v->name))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		snprintf(v[cnt].name, sizeof(v[cnt].name), "%s", de->d_name);
		v[cnt].seq = seq;
		read_entry(dirfd(d), &v[cnt]);
		if (!v[cnt].ok)
			log_warnx("fence record %s/%s refused: %s", dir, v[cnt].name, v[cnt].why);
		cnt++;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), entry_cmp);
	*out = v;
	*n = cnt;
	return 0;
}
