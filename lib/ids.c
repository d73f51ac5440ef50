#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

#include "lib/ids.h"

void
id_uuid_new(char out[HA_UUID_LEN])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

int
id_uuid_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != HA_UUID_LEN - 1)
		return 0;
	for (i = 0; i < HA_UUID_LEN - 1; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

void
id_ref_from_uuid(char out[HA_REF_LEN], const char *uuid)
{
	snprintf(out, HA_REF_LEN, HA_REF_PREFIX "%s", uuid);
}

int
id_ref_to_uuid(const char *ref, char out[HA_UUID_LEN])
{
	size_t plen = strlen(HA_REF_PREFIX);

	if (ref == NULL || strncmp(ref, HA_REF_PREFIX, plen) != 0 || !id_uuid_valid(ref + plen))
		return -1;
	memcpy(out, ref + plen, HA_UUID_LEN);
	return 0;
}

int
id_uuid_to_bytes(const char *s, unsigned char out[16])
{
	if (!id_uuid_valid(s) || uuid_parse(s, out) != 0)
		return -1;
	return 0;
}
