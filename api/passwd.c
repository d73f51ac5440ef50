/*
** Password hashes: PBKDF2-HMAC-SHA256 through OpenSSL, and a small worker
** pool that runs the (deliberately slow) derivation off the event loop.
**
** Hash strings are parsed strictly: the exact prefix, a decimal iteration
** count without sign or leading zero in [PASSWD_MIN_ITERATIONS,
** PASSWD_MAX_ITERATIONS], a salt of exactly PASSWD_SALT_LEN bytes and a hash
** of exactly PASSWD_KEY_LEN bytes, each in canonical padded base64 (the
** decoded bytes must encode back to the very same text).  Anything else is
** "malformed" (-1), never "no match", so a corrupted user record is noticed.
**
** The worker pool: at most PASSWD_WORKERS long-lived threads, started on
** demand, share one FIFO queue under one mutex; extra requests wait in the
** queue, so a burst of logins costs bounded CPU.  A worker touches nothing
** but its own request; it reports through the request's eventfd, which the
** loop thread watches with an ordinary EV_READ event: no libevent call is
** ever made off the loop thread, so the caller's event_base needs no
** evthread locking.  The done callback, the event and the request's memory
** all belong to the loop thread.  The same pool runs passwd_hash_async()
** jobs; a job's plaintext copy is wiped by the worker right after use.
** Contract: `base` must outlive every job started on it (the daemon's base lives as long as the
** process; tests run their loop until the callbacks have fired).
*/
#include "api/passwd.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define PASSWD_PREFIX   "$pbkdf2-sha256$"
#define PASSWD_SALT_LEN 16
#define PASSWD_KEY_LEN  32
#define PASSWD_SALT_B64 24 /* 4 * ceil(16 / 3) */
#define PASSWD_KEY_B64  44 /* 4 * ceil(32 / 3) */
/* A stored count above this is taken for corruption (or an attack on the
** user table): one verification must not pin a worker for minutes. */
#define PASSWD_MAX_ITERATIONS 50000000u
#define PASSWD_WORKERS        2

struct passwd_parsed {
	unsigned iterations;
	unsigned char salt[PASSWD_SALT_LEN];
	unsigned char key[PASSWD_KEY_LEN];
};

static int
passwd_derive(const char *password, const unsigned char *salt, unsigned iterations,
              unsigned char key[PASSWD_KEY_LEN])
{
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, PASSWD_SALT_LEN,
	                      (int)iterations, EVP_sha256(), PASSWD_KEY_LEN, key) != 1)
		return -1;
	return 0;
}

/* Decode exactly `nbytes` bytes from `len` characters of canonical base64. */
static int
passwd_b64_decode(const char *s, size_t len, unsigned char *out, size_t nbytes)
{
	unsigned char buf[64];
	char again[96];
	size_t want = 4 * ((nbytes + 2) / 3);
	int n;

	if (len != want || len >= sizeof(again) || (len / 4) * 3 > sizeof(buf))
		return -1;
	/* EVP_DecodeBlock ignores surrounding whitespace and counts padding as
	** zero bytes: check the length it reports, then re-encode and compare
	** so that only the one canonical spelling is accepted. */
	n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n != (len / 4) * 3)
		return -1;
	memcpy(out, buf, nbytes);
	EVP_EncodeBlock((unsigned char *)again, out, (int)nbytes);
	if (memcmp(again, s, len) != 0)
		return -1;
	return 0;
}

static int
passwd_parse(const char *hash, struct passwd_parsed *p)
{
	const char *s = hash, *salt, *key;
	unsigned long it = 0;

	if (strncmp(s, PASSWD_PREFIX, strlen(PASSWD_PREFIX)) != 0)
		return -1;
	s += strlen(PASSWD_PREFIX);
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		it = it * 10 + (unsigned long)(*s - '0');
		if (it > PASSWD_MAX_ITERATIONS)
			return -1;
		s++;
	}
	if (*s++ != '$' || it < PASSWD_MIN_ITERATIONS)
		return -1;
	salt = s;
	s = strchr(salt, '$');
	if (!s)
		return -1;
	key = s + 1;
	if (passwd_b64_decode(salt, (size_t)(s - salt), p->salt, PASSWD_SALT_LEN) < 0 ||
	    passwd_b64_decode(key, strlen(key), p->key, PASSWD_KEY_LEN) < 0)
		return -1;
	p->iterations = (unsigned)it;
	return 0;
}

int
passwd_hash(const char *password, unsigned iterations, char *out, size_t outlen)
{
	unsigned char salt[PASSWD_SALT_LEN], key[PASSWD_KEY_LEN];
	char salt64[PASSWD_SALT_B64 + 1], key64[PASSWD_KEY_B64 + 1];
	int n, rc = -1;

	if (!password || iterations < PASSWD_MIN_ITERATIONS || iterations > PASSWD_MAX_ITERATIONS)
		return -1;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		goto fail;
	if (passwd_derive(password, salt, iterations, key) < 0)
		goto fail;
	EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)key64, key, sizeof(key));
	n = snprintf(out, outlen, PASSWD_PREFIX "%u$%s$%s", iterations, salt64, key64);
	if (n < 0 || (size_t)n >= outlen)
		goto fail;
	rc = 0;
fail:
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0 && outlen > 0)
		out[0] = '\0';
	return rc;
}

int
passwd_verify(const char *password, const char *hash)
{
	struct passwd_parsed p;
	unsigned char key[PASSWD_KEY_LEN];
	int rc;

	if (!password || !hash || passwd_parse(hash, &p) < 0)
		return -1;
	if (passwd_derive(password, p.salt, p.iterations, key) < 0)
		return -1;
	rc = CRYPTO_memcmp(key, p.key, sizeof(key)) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* ---- the worker pool ---- */

/* One job for the pool: a verification or a hash.  Until the worker signals,
** the worker alone reads password/hash/iterations and writes result/out;
** afterwards everything belongs to the loop thread. */
struct passwd_req {
	struct passwd_req *next;   /* queue link, under passwd_pool.lock */
	char *password;            /* wiped by the worker as soon as it is used */
	char *hash;                /* verify: the stored hash; NULL for a hash job */
	unsigned iterations;       /* hash job */
	char out[PASSWD_HASH_LEN]; /* hash job: the new hash string */
	int result;                /* written by the worker before it signals */
	int efd;                   /* eventfd: the worker's "done" */
	struct event *ev;
	void (*verified)(void *arg, int result);
	void (*hashed)(void *arg, int rc, const char *hash);
	void *arg;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct passwd_req *head, *tail;
	unsigned threads;
	unsigned idle;
} passwd_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0};

static void
passwd_req_free(struct passwd_req *r)
{
	if (!r)
		return;
	if (r->password) {
		OPENSSL_cleanse(r->password, strlen(r->password));
		xfree(r->password);
	}
	xfree(r->hash);
	OPENSSL_cleanse(r->out, sizeof(r->out));
	if (r->ev)
		event_free(r->ev);
	if (r->efd >= 0)
		close(r->efd);
	xfree(r);
}

static void *
passwd_worker(void *unused)
{
	struct passwd_req *r;
	uint64_t one = 1;
	int fd;

	for (;;) {
		pthread_mutex_lock(&passwd_pool.lock);
		passwd_pool.idle++;
		while (!passwd_pool.head)
			pthread_cond_wait(&passwd_pool.cond, &passwd_pool.lock);
		passwd_pool.idle--;
		r = passwd_pool.head;
		passwd_pool.head = r->next;
		if (!passwd_pool.head)
			passwd_pool.tail = NULL;
		pthread_mutex_unlock(&passwd_pool.lock);

		if (r->hash)
			r->result = passwd_verify(r->password, r->hash);
		else
			r->result = passwd_hash(r->password, r->iterations, r->out, sizeof(r->out));
		/* The plaintext is not needed any more: do not keep it around
		** until the loop gets to the completion. */
		OPENSSL_cleanse(r->password, strlen(r->password));
		/* The last touch of r: once the write lands, the loop owns it. */
		fd = r->efd;
		while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

static void
passwd_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct passwd_req *r = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno == EAGAIN)
		return; /* spurious wakeup: the worker has not finished */
	if (r->verified)
		r->verified(r->arg, r->result);
	else
		r->hashed(r->arg, r->result, r->result == 0 ? r->out : NULL);
	passwd_req_free(r);
}

/* Queue r (password and kind already set) and arrange for its completion
** on `base`; -1 (r freed, no callback) if that cannot be done. */
static int
passwd_submit(struct event_base *base, struct passwd_req *r)
{
	pthread_t t;
	int start;

	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		log_warn("passwd: eventfd");
		goto fail;
	}
	r->ev = event_new(base, r->efd, EV_READ | EV_PERSIST, passwd_on_done, r);
	if (!r->ev || event_add(r->ev, NULL) < 0)
		goto fail;

	pthread_mutex_lock(&passwd_pool.lock);
	if (passwd_pool.tail)
		passwd_pool.tail->next = r;
	else
		passwd_pool.head = r;
	passwd_pool.tail = r;
	start = passwd_pool.idle == 0 && passwd_pool.threads < PASSWD_WORKERS;
	if (start) {
		if (pthread_create(&t, NULL, passwd_worker, NULL) == 0) {
			pthread_detach(t);
			passwd_pool.threads++;
		} else if (passwd_pool.threads == 0) {
			/* No worker at all: take r back and fail. */
			passwd_pool.head = passwd_pool.tail = NULL;
			pthread_mutex_unlock(&passwd_pool.lock);
			log_errx("passwd: cannot start a worker thread");
			goto fail;
		}
	}
	pthread_cond_signal(&passwd_pool.cond);
	pthread_mutex_unlock(&passwd_pool.lock);
	return 0;
fail:
	passwd_req_free(r);
	return -1;
}

int
passwd_verify_async(struct event_base *base, const char *password, const char *hash,
                    void (*done)(void *arg, int result), void *arg)
{
	struct passwd_req *r = xcalloc(1, sizeof(*r));

	r->efd = -1;
	r->password = xstrdup(password);
	r->hash = xstrdup(hash);
	r->verified = done;
	r->arg = arg;
	return passwd_submit(base, r);
}

int
passwd_hash_async(struct event_base *base, const char *password, unsigned iterations,
                  void (*done)(void *arg, int rc, const char *hash), void *arg)
{
	struct passwd_req *r;

	if (!password || !done || iterations < PASSWD_MIN_ITERATIONS ||
	    iterations > PASSWD_MAX_ITERATIONS)
		return -1;
	r = xcalloc(1, sizeof(*r));
	r->efd = -1;
	r->password = xstrdup(password);
	r->iterations = iterations;
	r->hashed = done;
	r->arg = arg;
	return passwd_submit(base, r);
}
