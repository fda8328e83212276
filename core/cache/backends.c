/* core/cache/backends.c: cache backend plugins, hb-cache-<name>.so in .../heavenbase/caches-1:
 * the cache backend kind of the shared plugin loader (core/base/plugin.c, where the rules and
 * their reasons are). Records, states and stages are the gateways' own, so `hb caches list`
 * reads like `hb gateways list`. What is the backends' own:
 * - the one built-in backend, `sqlite`, is the local store; no file can replace it;
 * - a file that fails to bind (RTLD_NOW) is reported at stage "open" with the linker's
 *   message (backends have no ABI 1.0 past to tell apart from a newer minor);
 * - a started backend must have open, get and put.
 */
#include "cache/backend.h"
#include "base/common.h"
#include "base/plugin.h"

#include <string.h>

#define SUBDIR "heavenbase/caches-" G_STRINGIFY(HVB_CACHE_BACKEND_ABI_MAJOR)
#define HEADER_SIZE (offsetof(hvb_cache_backend_descriptor, caps) + sizeof(uint32_t))
#define FIELD_INSIDE(f, size)                                                                \
  (offsetof(hvb_cache_backend_descriptor, f) +                                               \
       sizeof(((hvb_cache_backend_descriptor *)0)->f) <= (size))

typedef hvb_cache_backend_record record;

static void copy_descriptor(hvb_plugin_record *pr, const void *desc) {
  record *r = (record *)pr;
  const hvb_cache_backend_descriptor *d = desc;
  uint32_t size = d->struct_size;
  memset(&r->ops, 0, sizeof r->ops);
#define COPY(f) \
  if (FIELD_INSIDE(f, size)) r->ops.f = d->f
  COPY(magic);
  COPY(abi_major);
  COPY(abi_minor);
  COPY(struct_size);
  COPY(name);
  COPY(version);
  COPY(description);
  COPY(license);
  COPY(caps);
  COPY(init);
  COPY(fini);
  COPY(open);
  COPY(close);
  COPY(get);
  COPY(put);
  COPY(delete_ns);
  COPY(stats);
  COPY(lock);
  COPY(unlock);
  COPY(wait);
  COPY(counter_add);
  COPY(kv_get);
  COPY(kv_set);
  COPY(host_slot);
#undef COPY
}

static const void *query(void *sym) {
  /* POSIX guarantees that a dlsym result converts to a function pointer. */
  hvb_cache_backend_query_fn fn;
  memcpy(&fn, &sym, sizeof fn);
  return fn();
}

static void header(const void *desc, hvb_plugin_header *h) {
  const hvb_cache_backend_descriptor *d = desc;
  *h = (hvb_plugin_header){d->magic,   d->abi_major,   d->abi_minor, d->struct_size, d->name,
                           d->version, d->description, d->license,   d->caps};
}

static bool init(hvb_plugin_record *pr, hvb_error *e) {
  record *r = (record *)pr;
  const hvb_cache_backend_host *host = hvb__cache_backend_host();
  if (r->ops.host_slot) *r->ops.host_slot = host;
  return !r->ops.init || r->ops.init(host, e);
}

static void ready(const hvb_plugin_kind *k, hvb_plugin_record *pr) {
  record *r = (record *)pr;
  if (!r->ops.open || !r->ops.get || !r->ops.put)
    hvb__plugin_refuse(k, pr, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_STRUCT,
                       "the descriptor lacks open, get or put, which every cache backend needs");
}

static const hvb_plugin_cap caps[] = {
    {HVB_CACHE_BACKEND_CAP_ENTRIES, "entries"}, {HVB_CACHE_BACKEND_CAP_LOCK, "lock"},
    {HVB_CACHE_BACKEND_CAP_WAIT, "wait"},       {HVB_CACHE_BACKEND_CAP_COUNTERS, "counters"},
    {HVB_CACHE_BACKEND_CAP_KV, "kv"}};

static const hvb_plugin_kind kind = {
    .noun = "cache backend",
    .file_prefix = "hb-cache-",
    .subdir = SUBDIR,
    .path_env = "HB_CACHE_BACKEND_PATH",
    .system_env = "HB_CACHE_BACKEND_SYSTEM_DIR",
    .query_symbol = HVB_CACHE_BACKEND_QUERY_SYMBOL,
    .magic = HVB_CACHE_BACKEND_MAGIC,
    .abi_major = HVB_CACHE_BACKEND_ABI_MAJOR,
    .abi_minor = HVB_CACHE_BACKEND_ABI_MINOR,
    .header_size = HEADER_SIZE,
    .abi_word = "cache backend ABI",
    .have_word = "",
    .log_misnamed = true,
    .abi_needs_major = true,
    .caps = caps,
    .n_caps = G_N_ELEMENTS(caps),
    .record_size = sizeof(record),
    .ops_offset = offsetof(record, ops),
    .ops_size = sizeof(hvb_cache_backend_descriptor),
    .core = &hvb__cache_backend_sqlite,
    .query = query,
    .header = header,
    .copy = copy_descriptor,
    .init = init,
    .ready = ready,
};

static hvb_plugin_loader loader = {.kind = &kind};

const hvb_cache_backend_record *hvb__cache_backend_find(const char *name, char **why) {
  return (const record *)hvb__plugin_find(&loader, name, why);
}

void hvb__cache_backend_reset_for_tests(void) {
  hvb__plugin_reset(&loader);
}

/* ---- public API ---- */

HVB_PUBLIC bool hvb_cache_backend_path_add(const char *dir, hvb_error *err) {
  return hvb__plugin_path_add(&loader, dir, err);
}

HVB_PUBLIC json_object *hvb_cache_backend_search_path(void) {
  return hvb__plugin_search_path(&loader);
}

HVB_PUBLIC size_t hvb_cache_backend_count(void) {
  return hvb__plugin_count(&loader);
}

HVB_PUBLIC const hvb_cache_backend_record *hvb_cache_backend_at(size_t index) {
  return (const record *)hvb__plugin_at(&loader, index);
}

HVB_PUBLIC const hvb_cache_backend_record *hvb_cache_backend_lookup(const char *name) {
  return hvb__cache_backend_find(name, NULL);
}

HVB_PUBLIC hvb_cache_backend_record *hvb_cache_backend_check(const char *path, hvb_error *err) {
  return (record *)hvb__plugin_check(&loader, path, err);
}

HVB_PUBLIC void hvb_cache_backend_record_free(hvb_cache_backend_record *r) {
  hvb__plugin_record_free(r ? &r->plugin : NULL);
}

HVB_PLUGIN_GETTERS(hvb_cache_backend_record, hvb_cache_backend_record)

HVB_PUBLIC json_object *hvb_cache_backend_record_to_json(const hvb_cache_backend_record *r) {
  return hvb__plugin_record_json(&kind, r ? &r->plugin : NULL);
}
