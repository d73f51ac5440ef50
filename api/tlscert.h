/*
** The API's TLS certificate: generated self-signed on first start, replaceable
** by an admin with a CA-signed one (OpenSSL).
**
** Files: a PEM certificate file (the leaf, followed by any chain) and a PEM
** private key file (mode 0600).  Replacement is atomic (write to a temporary
** file, fsync, rename) and checked first: a new certificate that does not
** parse, is expired or not yet valid, or does not match its key is refused,
** and the old pair stays in place.
*/
#ifndef HASVC_API_TLSCERT_H
#define HASVC_API_TLSCERT_H

#include <stddef.h>

/* If either file is missing, generate a self-signed certificate (EC P-256,
** SHA-256, valid 10 years) for common name `cn` with subjectAltNames
** `sans` (each an IP literal or a DNS name) and write both files.  0 when
** both exist afterwards; -1 with err[] otherwise.  Existing files are never
** overwritten. */
int tlscert_ensure(const char *cert_path, const char *key_path, const char *cn,
		   const char *const *sans, size_t nsans, char *err, size_t errlen);

/* Check and install a new certificate (+ optional chain) and key given as PEM
** text.  -1 with err[] and nothing changed on any problem. */
int tlscert_install(const char *cert_path, const char *key_path, const char *cert_pem,
		    const char *key_pem, const char *chain_pem, char *err, size_t errlen);

#endif
