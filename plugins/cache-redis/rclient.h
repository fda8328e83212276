/* rclient: the Redis client layer of the Redis cache backend (hb-cache-redis.so).
 *
 * hiredis 0.14 (Debian libhiredis-dev) gives the protocol only: commands are formatted with
 * redisFormatCommandArgv and replies parsed by its redisReader. The sockets, timeouts, TLS
 * (OpenSSL), the connection pool, cluster slots and redirections and Sentinel discovery are
 * ours (docs/architecture.md, "The Redis client", says why).
 *
 * Ownership: strings handed in are copied; every reply and error string handed out belongs to
 * the caller (freeReplyObject, free). Thread safety: one rclient may be used by any number of
 * threads at once; an rclient_sub by one thread at a time. Nothing here logs, and no error
 * message carries a password or a command's arguments. fork(): a child never uses a pooled
 * connection of its parent's (pthread_atfork handlers drop them in the child); it connects anew. */
#ifndef HVB_RCLIENT_H
#define HVB_RCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <hiredis/hiredis.h>

typedef struct rclient rclient;

typedef struct rclient_config {
  const char *mode;              /* "standalone" (default), "sentinel" or "cluster" */
  const char *const *nodes;      /* NULL-terminated "host:port": the server, the sentinels, or cluster seed nodes */
  const char *master_name;       /* sentinel: the monitored master's name */
  const char *username, *password; /* AUTH/ACL (already read from named env vars by the caller); NULL: none */
  int db;                        /* SELECT n (standalone/sentinel only) */
  int connect_timeout_ms, command_timeout_ms; /* 0: defaults 1000 / 500 */
  int pool_size;                 /* connections kept per node, 0: default 4 */
  bool tls; const char *tls_ca_file, *tls_cert_file, *tls_key_file, *tls_server_name;
} rclient_config;

/* NULL with *err (a new string, caller frees with free()) on a bad config; connecting is lazy
   (Redis down at start is not an error here: commands fail until it is back). Thread-safe. */
rclient *rclient_new(const rclient_config *cfg, char **err);
/* Closes every connection. No command may be running on c. NULL is accepted. */
void rclient_free(rclient *c);

/* One command. slot_key: the key whose cluster slot picks the node (NULL: any node).
   Returns the reply (caller frees with freeReplyObject; a Redis error is a REDIS_REPLY_ERROR reply)
   or NULL with *err set when the server cannot be reached or the command timed out; a failed
   connection is retried with backoff on later commands, never more than one attempt per command.
   argvlen may be NULL (then every argv[i] is a C string). Cluster: MOVED and ASK replies are
   followed (up to 5 hops) and never reach the caller. Sentinel: a READONLY or LOADING reply
   means the master moved: it is rediscovered and the command fails with *err set. */
redisReply *rclient_command(rclient *c, const char *slot_key, int argc, const char **argv,
                            const size_t *argvlen, char **err);

/* Pub/sub on a dedicated connection: subscribe, then wait for one message. */
typedef struct rclient_sub rclient_sub;
rclient_sub *rclient_subscribe(rclient *c, const char *channel, char **err);
/* 1: a message arrived, 0: timeout, -1: error (*err set). */
int rclient_sub_wait(rclient_sub *s, int timeout_ms, char **err);
void rclient_sub_free(rclient_sub *s);

/* Is the server reachable now (last command succeeded)? For the caller's one-warning-per-outage logic. */
bool rclient_up(const rclient *c);

/* ---- additions ---- */

/* The masters as "host:port" strings, NULL-terminated (free with rclient_strv_free): the one
   server (standalone), the current master (sentinel, discovered if needed), or every master
   that owns slots (cluster, from a fresh CLUSTER SLOTS). NULL with *err when none is known. For
   commands that must run on each master (SCAN, FLUSHDB, DBSIZE). */
char **rclient_masters(rclient *c, char **err);
void rclient_strv_free(char **v);
/* One command on the node at addr ("host:port", as rclient_masters gives it), through that
   node's pool; no redirection is followed. Errors as rclient_command. */
redisReply *rclient_command_at(rclient *c, const char *addr, int argc, const char **argv,
                               const size_t *argvlen, char **err);
/* The cluster slot of a key (CRC16 of the key, or of its {hash tag}, modulo 16384). */
unsigned rclient_key_slot(const char *key, size_t len);

#endif
