/* Redis Cluster: slots (CRC16 of the key or its {hash tag}, modulo 16384), the slot map from
 * CLUSTER SLOTS, MOVED and ASK redirections. hiredis 0.14 has none of it.
 *
 * The map is loaded on the first command and reloaded (at most every REFRESH_MIN_MS) after a
 * MOVED or a failed node: a MOVED fixes its own slot at once, and the reload catches the rest of
 * a resharding or a failover. ASK is one-off (the slot is migrating): ASKING + the command on
 * the target, the map unchanged. */
#include "rclient-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_MIN_MS 100
#define MAX_HOPS 5

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), as the cluster specification's. */
static unsigned crc16(const unsigned char *p, size_t len) {
  unsigned crc = 0;
  for (size_t i = 0; i < len; i++) {
    crc ^= (unsigned)p[i] << 8;
    for (int b = 0; b < 8; b++) crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) : (crc << 1);
    crc &= 0xffff;
  }
  return crc;
}

unsigned rclient_key_slot(const char *key, size_t len) {
  size_t open = 0;
  while (open < len && key[open] != '{') open++;
  if (open < len) { /* a non-empty {tag}: only the tag is hashed */
    size_t close = open + 1;
    while (close < len && key[close] != '}') close++;
    if (close < len && close > open + 1) {
      key += open + 1;
      len = close - open - 1;
    }
  }
  return crc16((const unsigned char *)key, len) & (RC_SLOTS - 1);
}

int rc_cluster_init(rclient *c, char **err) {
  c->slot = calloc(RC_SLOTS, sizeof *c->slot);
  c->slots_stale = true;
  return c->slot ? 0 : -1;
}

/* One CLUSTER SLOTS reply into map (mutex held). asked: the node that answered, whose host
   stands in for an empty one. 0, or -1 when the reply is not a slot table. */
static int parse_slots(rclient *c, const redisReply *r, const rnode *asked, rnode **map) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return -1;
  for (size_t i = 0; i < r->elements; i++) {
    const redisReply *e = r->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3) return -1;
    const redisReply *m = e->element[2];
    if (e->element[0]->type != REDIS_REPLY_INTEGER || e->element[1]->type != REDIS_REPLY_INTEGER ||
        m->type != REDIS_REPLY_ARRAY || m->elements < 2 || m->element[0]->type != REDIS_REPLY_STRING ||
        m->element[1]->type != REDIS_REPLY_INTEGER)
      return -1;
    long long from = e->element[0]->integer, to = e->element[1]->integer;
    const char *host = m->element[0]->len ? m->element[0]->str : asked->host;
    rnode *n = rc_node_locked(c, host, (int)m->element[1]->integer);
    if (!n || from < 0 || to >= RC_SLOTS || from > to) return -1;
    for (long long s = from; s <= to; s++) map[s] = n;
  }
  return 0;
}

/* Asks the known nodes in turn for CLUSTER SLOTS; the first answer replaces the map. */
static int refresh(rclient *c, char **err) {
  pthread_mutex_lock(&c->mu);
  size_t n = c->n_nodes;
  rnode **ask = malloc(n * sizeof *ask);
  if (ask) memcpy(ask, c->nodes, n * sizeof *ask);
  pthread_mutex_unlock(&c->mu);
  rnode **map = calloc(RC_SLOTS, sizeof *map);
  int done = -1;
  for (size_t i = 0; ask && map && i < n && done < 0; i++) {
    char *e = NULL;
    redisReply *r = rc_node_command(c, ask[i], false, 2, (const char *[]){"CLUSTER", "SLOTS"},
                                    NULL, &e);
    pthread_mutex_lock(&c->mu);
    if (r && parse_slots(c, r, ask[i], map) == 0) {
      memcpy(c->slot, map, RC_SLOTS * sizeof *map);
      c->slots_stale = false;
      done = 0;
    } else if (r) {
      memset(map, 0, RC_SLOTS * sizeof *map);
    }
    pthread_mutex_unlock(&c->mu);
    if (r && done < 0)
      rc_set_err(err, rclient_strf("redis %s:%d: no slot table from CLUSTER SLOTS%s%.80s",
                                   ask[i]->host, ask[i]->port, r->type == REDIS_REPLY_ERROR ? ": " : "",
                                   r->type == REDIS_REPLY_ERROR ? r->str : ""));
    if (r) freeReplyObject(r);
    if (i + 1 == n && done < 0 && e) rc_set_err(err, e);
    else free(e);
  }
  pthread_mutex_lock(&c->mu);
  c->slots_at = rconn_now_ms();
  pthread_mutex_unlock(&c->mu);
  free(ask);
  free(map);
  return done;
}

/* Reloads the map when it is stale (throttled) or force; one thread at a time, the others use
   the map it leaves. */
static void maybe_refresh(rclient *c, bool force, char **err) {
  pthread_mutex_lock(&c->refresh_mu);
  pthread_mutex_lock(&c->mu);
  bool due = force || (c->slots_stale && rconn_now_ms() - c->slots_at >= REFRESH_MIN_MS);
  pthread_mutex_unlock(&c->mu);
  if (due) refresh(c, err);
  pthread_mutex_unlock(&c->refresh_mu);
}

rnode *rc_cluster_node_for(rclient *c, const char *key, char **err) {
  char *why = NULL; /* a failed reload matters only when the old map cannot serve */
  maybe_refresh(c, false, &why);
  unsigned slot = key ? rclient_key_slot(key, strlen(key)) : 0;
  pthread_mutex_lock(&c->mu);
  rnode *n = c->slot[slot];
  for (unsigned s = 0; !n && !key && s < RC_SLOTS; s++) n = c->slot[s];
  pthread_mutex_unlock(&c->mu);
  if (!n)
    rc_set_err(err, why ? why : rclient_strf("redis cluster: no node known for slot %u", slot));
  else
    free(why);
  return n;
}

/* "MOVED 3999 127.0.0.1:6381" or "ASK ...": 1 moved, 2 ask, 0 another error. An empty host
   (a node that does not know its own address) is the replying node's. */
static int redirect(const redisReply *r, const rnode *from, unsigned *slot, char **host, int *port) {
  int kind = strncmp(r->str, "MOVED ", 6) == 0 ? 1 : strncmp(r->str, "ASK ", 4) == 0 ? 2 : 0;
  if (!kind) return 0;
  const char *p = r->str + (kind == 1 ? 6 : 4);
  char *end = NULL;
  unsigned long s = strtoul(p, &end, 10);
  if (end == p || *end != ' ' || s >= RC_SLOTS) return 0;
  const char *a = end + 1;
  if (*a == ':') {
    char *addr = rclient_strf("%s%s", from->host, a);
    int ok = rc_parse_addr(addr, host, port, NULL);
    free(addr);
    if (ok < 0) return 0;
  } else if (rc_parse_addr(a, host, port, NULL) < 0) {
    return 0;
  }
  *slot = (unsigned)s;
  return kind;
}

redisReply *rc_cluster_command(rclient *c, const char *slot_key, int argc, const char **argv,
                               const size_t *argvlen, char **err) {
  rnode *n = rc_cluster_node_for(c, slot_key, err);
  if (!n) {
    atomic_store(&c->up, false);
    return NULL;
  }
  bool asking = false;
  for (int hop = 0; hop <= MAX_HOPS; hop++) {
    redisReply *r = rc_node_command(c, n, asking, argc, argv, argvlen, err);
    if (!r) { /* the node may have failed over: reload the map before the next command */
      pthread_mutex_lock(&c->mu);
      c->slots_stale = true;
      pthread_mutex_unlock(&c->mu);
      return NULL;
    }
    unsigned slot = 0;
    char *host = NULL;
    int port = 0, kind = r->type == REDIS_REPLY_ERROR ? redirect(r, n, &slot, &host, &port) : 0;
    if (!kind) return r;
    freeReplyObject(r);
    pthread_mutex_lock(&c->mu);
    rnode *to = rc_node_locked(c, host, port);
    if (to && kind == 1) {
      c->slot[slot] = to;
      c->slots_stale = true;
    }
    pthread_mutex_unlock(&c->mu);
    free(host);
    if (!to) break;
    n = to;
    asking = kind == 2;
  }
  rc_set_err(err, rclient_strf("redis cluster: more than %d redirections for one command", MAX_HOPS));
  return NULL;
}

char **rc_cluster_masters(rclient *c, char **err) {
  char *why = NULL;
  maybe_refresh(c, true, &why);
  pthread_mutex_lock(&c->mu);
  size_t n = 0;
  char **v = calloc(c->n_nodes + 1, sizeof *v);
  for (unsigned s = 0; v && s < RC_SLOTS; s++) {
    rnode *m = c->slot[s];
    if (!m || (s > 0 && c->slot[s - 1] == m)) continue;
    char *a = rclient_strf("%s:%d", m->host, m->port);
    bool seen = false;
    for (size_t i = 0; i < n && !seen; i++) seen = strcmp(v[i], a) == 0;
    if (seen || n >= c->n_nodes) free(a);
    else v[n++] = a;
  }
  pthread_mutex_unlock(&c->mu);
  if (v && n == 0) {
    free(v);
    v = NULL;
    rc_set_err(err, why ? why : rclient_strf("redis cluster: no master known"));
    why = NULL;
  }
  free(why);
  return v;
}
