/*
** Password hashes: salted PBKDF2-HMAC-SHA256 (OpenSSL), stored as one string
**
**     $pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>
**
** with at least PASSWD_MIN_ITERATIONS iterations and a 16-byte random salt.
** Verification is constant-time in the comparison and deliberately slow in
** the derivation; passwd_verify_async() and passwd_hash_async() run it on a
** worker thread and report back on the event loop.
*/
#ifndef HASVC_API_PASSWD_H
#define HASVC_API_PASSWD_H

#include <stddef.h>

#define PASSWD_MIN_ITERATIONS 200000
#define PASSWD_HASH_LEN 160 /* room for a hash string */

struct event_base;

/* Hash `password` into out[PASSWD_HASH_LEN]; 0 ok, -1 on failure. */
int passwd_hash(const char *password, unsigned iterations, char *out, size_t outlen);
/* 1 match, 0 no match, -1 malformed hash string. */
int passwd_verify(const char *password, const char *hash);

/* Verify on a worker thread; done(arg, result) runs later on `base` with
** passwd_verify's result.  The strings are copied. */
int passwd_verify_async(struct event_base *base, const char *password, const char *hash,
			void (*done)(void *arg, int result), void *arg);

/* Hash on the same worker pool: done(arg, rc, hash) runs later on `base`
** with passwd_hash's rc and, when rc is 0, the hash string (borrowed for the
** callback only; NULL otherwise).  The password is copied, and the copy is
** wiped once hashed.  -1 at once (done never runs) for a NULL password or
** an iteration count out of range, or when no worker can be started.  The
** job cannot be cancelled: a caller whose interest ends first must keep arg
** valid and ignore the result. */
int passwd_hash_async(struct event_base *base, const char *password, unsigned iterations,
                      void (*done)(void *arg, int rc, const char *hash), void *arg);

#endif
