/*
** Fault point registry (FAULTS=1 builds only).  Owns a small fixed table of
** armed points; single-threaded callers or callers that tolerate racy
** counters (fault injection is best effort by nature).
*/
#ifdef HASVC_FAULTS
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fault.h"
#include "lib/log.h"

#define FAULT_MAX 32

struct fault_point {
	char name[64];
	unsigned after;
	unsigned repeat;
	unsigned hits;
	unsigned fired;
};

static struct fault_point points[FAULT_MAX];
static int npoints;
static int loaded;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int
parse_one(char *tok, struct fault_point *fp)
{
	char *field, *save = NULL;

	memset(fp, 0, sizeof(*fp));
	field = strtok_r(tok, ":", &save);
	if (field == NULL || strlen(field) >= sizeof(fp->name) || field[0] == '\0')
		return -1;
	strcpy(fp->name, field);
	while ((field = strtok_r(NULL, ":", &save)) != NULL) {
		char *end;
		unsigned long v;

		if (strncmp(field, "after=", 6) == 0) {
			v = strtoul(field + 6, &end, 10);
			if (*end != '\0')
				return -1;
			fp->after = (unsigned)v;
		} else if (strncmp(field, "repeat=", 7) == 0) {
			v = strtoul(field + 7, &end, 10);
			if (*end != '\0')
				return -1;
			fp->repeat = (unsigned)v;
		} else {
			return -1;
		}
	}
	return 0;
}

static int
configure_locked(const char *spec)
{
	char *copy, *tok, *save = NULL;
	int n = 0, rc = 0;

	loaded = 1;
	npoints = 0;
	if (spec == NULL || spec[0] == '\0')
		return 0;
	copy = strdup(spec);
	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == FAULT_MAX || parse_one(tok, &points[n]) < 0) {
			rc = -1;
			break;
		}
		n++;
	}
	free(copy);
	npoints = rc == 0 ? n : 0;
	return rc;
}

int
fault_configure(const char *spec)
{
	int rc;

	pthread_mutex_lock(&lock);
	rc = configure_locked(spec);
	pthread_mutex_unlock(&lock);
	return rc;
}

int
fault_hit(const char *name)
{
	int i, fire = 0;

	pthread_mutex_lock(&lock);
	if (!loaded && configure_locked(getenv("HASVC_FAULTS")) < 0)
		log_warnx("HASVC_FAULTS is malformed; no fault armed");
	for (i = 0; i < npoints; i++) {
		struct fault_point *fp = &points[i];

		if (strcmp(fp->name, name) != 0)
			continue;
		fp->hits++;
		if (fp->hits > fp->after && (fp->repeat == 0 || fp->fired < fp->repeat)) {
			fp->fired++;
			fire = 1;
		}
		break;
	}
	pthread_mutex_unlock(&lock);
	if (fire)
		log_notice("fault point %s fired", name);
	return fire;
}

unsigned
fault_fired(const char *name)
{
	unsigned n = 0;
	int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < npoints; i++)
		if (strcmp(points[i].name, name) == 0)
			n = points[i].fired;
	pthread_mutex_unlock(&lock);
	return n;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int fault_c_unused;
#endif
