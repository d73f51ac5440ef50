/*
** pool.join, pool.admit_host, pool.eject.  See api_pool.h.
**
** pool.join talks to the master with the blocking HTTPS client (api/client),
** so it runs on a thread of its own and reports back to the loop through an
** eventfd; the loop never waits for the network.  Only one join at a time.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "api/client.h"
#include "hasvc/api_pool.h"
#include "hasvc/cluster.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define JOIN_TIMEOUT_S 60L

struct join;

struct api_pool {
	struct event_base *base;
	struct api_ctx *ctx;
	const struct config *cfg;
	struct cluster *cluster;
	struct api_pool_hooks hooks;
	struct join *join; /* in progress, or NULL */
};

/* One pool.join: filled by the loop, then by the worker, then read by the
** loop again once the worker has signalled efd (no sharing in between). */
struct join {
	struct api_pool *p; /* NULL once cut loose */
	struct rpc_call *call;
	int efd;
	struct event *ev;
	pthread_t thread;
	/* in */
	char master[256];
	int port;
	char user[256];
	char password[1024];
	struct xval *record;
	/* out */
	int rc; /* CLIENT_* */
	struct xval *error;  /* the master's ErrorDescription, on CLIENT_EAPI */
	char errmsg[512];
	struct xval *result; /* pool.admit_host's answer */
};

/* ---- helpers ---- */

static int
pool_load(struct api_ctx *ctx, struct rpc_call *c, struct db_pool *pool)
{
	db_pool_init(pool);
	if (db_pool_get(ctx->db, pool) != 0) {
		rpc_fail(c, "INTERNAL_ERROR", "the pool database has no pool", NULL);
		return -1;
	}
	if (pool->ha_enabled) {
		rpc_fail(c, "HA_IS_ENABLED", NULL);
		return -1;
	}
	return 0;
}

static const char *
field_string(const struct xval *rec, const char *name)
{
	const struct xval *v = xval_struct_get(rec, name);

	return v != NULL && xval_is(v, XVAL_STRING) ? xval_string(v) : NULL;
}

static int
is_address(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return s != NULL && strlen(s) < DB_ADDR_LEN &&
	       (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

/* ---- pool.admit_host (on the master) ---- */

static void
random_key_hex(char out[2 * DB_CLUSTER_KEY_LEN + 1])
{
	uint8_t key[DB_CLUSTER_KEY_LEN];
	size_t i;

	if (RAND_bytes(key, sizeof(key)) != 1)
		fatalx("cannot draw a random cluster key");
	for (i = 0; i < sizeof(key); i++)
		snprintf(out + 2 * i, 3, "%02x", key[i]);
	explicit_bzero(key, sizeof(key));
}

static void
h_admit_host(void *arg, struct rpc_call *c)
{
	struct api_pool *p = arg;
	struct api_ctx *ctx = p->ctx;
	const struct xval *rec = rpc_call_param(c, 0);
	const char *uuid, *addr, *addr2, *name, *hostname;
	struct db_pool pool;
	struct db_host self, h, *hosts = NULL;
	size_t n = 0, i;
	uint32_t nodeid = 0;
	int64_t mem = 0, over = 0;
	int becomes_clustered = 0;
	void *img = NULL;
	size_t imglen = 0;
	char *b64 = NULL;
	struct xval *r;

	db_host_init(&self);
	db_host_init(&h);
	if (!xval_is(rec, XVAL_STRUCT)) {
		rpc_fail(c, "FIELD_TYPE_ERROR", "host", NULL);
		return;
	}
	if (pool_load(ctx, c, &pool) < 0)
		goto out;
	uuid = field_string(rec, "uuid");
	addr = field_string(rec, "address");
	addr2 = field_string(rec, "address2");
	name = field_string(rec, "name_label");
	hostname = field_string(rec, "hostname");
	if (uuid == NULL || !id_uuid_valid(uuid)) {
		rpc_fail(c, "INVALID_VALUE", "uuid", uuid ? uuid : "", NULL);
		goto out;
	}
	if (!is_address(addr) || (addr2 != NULL && addr2[0] != '\0' && !is_address(addr2))) {
		rpc_fail(c, "INVALID_VALUE", "address", addr ? addr : "", NULL);
		goto out;
	}
	if (xval_struct_get(rec, "memory_total") != NULL &&
	    xval_get_int64(xval_struct_get(rec, "memory_total"), &mem) < 0)
		mem = -1;
	if (xval_struct_get(rec, "memory_overhead") != NULL &&
	    xval_get_int64(xval_struct_get(rec, "memory_overhead"), &over) < 0)
		over = -1;
	if (mem < 0 || over < 0) {
		rpc_fail(c, "INVALID_VALUE", "memory_total", "", NULL);
		goto out;
	}
	if (db_host_list(ctx->db, &hosts, &n) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(hosts[i].uuid, uuid) == 0) {
			rpc_fail(c, "INVALID_VALUE", "host", uuid, "already a member of this pool",
				 NULL);
			goto out;
		}
		if (strcmp(hosts[i].address, addr) == 0) {
			rpc_fail(c, "INVALID_VALUE", "address", addr,
				 "another host of the pool has it", NULL);
			goto out;
		}
		if (hosts[i].cluster_nodeid > nodeid)
			nodeid = hosts[i].cluster_nodeid;
	}

	if (pool.cluster_key[0] == '\0') {
		/* A standalone master forms a clustered pool: a key, and nodeid 1
		** for itself; it restarts as a member once it has answered. */
		if (!p->cfg->cluster) {
			rpc_fail(c, "JOINING_HOST_SERVICE_FAILED",
				 "the pool master's hasvcd.conf has no <cluster> element", NULL);
			goto out;
		}
		random_key_hex(pool.cluster_key);
		if (db_pool_put(ctx->db, &pool) < 0 ||
		    db_host_get(ctx->db, ctx->host_uuid, &self) != 0) {
			rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
			goto out;
		}
		if (self.cluster_nodeid == 0) {
			self.cluster_nodeid = ++nodeid;
			if (db_host_put(ctx->db, &self) < 0) {
				rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
				goto out;
			}
		}
		becomes_clustered = 1;
	}
	memcpy(h.uuid, uuid, strlen(uuid) + 1);
	snprintf(h.name_label, sizeof(h.name_label), "%s", name ? name : uuid);
	snprintf(h.hostname, sizeof(h.hostname), "%s", hostname ? hostname : "");
	snprintf(h.address, sizeof(h.address), "%s", addr);
	snprintf(h.address2, sizeof(h.address2), "%s", addr2 ? addr2 : "");
	h.enabled = 1;
	h.memory_total = mem;
	h.memory_overhead = over;
	h.cluster_nodeid = nodeid + 1;
	if (db_host_put(ctx->db, &h) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
		goto out;
	}
	/* Inside a replicated write this image already holds the new host (the
	** capture's own transaction); the host resynchronises from the master
	** when it first runs clustered anyway. */
	if (db_snapshot(ctx->db, &img, &imglen) < 0 || imglen > (64u << 20)) {
		rpc_fail(c, "INTERNAL_ERROR", "cannot take a snapshot of the pool database", NULL);
		goto out;
	}
	b64 = xmalloc(4 * ((imglen + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, img, (int)imglen);
	r = xval_new_struct();
	xval_struct_add(r, "pool", xval_new_string(pool.uuid));
	xval_struct_add(r, "nodeid", xval_new_int(h.cluster_nodeid));
	xval_struct_add(r, "snapshot", xval_new_string(b64));
	log_notice("pool %s: host %s (%s) admitted as cluster node %u by %s", pool.uuid, h.uuid,
		   h.address, h.cluster_nodeid, rpc_call_session(c)->user);
	rpc_reply(c, r);
	if (becomes_clustered && p->hooks.restart != NULL)
		p->hooks.restart(p->hooks.arg, "the pool has two hosts now: restarting clustered");
out:
	xfree(b64);
	xfree(img);
	db_host_list_free(hosts, n);
	db_host_clear(&self);
	db_host_clear(&h);
	db_pool_clear(&pool);
}

/* ---- pool.join (on the joining host) ---- */

static void *
join_worker(void *arg)
{
	struct join *j = arg;
	struct client_opts o = {0};
	struct client *cl;
	struct xval *params;
	uint64_t one = 1;

	o.host = j->master;
	o.port = j->port;
	o.verify = 0; /* the master's certificate is not known yet (see docs) */
	o.timeout_s = JOIN_TIMEOUT_S;
	cl = client_new(&o);
	if (cl == NULL) {
		j->rc = CLIENT_ECONN;
		snprintf(j->errmsg, sizeof(j->errmsg), "cannot initialise the HTTPS client");
		goto done;
	}
	j->rc = client_login(cl, j->user, j->password);
	explicit_bzero(j->password, sizeof(j->password));
	if (j->rc == CLIENT_OK) {
		params = xval_new_array();
		xval_array_append(params, j->record);
		j->record = NULL;
		j->rc = client_call(cl, "pool.admit_host", params, &j->result);
	}
	if (j->rc == CLIENT_EAPI)
		j->error = xval_copy(client_error(cl));
	else if (j->rc != CLIENT_OK)
		snprintf(j->errmsg, sizeof(j->errmsg), "%s", client_errmsg(cl));
	client_free(cl);
done:
	if (write(j->efd, &one, sizeof(one)) != sizeof(one))
		log_warn("pool.join: cannot signal the loop");
	return NULL;
}

static void
join_free(struct join *j)
{
	if (j->ev)
		event_free(j->ev);
	if (j->efd >= 0)
		close(j->efd);
	explicit_bzero(j->password, sizeof(j->password));
	xval_free(j->record);
	xval_free(j->error);
	xval_free(j->result);
	xfree(j);
}

static void
join_abort(void *arg)
{
	struct join *j = arg;

	j->call = NULL; /* the answer is dropped; the join itself goes on */
}

/* Take the pool's database from the master's answer.  0, or -1 after
** failing the call. */
static int
join_take(struct api_pool *p, struct join *j, struct rpc_call *c)
{
	const struct xval *v = xval_struct_get(j->result, "snapshot");
	const struct xval *nv = xval_struct_get(j->result, "nodeid");
	const char *b64;
	unsigned char *img;
	size_t len, b64len;
	int64_t nodeid;
	int n;
	char err[512];
	struct db_host self;

	if (nv == NULL || xval_get_int64(nv, &nodeid) < 0 || nodeid <= 0 || nodeid > UINT32_MAX) {
		rpc_fail(c, "JOINING_HOST_SERVICE_FAILED", "the master gave no cluster nodeid", NULL);
		return -1;
	}
	if (v == NULL || !xval_is(v, XVAL_STRING)) {
		rpc_fail(c, "JOINING_HOST_SERVICE_FAILED", "the master sent no database", NULL);
		return -1;
	}
	b64 = xval_string(v);
	b64len = strlen(b64);
	if (b64len == 0 || b64len % 4 != 0) {
		rpc_fail(c, "JOINING_HOST_SERVICE_FAILED", "the master's database is not base64",
			 NULL);
		return -1;
	}
	img = xmalloc(b64len / 4 * 3 + 1);
	n = EVP_DecodeBlock(img, (const unsigned char *)b64, (int)b64len);
	if (n < 0) {
		xfree(img);
		rpc_fail(c, "JOINING_HOST_SERVICE_FAILED", "the master's database is not base64",
			 NULL);
		return -1;
	}
	len = (size_t)n - (b64[b64len - 1] == '=') - (b64[b64len - 2] == '=');
	db_host_init(&self);
	if (db_host_get(p->ctx->db, p->ctx->host_uuid, &self) != 0) {
		xfree(img);
		rpc_fail(c, "INTERNAL_ERROR", "this host is not in its own database", NULL);
		return -1;
	}
	if (db_restore(p->ctx->db, img, len) < 0) {
		xfree(img);
		db_host_clear(&self);
		rpc_fail(c, "JOINING_HOST_SERVICE_FAILED", db_errmsg(p->ctx->db), NULL);
		return -1;
	}
	xfree(img);
	/* The image is the master's last committed state, which may not hold
	** this host yet (its admission is a write in flight there): put our
	** own record in with the nodeid given, for corosync.conf.  Position
	** (0, 0): this copy came outside the ordered stream, so the first
	** election hands this host the master's snapshot anyway. */
	self.cluster_nodeid = (uint32_t)nodeid;
	snprintf(self.address, sizeof(self.address), "%s", p->cfg->management_address[0]);
	snprintf(self.address2, sizeof(self.address2), "%s",
		 p->cfg->naddrs > 1 ? p->cfg->management_address[1] : "");
	n = db_host_put(p->ctx->db, &self);
	db_host_clear(&self);
	if (n < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(p->ctx->db), NULL);
		return -1;
	}
	snprintf(err, sizeof(err), "cannot record the database position");
	if (db_repl_set(p->ctx->db, 0, 0) < 0 ||
	    (n = cluster_write_files(p->ctx->db, p->cfg, NULL, err, sizeof(err))) < 0 || n > 1) {
		rpc_fail(c, "INTERNAL_ERROR", "joined, but cannot write corosync's files", NULL);
		log_errx("host %s: joined the pool but corosync's files are not written: %s",
			 p->ctx->host_uuid, err);
		return -1;
	}
	return 0;
}

static void
join_done(evutil_socket_t fd, short what, void *arg)
{
	struct join *j = arg;
	struct api_pool *p = j->p;
	struct rpc_call *c = j->call;
	uint64_t v;

	if (read(j->efd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_join(j->thread, NULL);
	if (p == NULL) { /* the daemon is stopping */
		join_free(j);
		return;
	}
	p->join = NULL;
	if (j->rc == CLIENT_OK && !xval_is(j->result, XVAL_STRUCT)) {
		j->rc = CLIENT_ECONN;
		snprintf(j->errmsg, sizeof(j->errmsg), "the master's answer is not a struct");
	}
	if (j->rc == CLIENT_OK) {
		struct rpc_call *sink = c;

		/* The answer goes to the caller if they are still there; the
		** join stands either way. */
		if (sink == NULL) {
			log_warnx("host %s: the client of pool.join went away; joining anyway",
				  p->ctx->host_uuid);
		} else {
			rpc_call_on_abort(sink, NULL, NULL);
		}
		if (sink != NULL ? join_take(p, j, sink) == 0 : 0) {
			log_notice("host %s: joined pool %s as cluster node %lld; restarting as a "
				   "member",
				   p->ctx->host_uuid,
				   xval_string(xval_struct_get(j->result, "pool")),
				   (long long)xval_int(xval_struct_get(j->result, "nodeid")));
			rpc_reply(sink, xval_new_string(""));
			if (p->hooks.restart)
				p->hooks.restart(p->hooks.arg, "joined a pool");
		}
	} else if (c != NULL) {
		rpc_call_on_abort(c, NULL, NULL);
		if (j->rc == CLIENT_EAPI && j->error != NULL && xval_len(j->error) > 0) {
			rpc_fail_xval(c, j->error);
			j->error = NULL;
		} else {
			rpc_fail(c, "JOINING_HOST_CONNECTION_FAILED", j->errmsg, NULL);
		}
	}
	join_free(j);
}

static void
h_join(void *arg, struct rpc_call *c)
{
	struct api_pool *p = arg;
	struct api_ctx *ctx = p->ctx;
	const char *addr, *user, *pw;
	struct db_pool pool;
	struct db_host self, *hosts = NULL;
	struct db_vm *vms = NULL;
	size_t nhosts = 0, nvms = 0, i;
	struct join *j = NULL;

	db_host_init(&self);
	if (rpc_param_string(c, 0, &addr) < 0 || rpc_param_string(c, 1, &user) < 0 ||
	    rpc_param_string(c, 2, &pw) < 0)
		return;
	if (pool_load(ctx, c, &pool) < 0)
		goto out;
	if (p->cluster != NULL || pool.cluster_key[0] != '\0') {
		rpc_fail(c, "JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS", NULL);
		goto out;
	}
	if (!p->cfg->cluster) {
		rpc_fail(c, "JOINING_HOST_SERVICE_FAILED",
			 "this host's hasvcd.conf has no <cluster> element", NULL);
		goto out;
	}
	if (p->join != NULL) {
		rpc_fail(c, "OPERATION_NOT_ALLOWED", "a join is already in progress", NULL);
		goto out;
	}
	if (db_host_list(ctx->db, &hosts, &nhosts) < 0 || db_vm_list(ctx->db, &vms, &nvms) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
		goto out;
	}
	if (nhosts > 1) {
		rpc_fail(c, "JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS", NULL);
		goto out;
	}
	for (i = 0; i < nvms; i++)
		if (!vms[i].is_control_domain && vms[i].power_state != DB_POWER_HALTED) {
			rpc_fail(c, "JOINING_HOST_CANNOT_HAVE_RUNNING_VMS", NULL);
			goto out;
		}
	if (db_host_get(ctx->db, ctx->host_uuid, &self) != 0) {
		rpc_fail(c, "INTERNAL_ERROR", "this host is not in its own database", NULL);
		goto out;
	}
	if (strlen(addr) == 0 || strlen(addr) >= sizeof(j->master)) {
		rpc_fail(c, "INVALID_VALUE", "master_address", addr, NULL);
		goto out;
	}

	j = xcalloc(1, sizeof(*j));
	j->p = p;
	j->efd = -1;
	snprintf(j->master, sizeof(j->master), "%s", addr);
	j->port = p->cfg->api_port;
	snprintf(j->user, sizeof(j->user), "%s", user);
	snprintf(j->password, sizeof(j->password), "%s", pw);
	j->record = xval_new_struct();
	xval_struct_add(j->record, "uuid", xval_new_string(self.uuid));
	xval_struct_add(j->record, "name_label", xval_new_string(self.name_label));
	xval_struct_add(j->record, "hostname", xval_new_string(self.hostname));
	xval_struct_add(j->record, "address", xval_new_string(p->cfg->management_address[0]));
	xval_struct_add(j->record, "address2",
			xval_new_string(p->cfg->naddrs > 1 ? p->cfg->management_address[1] : ""));
	xval_struct_add(j->record, "memory_total", xval_new_int(self.memory_total));
	xval_struct_add(j->record, "memory_overhead", xval_new_int(self.memory_overhead));
	j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j->efd < 0 ||
	    (j->ev = event_new(p->base, j->efd, EV_READ | EV_PERSIST, join_done, j)) == NULL ||
	    event_add(j->ev, NULL) < 0 || pthread_create(&j->thread, NULL, join_worker, j) != 0) {
		join_free(j);
		rpc_fail(c, "INTERNAL_ERROR", "cannot start the join", NULL);
		goto out;
	}
	j->call = c;
	p->join = j;
	rpc_call_on_abort(c, join_abort, j);
	log_notice("host %s: joining the pool of %s as %s", ctx->host_uuid, addr, user);
out:
	db_vm_list_free(vms, nvms);
	db_host_list_free(hosts, nhosts);
	db_host_clear(&self);
	db_pool_clear(&pool);
}

/* ---- pool.eject (on the master) ---- */

static void
h_eject(void *arg, struct rpc_call *c)
{
	struct api_pool *p = arg;
	struct api_ctx *ctx = p->ctx;
	char uuid[HA_UUID_LEN];
	struct db_pool pool;
	struct db_host h;
	int rc;

	db_host_init(&h);
	if (rpc_param_ref(c, 0, "host", uuid) < 0)
		return;
	if (pool_load(ctx, c, &pool) < 0)
		goto out;
	rc = db_host_get(ctx->db, uuid, &h);
	if (rc != 0) {
		char ref[HA_REF_LEN];

		id_ref_from_uuid(ref, uuid);
		rpc_fail(c, "HANDLE_INVALID", "host", ref, NULL);
		goto out;
	}
	if (strcmp(uuid, ctx->host_uuid) == 0) {
		rpc_fail(c, "OPERATION_NOT_ALLOWED",
			 "the master cannot eject itself; make another host master first", NULL);
		goto out;
	}
	if (p->cluster == NULL) {
		rpc_fail(c, "OPERATION_NOT_ALLOWED", "this pool has no other host", NULL);
		goto out;
	}
	if (db_host_delete(ctx->db, uuid) < 0) {
		rpc_fail(c, "INTERNAL_ERROR", db_errmsg(ctx->db), NULL);
		goto out;
	}
	log_notice("pool %s: host %s (%s, cluster node %u) ejected by %s", pool.uuid, uuid,
		   h.address, h.cluster_nodeid, rpc_call_session(c)->user);
	rpc_reply(c, xval_new_string(""));
out:
	db_host_clear(&h);
	db_pool_clear(&pool);
}

/* ---- life ---- */

struct api_pool *
api_pool_new(struct event_base *base, struct api_ctx *ctx, const struct config *cfg,
	     struct cluster *cluster, const struct api_pool_hooks *hooks)
{
	struct api_pool *p = xcalloc(1, sizeof(*p));

	p->base = base;
	p->ctx = ctx;
	p->cfg = cfg;
	p->cluster = cluster;
	if (hooks)
		p->hooks = *hooks;
	return p;
}

void
api_pool_register(struct api_pool *p)
{
	static const char *const join_params[] = {"master_address", "master_username",
						  "master_password", NULL};
	static const char *const admit_params[] = {"host", NULL};
	static const char *const eject_params[] = {"host", NULL};
	struct rpc_method m;

	memset(&m, 0, sizeof(m));
	m.arg = p;
	m.role = RPC_ROLE_POOL_ADMIN;
	m.name = "pool.join";
	m.min_params = m.max_params = 3;
	m.flags = RPC_WRITE;
	m.fn = h_join;
	m.param_names = join_params;
	rpc_register(p->ctx->rpc, &m);
	m.name = "pool.admit_host";
	m.min_params = m.max_params = 1;
	m.fn = h_admit_host;
	m.param_names = admit_params;
	rpc_register(p->ctx->rpc, &m);
	m.name = "pool.eject";
	m.fn = h_eject;
	m.param_names = eject_params;
	rpc_register(p->ctx->rpc, &m);
}

void
api_pool_free(struct api_pool *p)
{
	if (p == NULL)
		return;
	if (p->join != NULL) {
		/* The worker still runs: its completion frees the join. */
		p->join->p = NULL;
		if (p->join->call != NULL)
			rpc_call_on_abort(p->join->call, NULL, NULL);
	}
	xfree(p);
}
