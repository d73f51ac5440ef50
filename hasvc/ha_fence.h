/*
** The liveness layer's hands (docs/fencing.md): the fence state machine
** (fencing/fence.h) fed by hasvc/ha.c with the engine's decisions and with
** signs of progress, its actions carried out through the watchdog keeper
** (hasvc/wdclient.h; the keeper holds the host watchdog, fencing/wdkeep.h).
**
**   joined        my host is in an agreed liveset for the first time: arm
**   decision      survive / wait / fence; a fence has the keeper stop
**                 petting (FENCE, confirmed by its STATUS), writes the
**                 record through the caller's hook, then resets through
**                 the keeper -- at the machine's record bound at the latest
**   io_progress   the statefile side answered (a completion or a deadline)
**   lease         the engine's lease (lv_lease), sent with every pet
**
** A timer of its own feeds `loop_alive` (the loop ran it) and the machine's
** ticks; pets therefore stop when the event loop stops.  While the machine
** has not armed (joining) but the keeper reports a watchdog already armed
** -- a restarted daemon's predecessor armed it -- the daemon sends the
** keeper keepalives with lease 0: they give no new lease (the keeper keeps
** the predecessor's), they only say that this daemon is not hung.
*/
#ifndef HASVC_HASVC_HA_FENCE_H
#define HASVC_HASVC_HA_FENCE_H

#include <stddef.h>
#include <stdint.h>

#include "fencing/fence.h"
#include "fencing/record.h"

struct event_base;
struct ha_fence;

struct ha_fence_hooks {
	void *arg;
	/* Write the fence record to local disk (durably) and, if `slot_ok`,
	** to my statefile slot: 0 when both are done, 1 when the slot's write
	** is still in flight (the caller then calls ha_fence_record_done() with
	** its answer), -1 if the local copy could not be written (the reset
	** goes ahead at the machine's bound anyway).
	** slot_ok is 1 only once the keeper confirmed that it stopped petting
	** (STATUS fenced after FENCE): the slot's record tells the other hosts
	** that this host dies within W, which holds only from then on. */
	int (*write_record)(void *arg, const struct fence_record *rec, int slot_ok);
};

/* wd_ms, pet_ms: the engine's W and pet period (lv_timing); statefile: 1 if
** one is configured (pets then need statefile progress too).  Connects to
** the keeper at `keeper_socket` (retrying) and enables the machine. */
struct ha_fence *ha_fence_new(struct event_base *base, const char *keeper_socket, uint32_t wd_ms,
			      uint32_t pet_ms, int statefile, const struct ha_fence_hooks *hooks,
			      char *err, size_t errlen);
/* Stops petting and closes the keeper connection WITHOUT disarming: the
** keeper keeps the host alive until the last lease (a daemon restart), then
** the watchdog resets it.  NULL: no-op. */
void ha_fence_free(struct ha_fence *hf);
/* HA disabled on purpose: disarm, then free. */
void ha_fence_disable(struct ha_fence *hf);

void ha_fence_joined(struct ha_fence *hf);
void ha_fence_decision(struct ha_fence *hf, enum fence_verdict v, uint32_t reason,
		       const struct fence_record *rec);
void ha_fence_io_progress(struct ha_fence *hf);
/* The slot's fence record write answered (written or not): reset now. */
void ha_fence_record_done(struct ha_fence *hf);
void ha_fence_set_lease(struct ha_fence *hf, uint64_t lease_ms);
/* A maintenance window until `until` (my clock): disarm until then; 0: over,
** arm again (if my host is in the liveset). */
void ha_fence_maintenance(struct ha_fence *hf, uint64_t until);

struct ha_fence_status {
	enum fence_state state;
	int armed;            /* as the machine asked */
	int keeper_connected; /* the keeper connection is up */
	int keeper_armed;     /* the keeper's last STATUS said armed */
	uint64_t keeper_lease;
	uint64_t lease;       /* the lease sent with the last pet */
	struct fence_stats stats;
	uint64_t send_failures; /* keeper messages that could not be sent */
};
void ha_fence_get_status(const struct ha_fence *hf, struct ha_fence_status *out);

#endif
