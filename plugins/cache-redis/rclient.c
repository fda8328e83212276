/* rclient: configuration, nodes and their connection pools, backoff, one command. The cluster
 * (rcluster.c), Sentinel (rsentinel.c) and pub/sub (rsub.c) parts build on these. */
#include "rclient-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 2000

void rc_set_err(char **err, char *msg) {
  if (err && !*err) *err = msg;
  else free(msg);
}

int rc_parse_addr(const char *s, char **host, int *port, char **err) {
  const char *colon = s ? strrchr(s, ':') : NULL;
  char *end = NULL;
  long p = colon ? strtol(colon + 1, &end, 10) : 0;
  if (!colon || colon == s || !end || *end || end == colon + 1 || p <= 0 || p > 65535) {
    rc_set_err(err, rclient_strf("redis: bad node address '%s' (want host:port)", s ? s : "(null)"));
    return -1;
  }
  const char *h = s;
  size_t hl = (size_t)(colon - s);
  if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') { /* [v6]:port */
    h++;
    hl -= 2;
  }
  *host = strndup(h, hl);
  *port = (int)p;
  return *host ? 0 : -1;
}

rnode *rc_node_locked(rclient *c, const char *host, int port) {
  for (size_t i = 0; i < c->n_nodes; i++)
    if (c->nodes[i]->port == port && strcmp(c->nodes[i]->host, host) == 0) return c->nodes[i];
  if (c->n_nodes == c->cap_nodes) {
    size_t cap = c->cap_nodes ? c->cap_nodes * 2 : 8;
    rnode **v = realloc(c->nodes, cap * sizeof *v);
    if (!v) return NULL;
    c->nodes = v;
    c->cap_nodes = cap;
  }
  rnode *n = calloc(1, sizeof *n);
  if (!n || !(n->host = strdup(host)) ||
      !(n->idle = calloc((size_t)c->pool_size, sizeof *n->idle))) {
    if (n) free(n->host);
    free(n);
    return NULL;
  }
  n->port = port;
  c->nodes[c->n_nodes++] = n;
  return n;
}

static void node_free(rnode *n) {
  for (int i = 0; i < n->n_idle; i++) rconn_close(n->idle[i]);
  free(n->idle);
  free(n->host);
  free(n);
}

rconn *rc_acquire(rclient *c, rnode *n, char **err) {
  pthread_mutex_lock(&c->mu);
  while (n->n_idle > 0) {
    rconn *conn = n->idle[--n->n_idle];
    if (!rconn_stale(conn)) {
      pthread_mutex_unlock(&c->mu);
      return conn;
    }
    rconn_close(conn); /* closed by the server (restart, idle timeout) while pooled */
  }
  int64_t now = rconn_now_ms();
  if (n->retry_at > now) {
    int64_t wait = n->retry_at - now;
    pthread_mutex_unlock(&c->mu);
    rc_set_err(err, rclient_strf("redis %s:%d is unreachable; next attempt in %lld ms", n->host,
                                 n->port, (long long)wait));
    return NULL;
  }
  pthread_mutex_unlock(&c->mu);
  rconn *conn = rconn_open(n->host, n->port, n->sentinel ? &c->sentinel_opts : &c->opts, err);
  pthread_mutex_lock(&c->mu);
  if (conn) {
    n->fails = 0;
    n->retry_at = 0;
  } else {
    int shift = n->fails < 5 ? n->fails : 5;
    int64_t delay = (int64_t)BACKOFF_FIRST_MS << shift;
    n->fails++;
    n->retry_at = rconn_now_ms() + (delay > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay);
  }
  pthread_mutex_unlock(&c->mu);
  return conn;
}

void rc_release(rclient *c, rnode *n, rconn *conn, bool ok) {
  if (ok) {
    pthread_mutex_lock(&c->mu);
    if (n->n_idle < c->pool_size) {
      n->idle[n->n_idle++] = conn;
      conn = NULL;
    }
    pthread_mutex_unlock(&c->mu);
  }
  rconn_close(conn);
}

redisReply *rc_node_command(rclient *c, rnode *n, bool asking, int argc, const char **argv,
                            const size_t *argvlen, char **err) {
  rconn *conn = rc_acquire(c, n, err);
  if (!conn) {
    atomic_store(&c->up, false);
    return NULL;
  }
  redisReply *r = NULL;
  int got = rconn_call(conn, asking, argc, argv, argvlen, &r, err);
  rc_release(c, n, conn, got == 1);
  atomic_store(&c->up, got == 1);
  return got == 1 ? r : NULL;
}

static int parse_mode(const char *mode, char **err) {
  if (!mode || !*mode || strcmp(mode, "standalone") == 0) return RC_STANDALONE;
  if (strcmp(mode, "sentinel") == 0) return RC_SENTINEL;
  if (strcmp(mode, "cluster") == 0) return RC_CLUSTER;
  rc_set_err(err, rclient_strf("redis: unknown mode '%s' (standalone, sentinel or cluster)", mode));
  return -1;
}

static int check_config(const rclient_config *cfg, int mode, char **err) {
  if (!cfg->nodes || !cfg->nodes[0]) {
    rc_set_err(err, rclient_strf("redis: no nodes given (want \"host:port\")"));
    return -1;
  }
  if (mode == RC_STANDALONE && cfg->nodes[1]) {
    rc_set_err(err, rclient_strf("redis: standalone mode takes one node, %s was given too",
                                 cfg->nodes[1]));
    return -1;
  }
  if (mode == RC_SENTINEL && (!cfg->master_name || !*cfg->master_name)) {
    rc_set_err(err, rclient_strf("redis: sentinel mode needs master_name"));
    return -1;
  }
  if (mode == RC_CLUSTER && cfg->db != 0) {
    rc_set_err(err, rclient_strf("redis: a cluster has database 0 only (db is %d)", cfg->db));
    return -1;
  }
  if (cfg->db < 0 || cfg->connect_timeout_ms < 0 || cfg->command_timeout_ms < 0 ||
      cfg->pool_size < 0) {
    rc_set_err(err, rclient_strf("redis: db, timeouts and pool_size must not be negative"));
    return -1;
  }
  if (cfg->username && !cfg->password) {
    rc_set_err(err, rclient_strf("redis: a username needs a password"));
    return -1;
  }
  return 0;
}

static int copy_config(rclient *c, const rclient_config *cfg, char **err) {
  c->username = cfg->username ? strdup(cfg->username) : NULL;
  c->password = cfg->password ? strdup(cfg->password) : NULL;
  c->master_name = cfg->master_name ? strdup(cfg->master_name) : NULL;
  c->tls_server_name = cfg->tls_server_name ? strdup(cfg->tls_server_name) : NULL;
  c->opts.username = c->username;
  c->opts.password = c->password;
  c->opts.db = cfg->db;
  c->opts.connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 1000;
  c->opts.command_timeout_ms = cfg->command_timeout_ms ? cfg->command_timeout_ms : 500;
  c->opts.tls_server_name = c->tls_server_name;
  c->pool_size = cfg->pool_size ? cfg->pool_size : 4;
  if (cfg->tls) {
    c->opts.tls = rtls_ctx_new(cfg->tls_ca_file, cfg->tls_cert_file, cfg->tls_key_file, err);
    if (!c->opts.tls) return -1;
  }
  c->sentinel_opts = c->opts;
  c->sentinel_opts.username = c->sentinel_opts.password = NULL;
  c->sentinel_opts.db = 0;
  size_t n = 0;
  while (cfg->nodes[n]) n++;
  c->seeds = calloc(n, sizeof *c->seeds);
  if (!c->seeds) return -1;
  for (size_t i = 0; i < n; i++) {
    char *host = NULL;
    int port = 0;
    if (rc_parse_addr(cfg->nodes[i], &host, &port, err) < 0) return -1;
    c->seeds[i] = rc_node_locked(c, host, port);
    free(host);
    if (!c->seeds[i]) return -1;
    c->seeds[i]->sentinel = c->mode == RC_SENTINEL;
    c->n_seeds++;
  }
  return 0;
}

rclient *rclient_new(const rclient_config *cfg, char **err) {
  int mode = cfg ? parse_mode(cfg->mode, err) : -1;
  if (mode < 0 || check_config(cfg, mode, err) < 0) return NULL;
  rclient *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  pthread_mutex_init(&c->mu, NULL);
  pthread_mutex_init(&c->refresh_mu, NULL);
  c->mode = mode;
  atomic_init(&c->up, false);
  if (copy_config(c, cfg, err) < 0 || (mode == RC_CLUSTER && rc_cluster_init(c, err) < 0) ||
      rc_fork_track(c) < 0) {
    rc_set_err(err, rclient_strf("redis: out of memory"));
    rclient_free(c);
    return NULL;
  }
  c->tracked = true;
  return c;
}

void rclient_free(rclient *c) {
  if (!c) return;
  if (c->tracked) rc_fork_untrack(c);
  for (size_t i = 0; i < c->n_nodes; i++) node_free(c->nodes[i]);
  free(c->nodes);
  free(c->seeds);
  free(c->slot);
  if (c->opts.tls) rtls_ctx_free(c->opts.tls);
  if (c->password) memset(c->password, 0, strlen(c->password));
  free(c->username);
  free(c->password);
  free(c->master_name);
  free(c->tls_server_name);
  pthread_mutex_destroy(&c->mu);
  pthread_mutex_destroy(&c->refresh_mu);
  free(c);
}

static bool moved_master(const redisReply *r) {
  return r->type == REDIS_REPLY_ERROR &&
         (strncmp(r->str, "READONLY", 8) == 0 || strncmp(r->str, "LOADING", 7) == 0);
}

static redisReply *sentinel_command(rclient *c, int argc, const char **argv,
                                    const size_t *argvlen, char **err) {
  rnode *m = rc_sentinel_master(c, err);
  if (!m) {
    atomic_store(&c->up, false);
    return NULL;
  }
  redisReply *r = rc_node_command(c, m, false, argc, argv, argvlen, err);
  if (r && moved_master(r)) {
    rc_set_err(err, rclient_strf("redis %s:%d is no master now (%.40s): rediscovering", m->host,
                                 m->port, r->str));
    freeReplyObject(r);
    r = NULL;
    atomic_store(&c->up, false);
  }
  if (!r) rc_sentinel_forget(c, m);
  return r;
}

redisReply *rclient_command(rclient *c, const char *slot_key, int argc, const char **argv,
                            const size_t *argvlen, char **err) {
  if (argc <= 0 || !argv) {
    rc_set_err(err, rclient_strf("redis: empty command"));
    return NULL;
  }
  switch (c->mode) {
  case RC_CLUSTER: return rc_cluster_command(c, slot_key, argc, argv, argvlen, err);
  case RC_SENTINEL: return sentinel_command(c, argc, argv, argvlen, err);
  default: return rc_node_command(c, c->seeds[0], false, argc, argv, argvlen, err);
  }
}

redisReply *rclient_command_at(rclient *c, const char *addr, int argc, const char **argv,
                               const size_t *argvlen, char **err) {
  char *host = NULL;
  int port = 0;
  if (rc_parse_addr(addr, &host, &port, err) < 0) return NULL;
  pthread_mutex_lock(&c->mu);
  rnode *n = rc_node_locked(c, host, port);
  pthread_mutex_unlock(&c->mu);
  free(host);
  if (!n) {
    rc_set_err(err, rclient_strf("redis: out of memory"));
    return NULL;
  }
  return rc_node_command(c, n, false, argc, argv, argvlen, err);
}

static char **strv_one(const rnode *n) {
  char **v = calloc(2, sizeof *v);
  if (v) v[0] = rclient_strf("%s:%d", n->host, n->port);
  return v;
}

char **rclient_masters(rclient *c, char **err) {
  if (c->mode == RC_CLUSTER) return rc_cluster_masters(c, err);
  rnode *n = c->mode == RC_SENTINEL ? rc_sentinel_master(c, err) : c->seeds[0];
  return n ? strv_one(n) : NULL;
}

void rclient_strv_free(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

bool rclient_up(const rclient *c) { return atomic_load(&c->up); }
