/* core/net/pool.c: the client table and the pools of idle handles (see pool.h).
 *
 * A client's share holds its connections, not the multi handles, so they outlive any one
 * transfer: that is what lets consecutive calls of one client reuse a keep-alive connection.
 */
#include "net/pool.h"

#include <curl/curl.h>
#include <glib.h>
#include <string.h>

#define POOL_MAX 16 /* idle easy or multi handles, or transfers, kept per client */

struct hvb_client {
  gint refs; /* guarded by table_lock: a lookup may revive a client only under it */
  char *key;
  CURLSH *share;
  GMutex share_locks[CURL_LOCK_DATA_LAST];
  GMutex pool_lock;
  GPtrArray *easy_pool;  /* CURL*, reset, idle */
  GPtrArray *multi_pool; /* CURLM*, empty */
  GPtrArray *xfer_pool;  /* the transport's idle transfers, their easy handles configured */
  void (*xfer_free)(void *); /* frees one of xfer_pool; set by the first idle give */
};

static GMutex table_lock;
static GHashTable *table; /* client_key -> hvb_client* (not a reference) */

static gpointer global_init_once(gpointer unused) {
  (void)unused;
  return GINT_TO_POINTER(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
}

void hvb__net_global_init(void) {
  static GOnce once = G_ONCE_INIT;
  g_once(&once, global_init_once, NULL);
}

static void share_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *ud) {
  (void)easy; (void)access;
  hvb_client *c = ud;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST) g_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *easy, curl_lock_data data, void *ud) {
  (void)easy;
  hvb_client *c = ud;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST) g_mutex_unlock(&c->share_locks[data]);
}

/* The client's pools, empty, and its share (connections, DNS, TLS sessions). */
static void pools_new(hvb_client *c) {
  c->easy_pool = g_ptr_array_new();
  c->multi_pool = g_ptr_array_new();
  c->xfer_pool = g_ptr_array_new();
  c->share = curl_share_init();
  if (c->share) {
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
}

static hvb_client *client_new(const char *key) {
  hvb_client *c = g_new0(hvb_client, 1);
  c->refs = 1;
  c->key = g_strdup(key);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) g_mutex_init(&c->share_locks[i]);
  g_mutex_init(&c->pool_lock);
  pools_new(c);
  return c;
}

static void client_free(hvb_client *c) {
  /* Easy handles first: the share refuses to go while a handle still uses it. */
  for (guint i = 0; i < c->xfer_pool->len; i++) c->xfer_free(c->xfer_pool->pdata[i]);
  g_ptr_array_free(c->xfer_pool, TRUE);
  for (guint i = 0; i < c->easy_pool->len; i++) curl_easy_cleanup(c->easy_pool->pdata[i]);
  for (guint i = 0; i < c->multi_pool->len; i++) curl_multi_cleanup(c->multi_pool->pdata[i]);
  g_ptr_array_free(c->easy_pool, TRUE);
  g_ptr_array_free(c->multi_pool, TRUE);
  if (c->share) curl_share_cleanup(c->share); /* closes the pooled connections */
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) g_mutex_clear(&c->share_locks[i]);
  g_mutex_clear(&c->pool_lock);
  g_free(c->key);
  g_free(c);
}

hvb_client *hvb__client_get(const char *client_key) {
  hvb__net_global_init();
  if (!client_key) client_key = "";
  g_mutex_lock(&table_lock);
  if (!table) table = g_hash_table_new(g_str_hash, g_str_equal);
  hvb_client *c = g_hash_table_lookup(table, client_key);
  if (c) {
    c->refs++;
  } else {
    c = client_new(client_key);
    g_hash_table_insert(table, c->key, c);
  }
  g_mutex_unlock(&table_lock);
  return c;
}

hvb_client *hvb__client_ref(hvb_client *client) {
  if (!client) return NULL;
  g_mutex_lock(&table_lock);
  client->refs++;
  g_mutex_unlock(&table_lock);
  return client;
}

void hvb__client_unref(hvb_client *client) {
  if (!client) return;
  g_mutex_lock(&table_lock);
  bool last = --client->refs == 0;
  if (last) {
    g_hash_table_remove(table, client->key);
    if (g_hash_table_size(table) == 0) {
      g_hash_table_destroy(table);
      table = NULL;
    }
  }
  g_mutex_unlock(&table_lock);
  if (last) client_free(client);
}

void *hvb__client_share(hvb_client *client) {
  return client ? client->share : NULL;
}

/* An idle handle from `pool`, or NULL when it is empty. */
static void *pool_take(hvb_client *c, GPtrArray *pool) {
  void *h = NULL;
  g_mutex_lock(&c->pool_lock);
  if (pool->len > 0) h = g_ptr_array_steal_index_fast(pool, pool->len - 1);
  g_mutex_unlock(&c->pool_lock);
  return h;
}

/* Keep `h` in `pool` for reuse; false when the pool is full (the caller cleans it up). */
static bool pool_give(hvb_client *c, GPtrArray *pool, void *h) {
  g_mutex_lock(&c->pool_lock);
  bool keep = pool->len < POOL_MAX;
  if (keep) g_ptr_array_add(pool, h);
  g_mutex_unlock(&c->pool_lock);
  return keep;
}

void *hvb__client_easy_take(hvb_client *c) {
  CURL *easy = pool_take(c, c->easy_pool);
  if (!easy) easy = curl_easy_init();
  if (easy && c->share) curl_easy_setopt(easy, CURLOPT_SHARE, c->share);
  return easy;
}

void hvb__client_easy_give(hvb_client *c, void *easy) {
  if (!easy) return;
  /* Reset now, not on reuse, so no option keeps pointing into the freed transfer. */
  curl_easy_reset(easy);
  if (!pool_give(c, c->easy_pool, easy)) curl_easy_cleanup(easy);
}

void *hvb__client_multi_take(hvb_client *c) {
  CURLM *multi = pool_take(c, c->multi_pool);
  return multi ? multi : curl_multi_init();
}

void hvb__client_multi_give(hvb_client *c, void *multi) {
  if (multi && !pool_give(c, c->multi_pool, multi)) curl_multi_cleanup(multi);
}

void *hvb__client_idle_take(hvb_client *c) {
  return pool_take(c, c->xfer_pool);
}

bool hvb__client_idle_give(hvb_client *c, void *xfer, void (*free_fn)(void *)) {
  g_mutex_lock(&c->pool_lock);
  c->xfer_free = free_fn;
  bool keep = c->xfer_pool->len < POOL_MAX;
  if (keep) g_ptr_array_add(c->xfer_pool, xfer);
  g_mutex_unlock(&c->pool_lock);
  return keep;
}

/* ---- fork() (core/base/fork.c) ----
 *
 * Lock order: table_lock, then each client's pool_lock. The share locks are not taken:
 * libcurl takes them inside its calls and nests them in an order of its own, so taking them
 * all in prepare can deadlock with a transfer in another thread. They are not needed either:
 * in the child every client gets a new share and empty pools, and its share locks (which a
 * transfer of the parent may have held) are made new. The old share holds the parent's
 * keep-alive connections (a request on one from the child would interleave with the
 * parent's on the same socket) and cleaning it up could write on them (a TLS close_notify),
 * so it and the idle handles are kept, never used nor freed (hvb__fork_keep). Transfers made
 * before the fork are refused by their generation (hvb__transfer_step, hvb__transfer_free). */
void hvb__transport_atfork(hvb_fork_phase phase) {
  if (phase == HVB_FORK_PREPARE) g_mutex_lock(&table_lock);
  GHashTableIter it;
  gpointer v;
  if (table) {
    g_hash_table_iter_init(&it, table);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
      hvb_client *c = v;
      if (phase == HVB_FORK_PREPARE) {
        g_mutex_lock(&c->pool_lock);
        continue;
      }
      if (phase == HVB_FORK_CHILD) {
        hvb__fork_keep(c->share);
        hvb__fork_keep(c->easy_pool); /* with the handles in it */
        hvb__fork_keep(c->multi_pool);
        hvb__fork_keep(c->xfer_pool); /* idle transfers, their easy handles on the old share */
        /* Held, maybe, by a thread the child does not have; only the old share used them. */
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) {
          memset(&c->share_locks[i], 0, sizeof c->share_locks[i]);
          g_mutex_init(&c->share_locks[i]);
        }
        pools_new(c);
      }
      g_mutex_unlock(&c->pool_lock);
    }
  }
  if (phase != HVB_FORK_PREPARE) g_mutex_unlock(&table_lock);
}
