/* rclient's internals, shared by rclient.c (nodes, pools, backoff, commands), rcluster.c
 * (slots, redirections), rsentinel.c (master discovery) and rsub.c (pub/sub). */
#ifndef HVB_RCLIENT_IMPL_H
#define HVB_RCLIENT_IMPL_H

#include "rclient.h"
#include "rconn.h"

#include <pthread.h>
#include <stdatomic.h>

enum { RC_STANDALONE, RC_SENTINEL, RC_CLUSTER };
#define RC_SLOTS 16384

/* A server. Nodes are never freed before the client, so a pointer to one stays valid without
   a reference count; the list only grows (cluster nodes, failover masters). */
typedef struct rnode {
  char *host;
  int port;
  rconn **idle; /* pooled connections, up to pool_size; guarded by the client's mutex */
  int n_idle;
  int fails;        /* connection failures in a row */
  int64_t retry_at; /* no connection attempt before this (backoff) */
  bool sentinel;    /* a Sentinel: connected without AUTH and SELECT (sentinel_opts) */
} rnode;

struct rclient {
  pthread_mutex_t mu; /* nodes, pools, backoff, the slot map, the sentinel master */
  int mode;
  rconn_opts opts;
  rconn_opts sentinel_opts; /* opts without AUTH and SELECT: Sentinels have their own (none) */
  char *username, *password, *master_name, *tls_server_name;
  int pool_size;
  rnode **nodes;
  size_t n_nodes, cap_nodes;
  rnode **seeds; /* the configured nodes: the server, the sentinels, or cluster seeds */
  size_t n_seeds;
  atomic_bool up;
  bool tracked; /* in rfork.c's list */
  /* cluster */
  rnode **slot; /* RC_SLOTS entries, NULL: unknown */
  bool slots_stale;
  int64_t slots_at; /* last refresh */
  pthread_mutex_t refresh_mu; /* one refresh or discovery at a time */
  /* sentinel */
  rnode *master; /* NULL: to be discovered */
  int64_t master_at;     /* when the sentinels last named it */
  int64_t discovered_at; /* last discovery that found none: discoveries are throttled */
  size_t sentinel_first; /* the sentinel that answered last, asked first next time */
};

/* Finds or adds the node host:port (mutex held). NULL on out of memory. */
rnode *rc_node_locked(rclient *c, const char *host, int port);
/* Parses "host:port" (or "[v6]:port"). */
int rc_parse_addr(const char *s, char **host, int *port, char **err);
/* A connection to n: a pooled one, else a new one unless n is backing off. NULL with *err. */
rconn *rc_acquire(rclient *c, rnode *n, char **err);
/* Returns conn to n's pool after a complete reply, or closes it when broken (ok false). */
void rc_release(rclient *c, rnode *n, rconn *conn, bool ok);
/* One command on node n (one connection attempt at most); asking: ASKING first. */
redisReply *rc_node_command(rclient *c, rnode *n, bool asking, int argc, const char **argv,
                            const size_t *argvlen, char **err);
void rc_set_err(char **err, char *msg);

/* rcluster.c */
int rc_cluster_init(rclient *c, char **err);
redisReply *rc_cluster_command(rclient *c, const char *slot_key, int argc, const char **argv,
                               const size_t *argvlen, char **err);
rnode *rc_cluster_node_for(rclient *c, const char *key, char **err);
char **rc_cluster_masters(rclient *c, char **err);

/* rfork.c: the client's pools and locks across fork() */
int rc_fork_track(rclient *c);
void rc_fork_untrack(rclient *c);

/* rsentinel.c */
rnode *rc_sentinel_master(rclient *c, char **err);
void rc_sentinel_forget(rclient *c, rnode *failed);

#endif
