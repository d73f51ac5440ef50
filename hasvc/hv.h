/*
** The hypervisor seam (DESIGN §8, STYLE habit 10).  hasvcd drives one host's
** hypervisor only through this ops table.  Two backends implement it:
**
**   hv_sim  a client of hasvc-simhv, the simulated hypervisor (lab/)
**   hv_xen  libxenctrl + libxl on a real Xen host (built with XEN=1)
**
** Calls are synchronous and bounded: each returns within the backend's own
** request deadline (a few seconds at most), so the daemon may call them from
** its loop for now; slow libxl work moves to a worker later (DESIGN §4).
**
** Errors: 0 ok, -1 failure with `errno` set (ENOMEM: does not fit on this host;
** EEXIST: already running; ENOENT: no such domain; ETIMEDOUT: backend did not
** answer in time; ENODEV: backend unusable, e.g. not running on Xen;
** EHOSTDOWN: the (simulated) host is powered off or being reset;
** ECONNRESET: the connection to the hypervisor is lost) and a sentence in
** hv->last_error.
*/
#ifndef HASVC_HASVC_HV_H
#define HASVC_HASVC_HV_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ids.h"

enum hv_dom_state {
	HV_DOM_RUNNING = 1, /* created; booting or running */
	HV_DOM_PAUSED,
	HV_DOM_SHUTDOWN,    /* guest shut itself down, not yet reaped */
	HV_DOM_CRASHED,
	HV_DOM_DYING,
};

struct hv_host_info {
	uint64_t memory_total; /* bytes */
	uint64_t memory_free;  /* bytes free for new domains */
	uint32_t cpus;
};

struct hv_domain {
	char uuid[HA_UUID_LEN];
	enum hv_dom_state state;
	uint64_t memory; /* bytes */
	uint32_t vcpus;
};

/* What a VM needs to start, taken from the pool database. */
struct hv_vm_spec {
	char uuid[HA_UUID_LEN];
	char name[128];
	uint64_t memory; /* bytes: static max; the backend adds its own overhead */
	uint32_t vcpus;
	const char *config; /* backend-specific stored config (libxl JSON for hv_xen), or NULL */
};

enum hv_event_type {
	HV_EV_DOMAIN_DIED = 1, /* the domain is gone: destroyed or shut down */
	HV_EV_DOMAIN_CRASHED,
	HV_EV_DOMAIN_STARTED,
};

struct hv_event {
	enum hv_event_type type;
	char uuid[HA_UUID_LEN];
	char reason[64];
};

struct hv;

struct hv_ops {
	const char *name;
	int (*host_info)(struct hv *, struct hv_host_info *out);
	/* *out is an xmalloc'd array of *n domains (guests only, never dom0). */
	int (*list_domains)(struct hv *, struct hv_domain **out, size_t *n);
	int (*start)(struct hv *, const struct hv_vm_spec *spec);
	int (*shutdown)(struct hv *, const char *uuid); /* clean, asynchronous */
	int (*destroy)(struct hv *, const char *uuid);  /* hard stop, immediate */
	/* The host watchdog: once armed, the host is reset unless petted within
	** timeout_ms (a backend may round it down to its granularity, never up).
	** Pet when not armed fails with EINVAL; disarm when not armed is a no-op;
	** close does not disarm. */
	int (*wd_arm)(struct hv *, uint32_t timeout_ms);
	int (*wd_pet)(struct hv *);
	int (*wd_disarm)(struct hv *);
	/* Reset this host at once (self-fence).  Does not return on success; if
	** the reset has not taken the caller within a bounded wait it returns -1
	** (EIO) and the caller must stop by itself. */
	int (*self_reset)(struct hv *, const char *reason);
	/* A descriptor that is readable while next_event would return non-zero,
	** or -1 if the backend must be polled; next_event returns 1 with an
	** event, 0 if none is pending, -1 on error (hypervisor lost).  Backends
	** without events (hv_xen) diff successive domain lists. */
	int (*event_fd)(struct hv *);
	int (*next_event)(struct hv *, struct hv_event *ev);
	void (*close)(struct hv *);
};

struct hv {
	const struct hv_ops *ops;
	char last_error[256];
};

/* Backends.  `arg` is backend-specific: hv_sim takes the simhv socket path,
** hv_xen ignores it.  Return NULL with a message in err[] on failure. */
struct hv *hv_sim_open(const char *socket_path, char *err, size_t errlen);
struct hv *hv_xen_open(const char *arg, char *err, size_t errlen);

/* Close and free; hv_close(NULL) is a no-op. */
void hv_close(struct hv *hv);

const char *hv_dom_state_name(enum hv_dom_state s);
const char *hv_event_name(enum hv_event_type t);

#endif
