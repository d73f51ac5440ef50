/*
** The local fence record (docs/fencing.md, "The fence record").
**
** Before a host resets itself it writes why: one file per fence under a
** directory (<data-dir>/fence/), so that `host.get_ha_fence_history` can show,
** after the reboot, what the host knew when it decided.  The same facts go to
** the host's statefile slot (the engine's fence record); this file is the
** longer, human-readable copy.
**
** Format: UTF-8 text, one `key=value` line per field, in a fixed order:
**
**     hasvc-fence-record 1
**     seq=12
**     reason=4
**     reason_text=lost
**     ...
**     crc32c=1a2b3c4d
**
** Values escape `\` as `\\`, newline as `\n`, and any other byte below 0x20
** or equal to 0x7f as `\xHH`; nothing else is escaped, so every record has
** exactly one encoding.  The last line is the CRC-32C of every byte before it.
** The decoder refuses anything else: a missing, repeated, unknown or
** out-of-order key, a value too long for its field, a bad number, a bad
** escape, trailing bytes, a wrong checksum.  A newer format gets a new
** version line.
**
** Files are named <wall_s>-<seq>.fence, written atomically (temporary file,
** fsync, rename, fsync of the directory).  `seq` is one more than the largest
** seq in the directory; the list is ordered by seq, newest first, because the
** wall clock may step back between two fences and seq does not.
*/
#ifndef HASVC_FENCING_RECORD_H
#define HASVC_FENCING_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define FENCE_RECORD_MAX 65536 /* bytes of one encoded record, at most */

struct fence_record {
	uint64_t seq;         /* assigned by fence_record_write() */
	uint32_t reason;      /* the engine's reason code (enum ls_reason) */
	char reason_text[64]; /* its name, e.g. "lost" */
	char detail[512];     /* a sentence: why */
	int64_t wall_s;       /* when decided, wall clock (for people) */
	uint64_t mono_ms;     /* when decided, CLOCK_MONOTONIC ms (for the logs) */
	char host[128];       /* my host (uuid or name) */
	uint64_t ring_seq;    /* my corosync ring ... */
	uint32_t ring_node;   /* ... and its representative */
	uint64_t members;     /* the ring's members (host index bitmap) */
	uint64_t liveset;     /* the agreed liveset I decided against */
	char views[2048];     /* whose views, free text: "h1: slot seq 40, ring 7 ..." */
};

/* CRC-32C (Castagnoli), `crc` 0 to start; of "123456789": 0xe3069283. */
uint32_t fence_record_crc32c(uint32_t crc, const void *buf, size_t len);

/* Encode *rec into a new NUL-terminated string (caller frees with xfree);
** its length in *len if len is not NULL.  Text fields are taken up to their
** first NUL.  Never fails (allocation failure aborts). */
char *fence_record_encode(const struct fence_record *rec, size_t *len);

/* Decode `len` bytes into *rec.  0, or -1 with a sentence in why (a static
** string) and *rec unspecified.  Reads nothing outside buf[0..len). */
int fence_record_decode(const void *buf, size_t len, struct fence_record *rec, const char **why);

/* Write *rec as a new file under `dir` (created 0700 if missing), assigning
** rec->seq; the file's path in path (if not NULL).  0, or -1 with a sentence
** in err (no file left behind: the temporary one is removed). */
int fence_record_write(const char *dir, struct fence_record *rec, char *path, size_t pathlen,
                       char *err, size_t errlen);

/* One file of the directory, as read back. */
struct fence_record_entry {
	char name[96]; /* the file name */
	uint64_t seq;  /* from the name */
	int ok;        /* 1: `rec` is valid; 0: refused, `why` says why */
	char why[160];
	struct fence_record rec;
};

/* Read every *.fence file under `dir`, newest (greatest seq) first, into a
** new array (*out, *n; free it with xfree).  Corrupt files are listed with
** ok = 0 and the reason, never trusted and never fatal; temporary files and
** other names are skipped.  A missing directory is an empty list.  0, or -1
** with a sentence in err when the directory cannot be read. */
int fence_record_list(const char *dir, struct fence_record_entry **out, size_t *n, char *err,
                      size_t errlen);

#endif
