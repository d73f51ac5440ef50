/*
** hv_xen in a build without Xen headers (XEN=0): the same symbol as
** hv_xen.c, so that hasvcd links either way; selecting the xen backend fails
** at start with a message that names the missing Xen support.  Allocates
** nothing.
*/
#include <errno.h>
#include <stdio.h>

#include "hasvc/hv.h"

struct hv *
hv_xen_open(const char *arg, char *err, size_t errlen)
{
	(void)arg;
	snprintf(err, errlen,
	         "hypervisor backend 'xen' is not available: hasvcd was built without Xen "
	         "support (install libxen-dev and rebuild with XEN=1)");
	errno = ENODEV;
	return NULL;
}
