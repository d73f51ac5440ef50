/*
** XAPI client over libcurl (see client.h).  One easy handle per client so
** that libcurl keeps the TLS connection open between calls; the session ref
** is the only state besides it.  Bodies are encoded and decoded by the
** JSON-RPC codec; nothing here parses JSON or HTTP by hand.
*/
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "api/client.h"
#include "api/jsonrpc.h"
#include "lib/check.h"
#include "lib/xmalloc.h"

#define DEFAULT_TIMEOUT_S 60L
#define CONNECT_TIMEOUT_S 10L

struct client {
	CURL *curl;
	struct curl_slist *headers;
	char *host;
	int port;
	char *cacert;
	int verify;
	long timeout_s;
	volatile sig_atomic_t *abort_flag;

	char *session; /* NULL until logged in */
	int64_t next_id;

	/* The response being received. */
	char *body;
	size_t len, cap;
	int too_big;

	struct xval *error; /* last XAPI ErrorDescription */
	char errmsg[512];
	char curlerr[CURL_ERROR_SIZE];
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct client *c = arg;
	size_t n = size * nmemb;

	if (c->len + n > CLIENT_MAX_BODY) {
		c->too_big = 1;
		return 0; /* libcurl ends the transfer with CURLE_WRITE_ERROR */
	}
	if (c->len + n + 1 > c->cap) {
		c->cap = (c->len + n + 1) * 2;
		if (c->cap > CLIENT_MAX_BODY + 1)
			c->cap = CLIENT_MAX_BODY + 1;
		c->body = xrealloc(c->body, c->cap);
	}
	memcpy(c->body + c->len, ptr, n);
	c->len += n;
	c->body[c->len] = '\0';
	return n;
}

/* Called by libcurl about once a second (and on every chunk): the only way
** to end a blocking transfer from a signal handler's flag. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct client *c = arg;

	return c->abort_flag != NULL && *c->abort_flag;
}

static void
set_url(struct client *c)
{
	char *url;

	/* An IPv6 literal must be bracketed in a URL. */
	if (strchr(c->host, ':') != NULL && c->host[0] != '[')
		url = xasprintf("https://[%s]:%d/jsonrpc", c->host, c->port);
	else
		url = xasprintf("https://%s:%d/jsonrpc", c->host, c->port);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	xfree(url);
}

struct client *
client_new(const struct client_opts *opts)
{
	static int global_done;
	struct client *c;

	ha_assert(opts->host != NULL && opts->port > 0 && opts->port < 65536);
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		global_done = 1;
	}
	c = xcalloc(1, sizeof(*c));
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		xfree(c);
		return NULL;
	}
	c->host = xstrdup(opts->host);
	c->port = opts->port;
	c->cacert = opts->cacert != NULL ? xstrdup(opts->cacert) : NULL;
	c->verify = opts->verify;
	c->timeout_s = opts->timeout_s > 0 ? opts->timeout_s : DEFAULT_TIMEOUT_S;
	c->next_id = 1;
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	c->headers = curl_slist_append(c->headers, "Accept: application/json");

	set_url(c);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "hasvc-cli");
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curlerr);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
	if (c->cacert != NULL)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->cacert);
	return c;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	if (c->session != NULL)
		client_logout(c);
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	xval_free(c->error);
	xfree(c->body);
	xfree(c->session);
	xfree(c->cacert);
	xfree(c->host);
	xfree(c);
}

/* A sentence for a failed transfer; TLS trouble gets its own code so that
** the CLI can tell an admin what to do about a self-signed certificate. */
static int
transfer_failed(struct client *c, CURLcode rc)
{
	const char *detail = c->curlerr[0] != '\0' ? c->curlerr : curl_easy_strerror(rc);

	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(c->errmsg, sizeof(c->errmsg),
		         "the TLS certificate of %s:%d could not be verified (%s); "
		         "give the pool's certificate with --cacert FILE, or skip the check "
		         "with --no-verify",
		         c->host, c->port, detail);
		return CLIENT_ETLS;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(c->errmsg, sizeof(c->errmsg), "cannot use the CA certificate file %s (%s)",
		         c->cacert != NULL ? c->cacert : "(system store)", detail);
		return CLIENT_ETLS;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(c->errmsg, sizeof(c->errmsg),
		         "TLS handshake with %s:%d failed (%s); is it the hasvc API port?", c->host,
		         c->port, detail);
		return CLIENT_ETLS;
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(c->errmsg, sizeof(c->errmsg), "interrupted");
		return CLIENT_EABORT;
	case CURLE_WRITE_ERROR:
		if (c->too_big) {
			snprintf(c->errmsg, sizeof(c->errmsg),
			         "the answer from %s:%d is larger than %u MiB", c->host, c->port,
			         CLIENT_MAX_BODY >> 20);
			return CLIENT_ECONN;
		}
		break;
	default:
		break;
	}
	snprintf(c->errmsg, sizeof(c->errmsg), "cannot reach the hasvc API at %s:%d: %s", c->host,
	         c->port, detail);
	return CLIENT_ECONN;
}

/* Zero every string param of the array `params` in place: params may hold
** a password (login, hasvc_user.add / set_password), which must not linger
** in freed memory. */
static void
params_wipe(struct xval *params)
{
	struct xval *v;
	size_t i;

	for (i = 0; i < xval_len(params); i++) {
		v = xval_array_get(params, i);
		if (xval_is(v, XVAL_STRING) && v->u.s)
			explicit_bzero(v->u.s, strlen(v->u.s));
	}
}

/* One JSON-RPC call with exactly these params (no session added).  The
** encoded request is wiped before it is freed: it may carry a password. */
static int
call_raw(struct client *c, const char *method, const struct xval *params, struct xval **result)
{
	struct xval_reply reply = {0};
	struct xval *id;
	char err[XVAL_ERR_MAX];
	char *req;
	size_t reqlen;
	long status = 0;
	CURLcode crc;
	int rc;

	*result = NULL;
	xval_free(c->error);
	c->error = NULL;
	c->errmsg[0] = c->curlerr[0] = '\0';
	c->len = 0;
	c->too_big = 0;

	id = xval_new_int(c->next_id++);
	req = jsonrpc_encode_request(2, id, method, params, &reqlen);
	xval_free(id);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)reqlen);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, c->timeout_s);
	crc = curl_easy_perform(c->curl);
	/* The request body may be freed now: libcurl does not copy POSTFIELDS
	** but is done with it once perform returns. */
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	explicit_bzero(req, reqlen);
	xfree(req);
	if (crc != CURLE_OK)
		return transfer_failed(c, crc);

	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(c->errmsg, sizeof(c->errmsg),
		         "the server at %s:%d answered HTTP %ld to %s; is it the hasvc API?",
		         c->host, c->port, status, method);
		return CLIENT_ECONN;
	}
	if (jsonrpc_decode_response(c->body != NULL ? c->body : "", c->len, CLIENT_MAX_BODY, &reply,
	                            NULL, err, sizeof(err)) != 0) {
		snprintf(c->errmsg, sizeof(c->errmsg),
		         "the server at %s:%d sent a bad JSON-RPC answer to %s: %s", c->host,
		         c->port, method, err);
		return CLIENT_ECONN;
	}
	switch (reply.kind) {
	case XVAL_REPLY_FAILURE:
		if (!xval_is(reply.value, XVAL_ARRAY) || xval_len(reply.value) == 0 ||
		    !xval_is(xval_array_get(reply.value, 0), XVAL_STRING)) {
			snprintf(c->errmsg, sizeof(c->errmsg),
			         "the server at %s:%d sent a malformed error for %s", c->host,
			         c->port, method);
			xval_reply_clear(&reply);
			return CLIENT_ECONN;
		}
		c->error = reply.value;
		reply.value = NULL;
		rc = CLIENT_EAPI;
		break;
	default:
		*result = reply.value;
		reply.value = NULL;
		rc = CLIENT_OK;
		break;
	}
	xval_reply_clear(&reply);
	return rc;
}

int
client_call(struct client *c, const char *method, struct xval *params, struct xval **result)
{
	struct xval *full;
	size_t i;
	int rc;

	if (params == NULL)
		params = xval_new_array();
	ha_assert(xval_is(params, XVAL_ARRAY));
	if (c->session == NULL) {
		rc = call_raw(c, method, params, result);
		params_wipe(params);
		xval_free(params);
		return rc;
	}
	full = xval_new_array();
	xval_array_append(full, xval_new_string(c->session));
	for (i = 0; i < xval_len(params); i++)
		xval_array_append(full, xval_copy(xval_array_get(params, i)));
	params_wipe(params);
	xval_free(params);
	rc = call_raw(c, method, full, result);
	params_wipe(full);
	xval_free(full);
	return rc;
}

static int
login_once(struct client *c, const char *user, const char *password, int local)
{
	struct xval *p = xval_new_array(), *ref = NULL;
	int rc;

	xval_array_append(p, xval_new_string(user));
	xval_array_append(p, xval_new_string(password));
	if (!local) {
		xval_array_append(p, xval_new_string("1.1"));
		xval_array_append(p, xval_new_string("hasvc"));
	}
	rc = call_raw(c,
	              local ? "session.slave_local_login_with_password"
	                    : "session.login_with_password",
	              p, &ref);
	/* The password must not linger in memory longer than needed. */
	params_wipe(p);
	xval_free(p);
	if (rc != CLIENT_OK)
		return rc;
	if (!xval_is(ref, XVAL_STRING)) {
		snprintf(c->errmsg, sizeof(c->errmsg),
		         "the server at %s:%d answered the login with a %s, not a session", c->host,
		         c->port, xval_type_name(ref->type));
		xval_free(ref);
		return CLIENT_ECONN;
	}
	c->session = xstrdup(xval_string(ref));
	xval_free(ref);
	return CLIENT_OK;
}

int
client_login(struct client *c, const char *user, const char *password)
{
	const struct xval *e;
	int rc;

	ha_assert(c->session == NULL);
	rc = login_once(c, user, password, 0);
	if (rc != CLIENT_EAPI || strcmp(client_error_code(c), "HOST_IS_SLAVE") != 0)
		return rc;
	e = client_error(c);
	if (xval_len(e) < 2 || !xval_is(xval_array_get(e, 1), XVAL_STRING) ||
	    xval_string(xval_array_get(e, 1))[0] == '\0')
		return rc;
	/* One redirect only: a member that names another member is a broken
	** pool, and following it could loop. */
	xfree(c->host);
	c->host = xstrdup(xval_string(xval_array_get(e, 1)));
	set_url(c);
	return login_once(c, user, password, 0);
}

int
client_login_local(struct client *c, const char *user, const char *password)
{
	ha_assert(c->session == NULL);
	return login_once(c, user, password, 1);
}

int
client_logout(struct client *c)
{
	struct xval *r = NULL;
	int rc;

	if (c->session == NULL)
		return CLIENT_OK;
	/* Log out even when the command was interrupted: a leaked session
	** counts against the server's cap until it expires. */
	c->abort_flag = NULL;
	rc = client_call(c, "session.logout", NULL, &r);
	xval_free(r);
	xfree(c->session);
	c->session = NULL;
	return rc;
}

const struct xval *
client_error(const struct client *c)
{
	return c->error;
}

const char *
client_error_code(const struct client *c)
{
	if (c->error == NULL || xval_len(c->error) == 0)
		return "";
	return xval_string(xval_array_get(c->error, 0));
}

const char *
client_errmsg(const struct client *c)
{
	return c->errmsg;
}

const char *
client_host(const struct client *c)
{
	return c->host;
}

void
client_set_timeout(struct client *c, long timeout_s)
{
	c->timeout_s = timeout_s > 0 ? timeout_s : DEFAULT_TIMEOUT_S;
}

void
client_set_abort(struct client *c, volatile sig_atomic_t *flag)
{
	c->abort_flag = flag;
}
