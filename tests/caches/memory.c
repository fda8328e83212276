/* tests/caches/memory.c: hb-cache-memory.so, a cache backend fixture with every capability,
 * keeping its data in process memory (one table per process, shared by every instance).
 *
 * Options: {"down_file": PATH}: while PATH exists every operation fails, HVB_TRANSPORT (an
 * outage the test starts and ends by creating and removing the file); {"bad": true} makes open
 * refuse the options (HVB_EINVAL). Stats: {"entries", "gets", "puts"}. */
#define HVB_CACHE_BACKEND_PLUGIN 1
#include <heavenbase/cache-backend.h>

#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct mem {
  char *down_file;
} mem;

static GMutex lock;
static GHashTable *data; /* "ns\nkey" or "name" -> GBytes */
static int n_gets, n_puts;

static bool init(const hvb_cache_backend_host *host, hvb_error *err) {
  (void)err;
  return host && host->size >= sizeof(hvb_cache_backend_host);
}

static void *mem_open(json_object *options, hvb_error *err) {
  json_object *v;
  if (json_object_object_get_ex(options, "bad", &v) && json_object_get_boolean(v)) {
    hvb_cache_backend_host_->fail(err, HVB_EINVAL, "'bad' is set");
    return NULL;
  }
  mem *m = g_new0(mem, 1);
  if (json_object_object_get_ex(options, "down_file", &v))
    m->down_file = g_strdup(json_object_get_string(v));
  g_mutex_lock(&lock);
  if (!data)
    data = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  g_mutex_unlock(&lock);
  return m;
}

static void mem_close(void *inst) {
  mem *m = inst;
  g_free(m->down_file);
  g_free(m);
}

static bool down(mem *m, hvb_error *err) {
  if (!m->down_file || access(m->down_file, F_OK) != 0) return false;
  hvb_cache_backend_host_->fail(err, HVB_TRANSPORT, "memory: the store is down (test)");
  return true;
}

static int mem_get(void *inst, const char *ns, const char *key, void **out, size_t *len,
                   hvb_error *err) {
  if (down(inst, err)) return -1;
  char *k = g_strconcat(ns, "\n", key, NULL);
  g_mutex_lock(&lock);
  n_gets++;
  GBytes *b = g_hash_table_lookup(data, k);
  int rc = 0;
  if (b) {
    gsize n;
    const void *p = g_bytes_get_data(b, &n);
    *out = malloc(n ? n : 1);
    memcpy(*out, p, n);
    *len = n;
    rc = 1;
  }
  g_mutex_unlock(&lock);
  g_free(k);
  return rc;
}

static bool mem_put(void *inst, const char *ns, const char *key, const void *p, size_t len,
                    int64_t ttl_ms, hvb_error *err) {
  (void)ttl_ms;
  if (down(inst, err)) return false;
  g_mutex_lock(&lock);
  n_puts++;
  g_hash_table_replace(data, g_strconcat(ns, "\n", key, NULL), g_bytes_new(p, len));
  g_mutex_unlock(&lock);
  return true;
}

static bool mem_delete_ns(void *inst, const char *ns, int64_t *removed, hvb_error *err) {
  if (down(inst, err)) return false;
  g_mutex_lock(&lock);
  int64_t n = g_hash_table_size(data);
  g_hash_table_remove_all(data); /* a fixture: every namespace */
  g_mutex_unlock(&lock);
  (void)ns;
  if (removed) *removed = n;
  return true;
}

static json_object *mem_stats(void *inst, hvb_error *err) {
  if (down(inst, err)) return NULL;
  json_object *o = json_object_new_object();
  g_mutex_lock(&lock);
  json_object_object_add(o, "entries", json_object_new_int64(g_hash_table_size(data)));
  json_object_object_add(o, "gets", json_object_new_int(n_gets));
  json_object_object_add(o, "puts", json_object_new_int(n_puts));
  g_mutex_unlock(&lock);
  return o;
}

static int mem_lock(void *inst, const char *name, const char *token, int64_t ttl_ms,
                    hvb_error *err) {
  (void)ttl_ms;
  if (down(inst, err)) return -1;
  char *k = g_strconcat("lock\n", name, NULL);
  g_mutex_lock(&lock);
  int rc = g_hash_table_contains(data, k) ? 0 : 1;
  if (rc) g_hash_table_insert(data, k, g_bytes_new(token, strlen(token)));
  else g_free(k);
  g_mutex_unlock(&lock);
  return rc;
}

static bool mem_unlock(void *inst, const char *name, const char *token, hvb_error *err) {
  if (down(inst, err)) return false;
  char *k = g_strconcat("lock\n", name, NULL);
  g_mutex_lock(&lock);
  GBytes *b = g_hash_table_lookup(data, k);
  gsize n = 0;
  const char *held = b ? g_bytes_get_data(b, &n) : NULL;
  if (held && n == strlen(token) && memcmp(held, token, n) == 0) g_hash_table_remove(data, k);
  g_mutex_unlock(&lock);
  g_free(k);
  return true;
}

static bool mem_counter_add(void *inst, const char *name, int64_t delta, int64_t ttl_ms,
                            int64_t *value, hvb_error *err) {
  (void)ttl_ms;
  if (down(inst, err)) return false;
  char *k = g_strconcat("counter\n", name, NULL);
  g_mutex_lock(&lock);
  GBytes *b = g_hash_table_lookup(data, k);
  int64_t v = b ? *(const int64_t *)g_bytes_get_data(b, NULL) : 0;
  v += delta;
  g_hash_table_replace(data, k, g_bytes_new(&v, sizeof v));
  g_mutex_unlock(&lock);
  *value = v;
  return true;
}

static int mem_kv_get(void *inst, const char *name, char **value, hvb_error *err) {
  if (down(inst, err)) return -1;
  char *k = g_strconcat("kv\n", name, NULL);
  g_mutex_lock(&lock);
  GBytes *b = g_hash_table_lookup(data, k);
  if (b) {
    gsize n;
    const char *p = g_bytes_get_data(b, &n);
    *value = malloc(n + 1);
    memcpy(*value, p, n);
    (*value)[n] = '\0';
  }
  g_mutex_unlock(&lock);
  g_free(k);
  return b ? 1 : 0;
}

static bool mem_kv_set(void *inst, const char *name, const char *value, int64_t ttl_ms,
                       hvb_error *err) {
  (void)ttl_ms;
  if (down(inst, err)) return false;
  g_mutex_lock(&lock);
  g_hash_table_replace(data, g_strconcat("kv\n", name, NULL), g_bytes_new(value, strlen(value)));
  g_mutex_unlock(&lock);
  return true;
}

HVB_CACHE_BACKEND_DEFINE(memory, "1.0.0", "in-memory test backend", "MIT",
                         HVB_CACHE_BACKEND_CAP_ENTRIES | HVB_CACHE_BACKEND_CAP_LOCK |
                             HVB_CACHE_BACKEND_CAP_COUNTERS | HVB_CACHE_BACKEND_CAP_KV,
                         .init = init, .open = mem_open, .close = mem_close, .get = mem_get,
                         .put = mem_put, .delete_ns = mem_delete_ns, .stats = mem_stats,
                         .lock = mem_lock, .unlock = mem_unlock,
                         .counter_add = mem_counter_add, .kv_get = mem_kv_get,
                         .kv_set = mem_kv_set)
