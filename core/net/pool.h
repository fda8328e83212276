/* core/net/pool.h: the clients of the transport, one per client_key, and their pools.
 *
 * One hvb_client per client_key (a process-wide table): it owns a CURLSH that shares the
 * connection cache, DNS cache and TLS sessions between every transfer of that key, plus pools
 * of idle easy handles, multi handles and whole transfers for reuse, so that keep-alive
 * connections survive from call to call. A client lives while someone holds a reference; the
 * last unref closes its connections, so a caller that wants reuse across calls keeps its
 * reference (hvb_llm does).
 *
 * Handles are passed as void * (CURL *, CURLM *): this header does not include curl.
 *
 * Thread safety: every function here may be called from any thread.
 *
 * fork(): in the child every client starts with a new share and empty pools; the parent's
 * share and idle handles are kept, never used nor freed (see hvb__transport_atfork).
 */
#ifndef HVB_NET_POOL_H
#define HVB_NET_POOL_H

#include <stdbool.h>
#include "base/fork.h"

typedef struct hvb_client hvb_client;

/* curl_global_init, once per process (before the first handle is made). */
void hvb__net_global_init(void);

/* The client for `client_key` (new reference; created on first use). Never NULL. */
hvb_client *hvb__client_get(const char *client_key);
hvb_client *hvb__client_ref(hvb_client *client); /* returns client; NULL is a no-op */
void hvb__client_unref(hvb_client *client);      /* NULL is a no-op */

/* The client's CURLSH (as void *), borrowed for as long as a reference to the client is held;
 * NULL when libcurl could not make one. For client exports (core/api/export.c), whose easy
 * handles join the client's connection pool. */
void *hvb__client_share(hvb_client *client);

/* An easy handle on the client's share: an idle one, or a new one. NULL when libcurl cannot
 * make one. Give it back with hvb__client_easy_give, which resets it (and cleans it up when
 * the pool is full); NULL is a no-op. */
void *hvb__client_easy_take(hvb_client *client);
void hvb__client_easy_give(hvb_client *client, void *easy);

/* An empty multi handle: an idle one, or a new one (NULL when libcurl cannot make one).
 * hvb__client_multi_give keeps it for reuse or cleans it up; NULL is a no-op. */
void *hvb__client_multi_take(hvb_client *client);
void hvb__client_multi_give(hvb_client *client, void *multi);

/* Idle transfers (the transport's, opaque here): take one (NULL when there is none); give
 * one back, false when the pool is full (the caller frees it then). `free_fn` frees an idle
 * transfer when the client goes; it is the same function for every transfer. */
void *hvb__client_idle_take(hvb_client *client);
bool hvb__client_idle_give(hvb_client *client, void *xfer, void (*free_fn)(void *));

/* fork() handler, called by core/api/atfork.c. */
void hvb__transport_atfork(hvb_fork_phase phase);

#endif
