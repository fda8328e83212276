/* Sentinel: the master's address from SENTINEL get-master-addr-by-name, asked of the sentinels
 * in turn (the last one that answered first). The master is forgotten after a connection
 * failure, a timeout or a READONLY/LOADING reply (rclient.c), and the next command asks again:
 * a failover is followed as soon as the sentinels name the promoted replica. The sentinels are
 * nodes like the others (pooled, with backoff), connected without AUTH and SELECT. */
#include "rclient-impl.h"

#include <stdlib.h>
#include <string.h>

/* A failed discovery is not repeated before this: during an outage commands fail at once. */
#define DISCOVER_MIN_MS 100
/* A known master is confirmed with the sentinels this often: a graceful failover leaves the
   old master answering writes until the sentinels demote it, with no error to notice. */
#define REVALIDATE_MS 1000

/* One sentinel's answer: the master's node, or NULL with *err. */
static rnode *ask(rclient *c, rnode *s, char **err) {
  const char *argv[] = {"SENTINEL", "get-master-addr-by-name", c->master_name};
  redisReply *r = rc_node_command(c, s, false, 3, argv, NULL, err);
  if (!r) return NULL;
  rnode *m = NULL;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
      r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING) {
    int port = atoi(r->element[1]->str);
    pthread_mutex_lock(&c->mu);
    m = port > 0 && port < 65536 ? rc_node_locked(c, r->element[0]->str, port) : NULL;
    pthread_mutex_unlock(&c->mu);
  }
  if (!m)
    rc_set_err(err, rclient_strf("redis sentinel %s:%d: %s '%s'%s%.80s", s->host, s->port,
                                 r->type == REDIS_REPLY_NIL ? "does not monitor" : "no address for",
                                 c->master_name, r->type == REDIS_REPLY_ERROR ? ": " : "",
                                 r->type == REDIS_REPLY_ERROR ? r->str : ""));
  freeReplyObject(r);
  return m;
}

/* Asks the sentinels in turn (refresh_mu held). */
static rnode *discover(rclient *c, char **err) {
  char *last = NULL;
  rnode *m = NULL;
  size_t i = 0, first = c->sentinel_first;
  for (; i < c->n_seeds && !m; i++) {
    free(last);
    last = NULL;
    m = ask(c, c->seeds[(first + i) % c->n_seeds], &last);
  }
  pthread_mutex_lock(&c->mu);
  if (m) {
    c->master = m;
    c->master_at = rconn_now_ms();
    c->sentinel_first = (first + i - 1) % c->n_seeds;
  } else {
    c->discovered_at = rconn_now_ms();
  }
  pthread_mutex_unlock(&c->mu);
  if (!m)
    rc_set_err(err, rclient_strf("redis sentinel: no sentinel names a master '%s' (last: %s)",
                                 c->master_name, last ? last : "?"));
  free(last);
  return m;
}

/* Asks the sentinels again unless another thread is at it; keeps m when none answers. */
static rnode *revalidate(rclient *c, rnode *m) {
  if (pthread_mutex_trylock(&c->refresh_mu) != 0) return m;
  char *err = NULL;
  rnode *now = discover(c, &err);
  free(err);
  pthread_mutex_lock(&c->mu);
  if (!now) c->master_at = rconn_now_ms(); /* the sentinels are away: not on every command */
  pthread_mutex_unlock(&c->mu);
  pthread_mutex_unlock(&c->refresh_mu);
  return now ? now : m;
}

rnode *rc_sentinel_master(rclient *c, char **err) {
  pthread_mutex_lock(&c->mu);
  rnode *m = c->master;
  bool stale = m && rconn_now_ms() - c->master_at >= REVALIDATE_MS;
  pthread_mutex_unlock(&c->mu);
  if (stale) return revalidate(c, m);
  if (m) return m;
  pthread_mutex_lock(&c->refresh_mu);
  pthread_mutex_lock(&c->mu);
  m = c->master; /* found by another thread meanwhile */
  int64_t since = rconn_now_ms() - c->discovered_at;
  bool throttled = !m && c->discovered_at && since < DISCOVER_MIN_MS;
  pthread_mutex_unlock(&c->mu);
  if (!m && !throttled) m = discover(c, err);
  else if (throttled)
    rc_set_err(err, rclient_strf("redis sentinel: no master '%s' known (sentinels asked %lld ms ago)",
                                 c->master_name, (long long)since));
  pthread_mutex_unlock(&c->refresh_mu);
  return m;
}

void rc_sentinel_forget(rclient *c, rnode *failed) {
  pthread_mutex_lock(&c->mu);
  if (c->master == failed) c->master = NULL;
  pthread_mutex_unlock(&c->mu);
}
