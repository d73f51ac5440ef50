/*
** UUIDs and XAPI object references.  A ref is "OpaqueRef:" + a UUID; the null
** ref is "OpaqueRef:NULL".  Across the API and the wire, objects are named by
** these, never by pointers (STYLE habit 5).
*/
#ifndef HASVC_LIB_IDS_H
#define HASVC_LIB_IDS_H

#define HA_UUID_LEN 37 /* 36 characters + NUL */
#define HA_REF_PREFIX "OpaqueRef:"
#define HA_REF_LEN (10 + HA_UUID_LEN)
#define HA_REF_NULL "OpaqueRef:NULL"

/* A fresh random (version 4) UUID, lower case. */
void id_uuid_new(char out[HA_UUID_LEN]);
/* 1 if `s` is a well-formed UUID (any case, 8-4-4-4-12 hex), else 0. */
int id_uuid_valid(const char *s);
/* A well-formed UUID's 16 bytes (libuuid's order); -1 if it is not one. */
int id_uuid_to_bytes(const char *s, unsigned char out[16]);
/* "OpaqueRef:<uuid>" into `out`. */
void id_ref_from_uuid(char out[HA_REF_LEN], const char *uuid);
/* The UUID inside a ref; -1 if `ref` is not "OpaqueRef:<uuid>" (the null ref
** included). */
int id_ref_to_uuid(const char *ref, char out[HA_UUID_LEN]);

#endif
