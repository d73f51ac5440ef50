/*
** Backend-independent parts of the hypervisor seam.
*/
#include "hasvc/hv.h"

void
hv_close(struct hv *hv)
{
	if (hv != NULL)
		hv->ops->close(hv);
}

const char *
hv_dom_state_name(enum hv_dom_state s)
{
	switch (s) {
	case HV_DOM_RUNNING:
		return "running";
	case HV_DOM_PAUSED:
		return "paused";
	case HV_DOM_SHUTDOWN:
		return "shutdown";
	case HV_DOM_CRASHED:
		return "crashed";
	case HV_DOM_DYING:
		return "dying";
	}
	return "unknown";
}

const char *
hv_event_name(enum hv_event_type t)
{
	switch (t) {
	case HV_EV_DOMAIN_DIED:
		return "died";
	case HV_EV_DOMAIN_CRASHED:
		return "crashed";
	case HV_EV_DOMAIN_STARTED:
		return "started";
	}
	return "unknown";
}
