/* Pub/sub: a dedicated connection per subscription (a subscribed connection takes no other
 * command, so it never enters a pool). In a cluster PUBLISH reaches every node, so the node of
 * the channel's slot serves; with Sentinel, the current master. */
#include "rclient-impl.h"

#include <stdlib.h>
#include <string.h>

struct rclient_sub {
  rconn *conn;
};

static rnode *sub_node(rclient *c, const char *channel, char **err) {
  if (c->mode == RC_CLUSTER) return rc_cluster_node_for(c, channel, err);
  if (c->mode == RC_SENTINEL) return rc_sentinel_master(c, err);
  return c->seeds[0];
}

static bool is_kind(const redisReply *r, const char *kind) {
  return r && r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
         r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, kind) == 0;
}

rclient_sub *rclient_subscribe(rclient *c, const char *channel, char **err) {
  rnode *n = channel ? sub_node(c, channel, err) : NULL;
  if (!n) {
    if (!channel) rc_set_err(err, rclient_strf("redis: no channel to subscribe to"));
    return NULL;
  }
  rconn *conn = rconn_open(n->host, n->port, &c->opts, err);
  if (!conn) {
    atomic_store(&c->up, false);
    if (c->mode == RC_SENTINEL) rc_sentinel_forget(c, n);
    return NULL;
  }
  const char *argv[2] = {"SUBSCRIBE", channel};
  redisReply *r = NULL;
  int got = rconn_call(conn, false, 2, argv, NULL, &r, err);
  if (got == 1 && !is_kind(r, "subscribe"))
    rc_set_err(err, rclient_strf("redis %s: SUBSCRIBE refused: %.80s", rconn_addr(conn),
                                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply"));
  bool ok = got == 1 && is_kind(r, "subscribe");
  if (r) freeReplyObject(r);
  rclient_sub *s = ok ? calloc(1, sizeof *s) : NULL;
  if (!s) {
    rconn_close(conn);
    return NULL;
  }
  s->conn = conn;
  return s;
}

int rclient_sub_wait(rclient_sub *s, int timeout_ms, char **err) {
  if (!s->conn) {
    rc_set_err(err, rclient_strf("redis: the subscription's connection is closed"));
    return -1;
  }
  int64_t deadline = rconn_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    redisReply *r = NULL;
    int got = rconn_read(s->conn, deadline, &r, err);
    if (got <= 0) {
      if (got < 0) { /* broken for good: later waits fail at once */
        rconn_close(s->conn);
        s->conn = NULL;
      }
      return got;
    }
    bool message = is_kind(r, "message");
    freeReplyObject(r);
    if (message) return 1;
  }
}

void rclient_sub_free(rclient_sub *s) {
  if (!s) return;
  rconn_close(s->conn);
  free(s);
}
