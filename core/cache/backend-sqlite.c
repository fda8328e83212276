/* core/cache/backend-sqlite.c: the built-in `sqlite` cache backend and the host table handed
 * to backend plugins.
 *
 * `sqlite` is the local store (store.c) seen through the backend descriptor, so that `hb caches
 * list` shows it like any backend and a program can drive it through the same operations. The
 * cache's own tiers do not go through it: the local tier is the handle's store, read with its
 * TTLs and LRU bookkeeping (tier.c). Its options are a cache settings object ("path",
 * "max_bytes", "namespaces"); it offers entries only: locks, counters and key/values stay in
 * the process (flight.c, the breaker and bucket tables), as before backends existed.
 */
#include "cache/backend.h"
#include "cache/settings.h"
#include "cache/store.h"
#include "base/common.h"
#include "base/env.h"
#include "base/error.h"
#include "base/log.h"
#include <heavenbase/version.h>

#include <stdlib.h>
#include <string.h>

static void *sqlite_open(json_object *options, hvb_error *err) {
  json_object *s = json_object_is_type(options, json_type_object) ? options : NULL;
  return hvb__cache_new(s, "cache backend 'sqlite' options", err);
}

static void sqlite_close(void *inst) {
  hvb__cache_unref(inst);
}

static int ns_of(const char *ns, hvb_error *err) {
  int i = ns ? hvb__cache_ns_from_name(ns) : -1;
  if (i < 0) hvb__fail(err, HVB_EINVAL, "unknown cache namespace '%s'", ns ? ns : "(null)");
  return i;
}

static int sqlite_get(void *inst, const char *ns, const char *key, void **data, size_t *len,
                      hvb_error *err) {
  int i = ns_of(ns, err);
  if (i < 0) return -1;
  GBytes *v = hvb__cache_local_get(inst, (hvb_cache_ns)i, key);
  if (!v) return 0;
  gsize n;
  const void *p = g_bytes_get_data(v, &n);
  *data = malloc(n ? n : 1);
  if (*data && n) memcpy(*data, p, n);
  *len = n;
  g_bytes_unref(v);
  return *data ? 1 : (hvb__fail(err, HVB_ENOMEM, "out of memory"), -1);
}

static bool sqlite_put(void *inst, const char *ns, const char *key, const void *data,
                       size_t len, int64_t ttl_ms, hvb_error *err) {
  (void)ttl_ms; /* the store applies the namespace's TTL when it reads */
  int i = ns_of(ns, err);
  if (i < 0) return false;
  hvb__cache_local_put(inst, (hvb_cache_ns)i, key, data, len);
  return true;
}

static bool sqlite_delete_ns(void *inst, const char *ns, int64_t *removed, hvb_error *err) {
  return hvb_cache_clear(inst, ns, removed, err);
}

static json_object *sqlite_stats(void *inst, hvb_error *err) {
  return hvb_cache_stats(inst, err);
}

const hvb_cache_backend_descriptor hvb__cache_backend_sqlite = {
    .magic = HVB_CACHE_BACKEND_MAGIC,
    .abi_major = HVB_CACHE_BACKEND_ABI_MAJOR,
    .abi_minor = HVB_CACHE_BACKEND_ABI_MINOR,
    .struct_size = (uint32_t)sizeof(hvb_cache_backend_descriptor),
    .name = "sqlite",
    .version = HVB_VERSION_STRING,
    .description = "local SQLite file (the default; the local tier of every other backend)",
    .license = "MIT",
    .caps = HVB_CACHE_BACKEND_CAP_ENTRIES,
    .open = sqlite_open,
    .close = sqlite_close,
    .get = sqlite_get,
    .put = sqlite_put,
    .delete_ns = sqlite_delete_ns,
    .stats = sqlite_stats,
};

/* ---- the host table ---- */

static void host_log(hvb_log_level level, const char *fmt, ...) HVB_PRINTF(2, 3);
static void host_log(hvb_log_level level, const char *fmt, ...) {
  if (!fmt || !hvb__log_enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  hvb__log(level, "%s", msg); /* redacted like the library's own lines */
  g_free(msg);
}

static bool host_fail(hvb_error *err, hvb_status status, const char *fmt, ...) HVB_PRINTF(3, 4);
static bool host_fail(hvb_error *err, hvb_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt ? fmt : "", ap);
  va_end(ap);
  hvb__fail(err, status, "%s", msg);
  g_free(msg);
  return false;
}

static const hvb_cache_backend_host host = {
    .size = (uint32_t)sizeof(hvb_cache_backend_host),
    .abi_major = HVB_CACHE_BACKEND_ABI_MAJOR,
    .abi_minor = HVB_CACHE_BACKEND_ABI_MINOR,
    .fail = host_fail,
    .log = host_log,
    .log_enabled = hvb__log_enabled,
    .getenv = hvb__getenv,
};

const hvb_cache_backend_host *hvb__cache_backend_host(void) {
  return &host;
}
