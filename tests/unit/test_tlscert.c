/*
** api/tlscert: the generated pair (parse it back, SANs, key match, mode),
** ensure never overwriting, and install accepting a good pair and refusing
** a mismatched key, garbage, an expired or not-yet-valid certificate with
** the old files left byte-identical.  Test certificates are made here with
** OpenSSL directly, not with the code under test.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "api/tlscert.h"
#include "lib/xmalloc.h"

struct fx {
	char dir[64];
	char *cert, *key;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_tlscert.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->cert = xasprintf("%s/api.pem", f->dir);
	f->key = xasprintf("%s/api.key", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);

	assert_int_equal(system(cmd), 0);
	xfree(cmd);
	xfree(f->cert);
	xfree(f->key);
	xfree(f);
	return 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)n;
	return buf;
}

static X509 *
load_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k;

	assert_non_null(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

static EVP_PKEY *
new_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

/* A self-signed certificate for `key` valid from now+from_s to now+to_s. */
static char *
cert_pem(EVP_PKEY *key, long from_s, long to_s)
{
	X509 *x = X509_new();
	BIO *b = BIO_new(BIO_s_mem());
	X509_NAME *n;
	char *p, *s;
	long len;

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_gmtime_adj(X509_getm_notBefore(x), from_s);
	X509_gmtime_adj(X509_getm_notAfter(x), to_s);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_true(PEM_write_bio_X509(b, x));
	len = BIO_get_mem_data(b, &p);
	s = xstrndup(p, (size_t)len);
	BIO_free(b);
	X509_free(x);
	return s;
}

static char *
key_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long len;

	assert_true(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL));
	len = BIO_get_mem_data(b, &p);
	s = xstrndup(p, (size_t)len);
	BIO_free(b);
	return s;
}

static int
has_san(X509 *x, int type, const void *val, size_t len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, found = 0;

	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int t;
		ASN1_STRING *s = GENERAL_NAME_get0_value(g, &t);

		if (t == type && (size_t)ASN1_STRING_length(s) == len &&
		    !memcmp(ASN1_STRING_get0_data(s), val, len))
			found = 1;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

static void
ensure_pair(struct fx *f)
{
	static const char *const sans[] = {"192.0.2.7", "2001:db8::1", "host1.example"};
	char err[256] = "";
	int rc;
	mode_t old = umask(0); /* the key must still be 0600 */

	rc = tlscert_ensure(f->cert, f->key, "host1", sans, 3, err, sizeof(err));
	umask(old);
	assert_int_equal(rc, 0);
}

static void
test_ensure_creates_valid_pair(void **state)
{
	struct fx *f = *state;
	static const unsigned char v4[] = {192, 0, 2, 7};
	static const unsigned char v6[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	                                   0,    0,    0,    0,    0, 0, 0, 1};
	struct stat st;
	X509 *x;
	EVP_PKEY *k;

	ensure_pair(f);
	x = load_cert(f->cert);
	k = load_key(f->key);
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_bits(k), 256);
	assert_true(has_san(x, GEN_IPADD, v4, 4));
	assert_true(has_san(x, GEN_IPADD, v6, 16));
	assert_true(has_san(x, GEN_DNS, "host1.example", 13));
	assert_false(has_san(x, GEN_DNS, "192.0.2.7", 9));
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
	assert_int_equal(X509_check_host(x, "host1.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "192.0.2.7", 0), 1);
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->cert, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_ensure_does_not_overwrite(void **state)
{
	struct fx *f = *state;
	char *c1, *k1, *c2, *k2;
	char err[256] = "";

	ensure_pair(f);
	c1 = slurp(f->cert, NULL);
	k1 = slurp(f->key, NULL);
	ensure_pair(f);
	c2 = slurp(f->cert, NULL);
	k2 = slurp(f->key, NULL);
	assert_string_equal(c1, c2);
	assert_string_equal(k1, k2);

	/* One file missing: refused, the other left alone. */
	assert_int_equal(unlink(f->key), 0);
	assert_int_equal(tlscert_ensure(f->cert, f->key, "host1", NULL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not replacing"));
	xfree(c2);
	c2 = slurp(f->cert, NULL);
	assert_string_equal(c1, c2);
	assert_int_equal(access(f->key, F_OK), -1);
	xfree(c1);
	xfree(k1);
	xfree(c2);
	xfree(k2);
}

static void
test_ensure_bad_dir(void **state)
{
	char err[256] = "";

	assert_int_equal(tlscert_ensure("/nonexistent/dir/c.pem", "/nonexistent/dir/k.pem", "h",
	                                NULL, 0, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "/nonexistent/dir"));
}

static void
test_install_good_pair(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = new_key(), *ca = new_key(), *loaded;
	char *cpem = cert_pem(k, -60, 86400), *kpem = key_pem(k), *chain = cert_pem(ca, -60, 86400);
	char err[256] = "";
	struct stat st;
	X509 *x;
	char *onfile;

	ensure_pair(f);
	assert_int_equal(tlscert_install(f->cert, f->key, cpem, kpem, chain, err, sizeof(err)), 0);
	x = load_cert(f->cert);
	loaded = load_key(f->key);
	assert_int_equal(EVP_PKEY_eq(loaded, k), 1);
	assert_int_equal(X509_check_private_key(x, loaded), 1);
	/* The certificate file is the leaf followed by the chain. */
	onfile = slurp(f->cert, NULL);
	assert_non_null(strstr(onfile, cpem));
	assert_non_null(strstr(onfile, chain));
	assert_true(strstr(onfile, cpem) < strstr(onfile, chain));
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	xfree(onfile);
	X509_free(x);
	EVP_PKEY_free(loaded);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ca);
	xfree(cpem);
	xfree(kpem);
	xfree(chain);
}

/* install must fail with `want` in err[] and leave both files as they were. */
static void
refused(struct fx *f, const char *cpem, const char *kpem, const char *chain, const char *want)
{
	char err[256] = "";
	size_t cl1, kl1, cl2, kl2;
	char *c1, *k1, *c2, *k2;
	char *cmd;

	ensure_pair(f);
	c1 = slurp(f->cert, &cl1);
	k1 = slurp(f->key, &kl1);
	assert_int_equal(tlscert_install(f->cert, f->key, cpem, kpem, chain, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not mention \"%s\"", err, want);
	c2 = slurp(f->cert, &cl2);
	k2 = slurp(f->key, &kl2);
	assert_int_equal(cl1, cl2);
	assert_int_equal(kl1, kl2);
	assert_memory_equal(c1, c2, cl1);
	assert_memory_equal(k1, k2, kl1);
	/* No temporary files left behind. */
	cmd = xasprintf("test $(ls '%s' | wc -l) -eq 2", f->dir);
	assert_int_equal(system(cmd), 0);
	xfree(cmd);
	xfree(c1);
	xfree(k1);
	xfree(c2);
	xfree(k2);
}

static void
test_install_mismatched_key(void **state)
{
	EVP_PKEY *k = new_key(), *other = new_key();
	char *cpem = cert_pem(k, -60, 86400), *kpem = key_pem(other);

	refused(*state, cpem, kpem, NULL, "does not match");
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	xfree(cpem);
	xfree(kpem);
}

static void
test_install_garbage(void **state)
{
	EVP_PKEY *k = new_key();
	char *cpem = cert_pem(k, -60, 86400), *kpem = key_pem(k);
	char *truncated = xstrndup(cpem, strlen(cpem) / 2);

	refused(*state, "hello, not a certificate\n", kpem, NULL, "certificate does not parse");
	refused(*state, truncated, kpem, NULL, "certificate does not parse");
	refused(*state, "", kpem, NULL, "certificate does not parse");
	refused(*state, cpem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	        NULL, "private key does not parse");
	refused(*state, cpem, kpem, "garbage chain", "chain does not parse");
	refused(*state, cpem, kpem, truncated, "chain does not parse");
	EVP_PKEY_free(k);
	xfree(cpem);
	xfree(kpem);
	xfree(truncated);
}

static void
test_install_bad_dates(void **state)
{
	EVP_PKEY *k = new_key();
	char *expired = cert_pem(k, -86400 * 2, -86400), *future = cert_pem(k, 86400, 86400 * 2);
	char *good = cert_pem(k, -60, 86400), *kpem = key_pem(k);

	refused(*state, expired, kpem, NULL, "expired");
	refused(*state, future, kpem, NULL, "not valid before");
	refused(*state, good, kpem, expired, "chain certificate 1 expired");
	EVP_PKEY_free(k);
	xfree(expired);
	xfree(future);
	xfree(good);
	xfree(kpem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ensure_creates_valid_pair, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ensure_does_not_overwrite, setup, teardown),
	    cmocka_unit_test(test_ensure_bad_dir),
	    cmocka_unit_test_setup_teardown(test_install_good_pair, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_install_mismatched_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_install_garbage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_install_bad_dates, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
