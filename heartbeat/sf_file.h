/*
** The statefile as a file (or block device): reading its image and
** (re-)initialising it, blocking, for the tools and for pool.enable_ha
** (heartbeat/statefile.h has the formats; heartbeat/sf_io.h the daemon's
** I/O thread with deadlines).
*/
#ifndef HASVC_HEARTBEAT_SF_FILE_H
#define HASVC_HEARTBEAT_SF_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heartbeat/statefile.h"

/* Read up to SF_FILE_SIZE bytes at offset 0 of fd into buf (zero-filled
** first): the count, or -1 with errno. */
ssize_t sf_file_read_image(int fd, uint8_t *buf);

/* Write len bytes at off, retrying short writes: 0, or -1 with errno. */
int sf_file_write_all(int fd, const uint8_t *buf, size_t len, off_t off);

enum {
	SF_INIT_FORCE = 1 << 0, /* overwrite another pool's statefile, or data that is
	                        ** not a statefile; re-initialise this pool's */
	SF_INIT_RENEW = 1 << 1, /* re-initialise this pool's (a new generation), but
	                        ** refuse anything else */
};

/* Create `path` (0600) or re-initialise it: every slot zeroed, a header for
** pool `pool_id` sealed with `key`, `hosts` slots in use, state INIT, the
** generation one more than a valid header of this pool had (1 otherwise), then
** fsync.  Without a flag an existing statefile of any kind is refused.  0
** with *generation set, or -1 with a sentence in err (nothing written). */
int sf_file_init(const char *path, const struct sf_key *key, const uint8_t pool_id[SF_ID_LEN],
                 uint32_t hosts, int flags, uint64_t *generation, char *err, size_t errlen);

#endif
