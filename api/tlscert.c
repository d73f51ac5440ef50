/*
** The API's certificate and key files (see tlscert.h), with OpenSSL 3.
**
** Invariants: a file we write appears whole or not at all (temporary file in
** the same directory, fsync, then link(2) for "create only" or rename(2) for
** "replace", then fsync of the directory); the key file is mode 0600 whatever
** the umask; ensure never replaces an existing file; install checks
** everything before it writes anything.
**
** install replaces two files with two renames, key first.  If the second
** rename fails, the old key is written back.  A crash between the two leaves
** a key that does not match the certificate: httpd refuses to load such a
** pair (it checks the match), so the failure is loud, not silent.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "api/tlscert.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define TLSCERT_DAYS 3650

static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
}

/* fsync the directory holding `path` so that a rename or link is durable. */
static int
fsync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = -1;

	xfree(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Write `data` to a new temporary file next to `path` with `mode` (set with
** fchmod, so the umask does not matter), fsynced.  Returns the temporary
** name (caller frees) or NULL with err[]. */
static char *
write_temp(const char *path, const void *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s.tmpXXXXXX", path);
	const char *p = data;
	int fd = mkostemp(tmp, O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		xfree(tmp);
		return NULL;
	}
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return tmp;
fail:
	snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	xfree(tmp);
	return NULL;
}

/* Create `path` with `data` atomically; fails with EEXIST rather than
** replacing an existing file. */
static int
create_file(const char *path, const void *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	char *tmp = write_temp(path, data, len, mode, err, errlen);
	int rc;

	if (!tmp)
		return -1;
	rc = link(tmp, path);
	if (rc < 0)
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	unlink(tmp);
	xfree(tmp);
	if (rc == 0)
		fsync_dir(path);
	return rc;
}

/* The contents of a memory BIO as a NUL-terminated string (caller frees). */
static char *
bio_string(BIO *b, size_t *len)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	char *s = xmalloc((size_t)n + 1);

	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	*len = (size_t)n;
	return s;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* subjectAltName: each name an IP literal (inet_pton) or else a DNS name. */
static int
add_sans(X509 *x, const char *const *sans, size_t n)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int rc = -1;
	size_t i;

	if (!gens)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ip[16];
		int iplen = 0;
		GENERAL_NAME *g = GENERAL_NAME_new();

		if (!g)
			goto fail;
		if (inet_pton(AF_INET, sans[i], ip) == 1)
			iplen = 4;
		else if (inet_pton(AF_INET6, sans[i], ip) == 1)
			iplen = 16;
		if (iplen) {
			ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();

			if (!o || !ASN1_OCTET_STRING_set(o, ip, iplen)) {
				ASN1_OCTET_STRING_free(o);
				GENERAL_NAME_free(g);
				goto fail;
			}
			GENERAL_NAME_set0_value(g, GEN_IPADD, o);
		} else {
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();

			if (!s || !ASN1_STRING_set(s, sans[i], -1)) {
				ASN1_IA5STRING_free(s);
				GENERAL_NAME_free(g);
				goto fail;
			}
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
		}
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto fail;
		}
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
fail:
	GENERAL_NAMES_free(gens);
	return rc;
}

static X509 *
make_selfsigned(EVP_PKEY *key, const char *cn, const char *const *sans, size_t nsans)
{
	X509 *x = X509_new();
	X509_NAME *name;
	BIGNUM *bn = BN_new();
	const char *one[1] = {cn};

	if (!x || !bn)
		goto fail;
	/* A random positive 127-bit serial, as RFC 5280 asks for uniqueness. */
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto fail;
	/* An hour of slack for clients whose clock is a little behind. */
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), TLSCERT_DAYS, 0, NULL))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
	                                -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key))
		goto fail;
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, NID_subject_key_identifier, "hash") < 0)
		goto fail;
	/* Clients ignore the CN: without SANs, the CN is the one name. */
	if (nsans == 0) {
		sans = one;
		nsans = 1;
	}
	if (add_sans(x, sans, nsans) < 0)
		goto fail;
	if (!X509_sign(x, key, EVP_sha256()))
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

int
tlscert_ensure(const char *cert_path, const char *key_path, const char *cn, const char *const *sans,
               size_t nsans, char *err, size_t errlen)
{
	int have_cert = access(cert_path, F_OK) == 0;
	int have_key = access(key_path, F_OK) == 0;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *kb = NULL, *cb = NULL;
	char *kpem = NULL, *cpem = NULL;
	size_t klen, clen;
	int rc = -1;

	if (have_cert && have_key)
		return 0;
	if (have_cert || have_key) {
		snprintf(err, errlen, "%s exists but %s does not; not replacing either",
		         have_cert ? cert_path : key_path, have_cert ? key_path : cert_path);
		return -1;
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!key) {
		ssl_err(err, errlen, "cannot generate an EC P-256 key");
		goto out;
	}
	x = make_selfsigned(key, cn, sans, nsans);
	if (!x) {
		ssl_err(err, errlen, "cannot build the self-signed certificate");
		goto out;
	}
	kb = BIO_new(BIO_s_mem());
	cb = BIO_new(BIO_s_mem());
	if (!kb || !cb || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cb, x)) {
		ssl_err(err, errlen, "cannot encode the certificate");
		goto out;
	}
	kpem = bio_string(kb, &klen);
	cpem = bio_string(cb, &clen);
	if (create_file(key_path, kpem, klen, 0600, err, errlen) < 0)
		goto out;
	if (create_file(cert_path, cpem, clen, 0644, err, errlen) < 0) {
		unlink(key_path); /* ours, created a moment ago */
		goto out;
	}
	log_notice("generated a self-signed certificate for %s in %s", cn, cert_path);
	rc = 0;
out:
	if (kpem)
		OPENSSL_cleanse(kpem, klen);
	xfree(kpem);
	xfree(cpem);
	BIO_free(kb);
	BIO_free(cb);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* Never prompt on a terminal for an encrypted key's passphrase. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Every certificate in `pem`, in order, appended to `out`.  -1 if a block
** does not parse or (when `need_one`) there is none. */
static int
parse_certs(const char *pem, STACK_OF(X509) * out, int need_one)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int n = 0;
	unsigned long e;

	if (!b)
		return -1;
	while ((x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL) {
		if (!sk_X509_push(out, x)) {
			X509_free(x);
			BIO_free(b);
			return -1;
		}
		n++;
	}
	BIO_free(b);
	/* The loop ends with "no start line" at a clean end of input; any
	** other error is a broken block. */
	e = ERR_peek_last_error();
	if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
		return -1;
	ERR_clear_error();
	return need_one && n == 0 ? -1 : 0;
}

static void
time_str(const ASN1_TIME *t, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	snprintf(buf, len, "?");
	if (!b)
		return;
	if (ASN1_TIME_print(b, t)) {
		n = BIO_get_mem_data(b, &p);
		snprintf(buf, len, "%.*s", (int)n, p);
	}
	BIO_free(b);
}

static int
check_dates(X509 *x, const char *what, char *err, size_t errlen)
{
	char when[64];

	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		time_str(X509_get0_notBefore(x), when, sizeof(when));
		snprintf(err, errlen, "%s is not valid before %s", what, when);
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		time_str(X509_get0_notAfter(x), when, sizeof(when));
		snprintf(err, errlen, "%s expired on %s", what, when);
		return -1;
	}
	return 0;
}

/* Read a whole small file; NULL if absent or unreadable. */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = xrealloc(buf, cap);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	if (ferror(f)) {
		fclose(f);
		xfree(buf);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

int
tlscert_install(const char *cert_path, const char *key_path, const char *cert_pem,
                const char *key_pem, const char *chain_pem, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	EVP_PKEY *key = NULL;
	BIO *b = NULL, *kb = NULL, *cb = NULL;
	char *kpem = NULL, *cpem = NULL, *ktmp = NULL, *ctmp = NULL, *oldkey = NULL;
	size_t klen = 0, clen = 0, oldlen = 0;
	int i, rc = -1;

	ERR_clear_error();
	if (!certs)
		goto nomem;
	if (!cert_pem || parse_certs(cert_pem, certs, 1) < 0) {
		ssl_err(err, errlen, "the certificate does not parse as PEM");
		goto out;
	}
	if (chain_pem && *chain_pem && parse_certs(chain_pem, certs, 1) < 0) {
		ssl_err(err, errlen, "the chain does not parse as PEM certificates");
		goto out;
	}
	b = key_pem ? BIO_new_mem_buf(key_pem, -1) : NULL;
	key = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
	if (!key) {
		ssl_err(err, errlen, "the private key does not parse as unencrypted PEM");
		goto out;
	}
	if (check_dates(sk_X509_value(certs, 0), "the certificate", err, errlen) < 0)
		goto out;
	for (i = 1; i < sk_X509_num(certs); i++) {
		char what[48];

		snprintf(what, sizeof(what), "chain certificate %d", i);
		if (check_dates(sk_X509_value(certs, i), what, err, errlen) < 0)
			goto out;
	}
	if (X509_check_private_key(sk_X509_value(certs, 0), key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "the private key does not match the certificate");
		goto out;
	}

	/* Write back canonical PEM: no stray text, an unencrypted PKCS#8 key. */
	kb = BIO_new(BIO_s_mem());
	cb = BIO_new(BIO_s_mem());
	if (!kb || !cb || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
		goto nomem;
	for (i = 0; i < sk_X509_num(certs); i++)
		if (!PEM_write_bio_X509(cb, sk_X509_value(certs, i)))
			goto nomem;
	kpem = bio_string(kb, &klen);
	cpem = bio_string(cb, &clen);
	ktmp = write_temp(key_path, kpem, klen, 0600, err, errlen);
	if (!ktmp)
		goto out;
	ctmp = write_temp(cert_path, cpem, clen, 0644, err, errlen);
	if (!ctmp)
		goto out;
	oldkey = read_file(key_path, &oldlen);
	if (rename(ktmp, key_path) < 0) {
		snprintf(err, errlen, "cannot replace %s: %s", key_path, strerror(errno));
		goto out;
	}
	xfree(ktmp);
	ktmp = NULL;
	if (rename(ctmp, cert_path) < 0) {
		char *back;

		snprintf(err, errlen, "cannot replace %s: %s", cert_path, strerror(errno));
		if (oldkey) {
			char dummy[8];

			back = write_temp(key_path, oldkey, oldlen, 0600, dummy, sizeof(dummy));
			if (!back || rename(back, key_path) < 0) {
				if (back)
					unlink(back);
				log_errx("cannot restore the old key %s; it no longer matches %s",
				         key_path, cert_path);
			}
			xfree(back);
		}
		goto out;
	}
	xfree(ctmp);
	ctmp = NULL;
	fsync_dir(key_path);
	fsync_dir(cert_path);
	log_notice("installed a new certificate in %s", cert_path);
	rc = 0;
	goto out;
nomem:
	ssl_err(err, errlen, "cannot encode the certificate");
out:
	if (ktmp)
		unlink(ktmp);
	if (ctmp)
		unlink(ctmp);
	xfree(ktmp);
	xfree(ctmp);
	if (kpem)
		OPENSSL_cleanse(kpem, klen);
	if (oldkey)
		OPENSSL_cleanse(oldkey, oldlen);
	xfree(kpem);
	xfree(cpem);
	xfree(oldkey);
	BIO_free(b);
	BIO_free(kb);
	BIO_free(cb);
	EVP_PKEY_free(key);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}
