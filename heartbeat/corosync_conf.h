/*
** corosync.conf from plain data, and safe file writes (DESIGN §2).
**
** hasvcd in cluster mode owns its host's corosync.conf and authkey: it
** renders them from the pool database (hosts with a cluster nodeid) and
** writes them with cc_write_file(), which leaves the old file or the new one
** in place, never a torn one, and reports "unchanged" so that the caller
** reloads corosync only when something changed.  This module knows nothing
** of the database; it takes plain structs.
**
** The rendered file, one option per line, no comments (corosync's parser has
** no inline comments, and a stray '#' inside a value breaks it):
**
**     totem      version 2, cluster_name, transport knet, crypto aes256 /
**                sha256 with keyfile, token T, token_coefficient 0 (so that
**                the token does not grow with the node count: detection is
**                token + consensus, consensus being corosync's 1.2 x token);
**                with two links, one `interface { linknumber: N }` per link
**     nodelist   one node { name, nodeid, ring0_addr [, ring1_addr] } per
**                host, sorted by nodeid
**     quorum     corosync_votequorum; two_node: 1 for exactly two nodes
**     logging    to a file only (to_logfile: no without a logfile)
**     system     state_dir, when given
*/
#ifndef HASVC_HEARTBEAT_COROSYNC_CONF_H
#define HASVC_HEARTBEAT_COROSYNC_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CC_MAX_NODES 64
#define CC_MAX_LINKS 2

struct cc_node {
	uint32_t nodeid;            /* corosync nodeid, > 0, unique */
	char name[64];              /* unique, no whitespace/braces */
	size_t naddrs;              /* 1 or 2 knet links */
	char addrs[CC_MAX_LINKS][64]; /* ring0_addr, ring1_addr */
};

struct cc_params {
	const char *cluster_name;  /* required */
	uint32_t token_ms;         /* required, > 0: see cc_token_ms() */
	const char *keyfile;       /* required: crypto is always on */
	const char *logfile;       /* NULL: to_logfile: no */
	const char *state_dir;     /* NULL: corosync's default */
	const struct cc_node *nodes;
	size_t nnodes;             /* 1..CC_MAX_NODES, any order */
};

/* Render `p` as corosync.conf text.  Returns an xmalloc'd NUL-terminated
** string the caller frees, or NULL when `p` is invalid, with the reason in
** `err` (a sentence naming the bad node or field).  Invalid: a nodeid of 0
** or a duplicate one; an empty or duplicate name; an address that is empty
** or contains whitespace, braces, '#' or control characters; no nodes or more
** than CC_MAX_NODES; a node with 0 or more than 2 addresses; some nodes with
** two addresses and some with one (knet links must match on every host); a
** missing cluster name, keyfile or token; a path with a newline or brace. */
char *cc_render_err(const struct cc_params *p, char *err, size_t errlen);

/* As cc_render_err(); the reason of a failure is logged (log_warnx). */
char *cc_render(const struct cc_params *p);

/* The totem token (ms) for XAPI's HA timeout `ha_timeout_s` (seconds):
**
**     token = clamp(ha_timeout_s * 1000 / 30, 500, 10000)
**
** XAPI's default timeout is 60 s, ours 30 s, which gives 1000 ms.  A host is
** declared dead after token + consensus = 2.2 x token (2.2 s at 30 s), which
** leaves the rest of the timeout to the statefile and the watchdog. */
uint32_t cc_token_ms(uint32_t ha_timeout_s);

/* Make `path` hold exactly `len` bytes of `data` with permission `mode`.
** Returns 0 when it already did (nothing is touched), 1 when the file was
** written: into a temporary file in the same directory, fchmod'ed, fsync'ed,
** renamed over `path`, and the directory fsync'ed, so a crash leaves the old
** file or the new one.  Returns -1 with a sentence in `err` on failure:
** `path` is unchanged and no temporary file is left, except when only the
** final directory fsync failed (the new file is in place, maybe not durable). */
int cc_write_file(const char *path, const void *data, size_t len, mode_t mode, char *err,
                  size_t errlen);

#endif
