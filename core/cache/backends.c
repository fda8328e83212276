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
typedef hvb_cache_backend_record record;

static void copy_descriptor(hvb_plugin_record *pr, const void *desc) {
  record *r = (record *)pr;
  const hvb_cache_backend_descriptor *d = desc;
  uint32_t size = d->struct_size;
  memset(&r->ops, 0, sizeof r->ops);
#define COPY(f) \
  if (HVB_PLUGIN_FIELD_INSIDE(hvb_cache_backend_descriptor, f, size)) r->ops.f = d->f
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
  COPY(hold);
  COPY(release);
#undef COPY
}

HVB_PLUGIN_DESCRIPTOR_CALLBACKS(hvb_cache_backend_descriptor, hvb_cache_backend_query_fn)

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
    {HVB_CACHE_BACKEND_CAP_KV, "kv"},
    {HVB_CACHE_BACKEND_CAP_HOLDS, "holds"}};

static const hvb_plugin_kind kind = {
    HVB_PLUGIN_KIND_LAYOUT(record, hvb_cache_backend_descriptor),
    .noun = "cache backend",
    .file_prefix = "hb-cache-",
    .subdir = SUBDIR,
    .path_env = "HB_CACHE_BACKEND_PATH",
    .system_env = "HB_CACHE_BACKEND_SYSTEM_DIR",
    .query_symbol = HVB_CACHE_BACKEND_QUERY_SYMBOL,
    .magic = HVB_CACHE_BACKEND_MAGIC,
    .abi_major = HVB_CACHE_BACKEND_ABI_MAJOR,
    .abi_minor = HVB_CACHE_BACKEND_ABI_MINOR,
    .abi_word = "cache backend ABI",
    .have_word = "",
    .log_misnamed = true,
    .abi_needs_major = true,
    .caps = caps,
    .n_caps = G_N_ELEMENTS(caps),
    .core = &hvb__cache_backend_sqlite,
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

HVB_PLUGIN_PUBLIC_API(hvb_cache_backend, hvb_cache_backend_record, loader)
