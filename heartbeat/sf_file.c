/*
** The statefile as a file: image reads and (re-)initialisation
** (sf_file.h).  Blocking I/O: for the tools and for pool.enable_ha, never
** for the liveness engine's cycle.
*/
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "heartbeat/sf_file.h"
#include "lib/xmalloc.h"

ssize_t
sf_file_read_image(int fd, uint8_t *buf)
{
	size_t done = 0;
	ssize_t n;

	memset(buf, 0, SF_FILE_SIZE);
	while (done < SF_FILE_SIZE) {
		n = pread(fd, buf + done, SF_FILE_SIZE - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int
sf_file_write_all(int fd, const uint8_t *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* 16 bytes as a lower-case UUID (libuuid's byte order). */
static void
uuid_of(const uint8_t b[SF_ID_LEN], char out[40])
{
	snprintf(out, 40,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
	         b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	         b[14], b[15]);
}

int
sf_file_init(const char *path, const struct sf_key *key, const uint8_t pool_id[SF_ID_LEN],
             uint32_t hosts, int flags, uint64_t *generation, char *err, size_t errlen)
{
	struct sf_expect exp = {pool_id, 0, -1};
	uint8_t *img = xmalloc(SF_FILE_SIZE);
	struct sf_header h, old;
	const char *why = NULL;
	struct stat st;
	ssize_t n;
	int fd, rc = -1, renew = flags & (SF_INIT_FORCE | SF_INIT_RENEW);

	memset(&h, 0, sizeof(h));
	h.generation = 1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((n = sf_file_read_image(fd, img)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > 0 && !sf_is_zero(img, (size_t)n)) {
		if (sf_header_decode(img, (size_t)n, key, &exp, &old, &why) == 0) {
			if (!renew) {
				snprintf(err, errlen,
				         "%s: already the statefile of this pool (generation %" PRIu64
				         "); --force re-initialises it",
				         path, old.generation);
				goto out;
			}
			h.generation = old.generation + 1;
		} else if (sf_header_decode(img, (size_t)n, NULL, NULL, &old, NULL) == 0) {
			if (memcmp(old.pool_id, pool_id, SF_ID_LEN) != 0) {
				if (!(flags & SF_INIT_FORCE)) {
					char other[40];

					uuid_of(old.pool_id, other);
					snprintf(err, errlen,
					         "%s: the statefile of another pool (%s); --force "
					         "overwrites it",
					         path, other);
					goto out;
				}
			} else {
				if (!renew) {
					snprintf(err, errlen,
					         "%s: a statefile of this pool sealed with another key "
					         "(was the cluster key changed?); --force "
					         "re-initialises it",
					         path);
					goto out;
				}
				h.generation = old.generation + 1;
			}
		} else if (!(flags & SF_INIT_FORCE)) {
			snprintf(err, errlen,
			         "%s: holds data that is not a statefile (%s); --force overwrites it",
			         path, why);
			goto out;
		}
	}
	if (h.generation == 0) /* wrapped: keep it valid */
		h.generation = 1;
	memcpy(h.pool_id, pool_id, SF_ID_LEN);
	h.version = SF_VERSION;
	h.pool_state = SF_POOL_INIT;
	h.host_count = hosts;
	h.created = (uint64_t)time(NULL);
	memset(img, 0, SF_FILE_SIZE);
	if (sf_header_encode(&h, key, img, &why) != SF_SECTOR) {
		snprintf(err, errlen, "%s: cannot encode the header (%s)", path, why);
		goto out;
	}
	if ((S_ISREG(st.st_mode) && ftruncate(fd, SF_FILE_SIZE) < 0) ||
	    sf_file_write_all(fd, img, SF_FILE_SIZE, 0) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	*generation = h.generation;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	xfree(img);
	return rc;
}
