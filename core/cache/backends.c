/* core/cache/backends.c: finding, loading and listing cache backend plugins.
 *
 * The gateway registry's rules (core/gateway/registry.c, <heavenbase/registry.h>), for
 * hb-cache-<name>.so files in .../heavenbase/caches-1: records, states and stages are the
 * gateways' own enums, so `hb caches list` reads like `hb gateways list`. What differs:
 * - the one built-in backend, `sqlite`, is the local store; no file can replace it;
 * - a file that fails to bind (RTLD_NOW) is reported at stage "open" with the linker's
 *   message (backends have no ABI 1.0 past to tell apart from a newer minor).
 * As there: permissions are checked before dlopen (which runs constructors); a file is judged
 * by its name first (a second file of a known name is a duplicate, never opened); dlclose only
 * for files refused before init; records are published once and never change.
 */
#include "cache/backend.h"
#include "base/common.h"
#include "base/env.h"
#include "base/error.h"
#include "base/log.h"
#include "base/trust.h"
#include "gateway/gateway.h" /* hvb__registry_setid */

#include <dlfcn.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#define FILE_PREFIX "hb-cache-"
#define FILE_SUFFIX ".so"
#define SUBDIR "heavenbase/caches-" G_STRINGIFY(HVB_CACHE_BACKEND_ABI_MAJOR)
#define HEADER_SIZE (offsetof(hvb_cache_backend_descriptor, caps) + sizeof(uint32_t))
#define FIELD_INSIDE(f, size)                                                                \
  (offsetof(hvb_cache_backend_descriptor, f) +                                               \
       sizeof(((hvb_cache_backend_descriptor *)0)->f) <= (size))

typedef hvb_cache_backend_record record;

static GMutex lock;
static GPtrArray *records;  /* record*: sqlite first, then as examined */
static GPtrArray *listing;  /* sqlite, then files in search order */
static GPtrArray *api_dirs; /* char* */
static GHashTable *seen;    /* path -> record */
static GHashTable *started; /* descriptors whose init ran well (survives reset) */
static bool scanned;
static guint logged;

static void record_free(record *r) {
  if (!r) return;
  g_free(r->name);
  g_free(r->path);
  g_free(r->reason);
  g_free(r);
}

static record *record_new(const char *name, const char *path) {
  record *r = g_new0(record, 1);
  r->name = g_strdup(name);
  r->path = g_strdup(path);
  r->reason = g_strdup("");
  return r;
}

static void refuse(record *r, hvb_gateway_state state, hvb_gateway_stage stage,
                   const char *fmt, ...) HVB_PRINTF(4, 5);
static void refuse(record *r, hvb_gateway_state state, hvb_gateway_stage stage,
                   const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  g_free(r->reason);
  r->reason = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  r->state = state;
  r->stage = stage;
  r->usable = false;
  memset(&r->ops, 0, sizeof r->ops);
}

static void copy_descriptor(record *r, const hvb_cache_backend_descriptor *d) {
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

static char *name_of_file(const char *base) {
  size_t n = strlen(base), pre = strlen(FILE_PREFIX), suf = strlen(FILE_SUFFIX);
  if (n <= pre + suf || strncmp(base, FILE_PREFIX, pre) != 0 ||
      strcmp(base + n - suf, FILE_SUFFIX) != 0)
    return NULL;
  return g_strndup(base + pre, n - pre - suf);
}

static bool check_descriptor(record *r, const hvb_cache_backend_descriptor *d) {
  if (d->magic != HVB_CACHE_BACKEND_MAGIC) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_MAGIC,
           "bad magic 0x%08x (want 0x%08x): not a HeavenBase cache backend descriptor",
           (unsigned)d->magic, (unsigned)HVB_CACHE_BACKEND_MAGIC);
    return false;
  }
  r->abi_major = d->abi_major;
  r->abi_minor = d->abi_minor;
  r->struct_size = d->struct_size;
  if (d->abi_major != HVB_CACHE_BACKEND_ABI_MAJOR) {
    refuse(r, HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI,
           "cache backend ABI major %u, library supports %u", (unsigned)d->abi_major,
           (unsigned)HVB_CACHE_BACKEND_ABI_MAJOR);
    return false;
  }
  if (d->abi_minor > HVB_CACHE_BACKEND_ABI_MINOR) {
    refuse(r, HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI,
           "built for cache backend ABI %u.%u, which needs a newer HeavenBase library (this "
           "one has %u.%u)", (unsigned)d->abi_major, (unsigned)d->abi_minor,
           (unsigned)HVB_CACHE_BACKEND_ABI_MAJOR, (unsigned)HVB_CACHE_BACKEND_ABI_MINOR);
    return false;
  }
  if (d->struct_size < HEADER_SIZE) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_STRUCT,
           "struct_size %u is smaller than the descriptor's fixed fields (%zu bytes)",
           (unsigned)d->struct_size, (size_t)HEADER_SIZE);
    return false;
  }
  if (!d->name || strcmp(d->name, r->name) != 0) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
           "descriptor name '%s' does not match file name '%s'", d->name ? d->name : "(none)",
           r->name);
    return false;
  }
  return true;
}

/* Copy, hand over the host table, run init (once per descriptor), check the operations. */
static void start(record *r, const hvb_cache_backend_descriptor *d) {
  copy_descriptor(r, d);
  if (!g_hash_table_contains(started, d)) {
    const hvb_cache_backend_host *host = hvb__cache_backend_host();
    if (r->ops.host_slot) *r->ops.host_slot = host;
    hvb_error e = HVB_ERROR_INIT;
    if (r->ops.init && !r->ops.init(host, &e)) {
      refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_INIT, "%s",
             e.message[0] ? e.message : "init failed without a message");
      return;
    }
  }
  g_hash_table_add(started, (gpointer)d);
  if (!r->ops.open || !r->ops.get || !r->ops.put) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_STRUCT,
           "the descriptor lacks open, get or put, which every cache backend needs");
    return;
  }
  r->state = r->path ? HVB_GATEWAY_STATE_LOADED : HVB_GATEWAY_STATE_BUILTIN;
  r->stage = HVB_GATEWAY_STAGE_NONE;
  r->usable = true;
}

static void load_file(record *r) {
  char *why = NULL;
  if (!hvb__trusted_code_file(r->path, &why)) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_PERMISSIONS, "%s", why);
    g_free(why);
    return;
  }
  dlerror();
  void *handle = dlopen(r->path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *e = dlerror();
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_OPEN, "%s", e ? e : "dlopen failed");
    return;
  }
  dlerror();
  void *sym = dlsym(handle, HVB_CACHE_BACKEND_QUERY_SYMBOL);
  const hvb_cache_backend_descriptor *d = NULL;
  if (sym) {
    hvb_cache_backend_query_fn query;
    memcpy(&query, &sym, sizeof query);
    d = query();
  }
  if (!d) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL,
           sym ? HVB_CACHE_BACKEND_QUERY_SYMBOL " returned NULL"
               : "no symbol " HVB_CACHE_BACKEND_QUERY_SYMBOL " (not a HeavenBase cache backend)");
    dlclose(handle);
    return;
  }
  if (!check_descriptor(r, d)) {
    dlclose(handle);
    return;
  }
  start(r, d); /* stays mapped from here on: init ran */
}

/* ---- the search ---- */

static char **dirs_locked(void) {
  bool secure = hvb__registry_setid(getuid(), geteuid(), getgid(), getegid());
  GPtrArray *v = g_ptr_array_new();
  for (guint i = 0; i < api_dirs->len; i++) g_ptr_array_add(v, g_strdup(api_dirs->pdata[i]));
  if (!secure) {
    const char *env = hvb__getenv("HB_CACHE_BACKEND_PATH");
    char **parts = env ? g_strsplit(env, ":", -1) : NULL;
    for (char **p = parts; p && *p; p++)
      if (**p) g_ptr_array_add(v, g_strdup(*p));
    g_strfreev(parts);
    const char *xdg = hvb__getenv("XDG_DATA_HOME"), *home = hvb__getenv("HOME");
    if (xdg && g_path_is_absolute(xdg))
      g_ptr_array_add(v, g_build_filename(xdg, SUBDIR, NULL));
    else if (home && *home)
      g_ptr_array_add(v, g_build_filename(home, ".local", "share", SUBDIR, NULL));
  }
  const char *sys = secure ? NULL : hvb__getenv("HB_CACHE_BACKEND_SYSTEM_DIR");
  g_ptr_array_add(v, sys && *sys ? g_strdup(sys) : g_build_filename(HVB_LIBDIR, SUBDIR, NULL));
  for (guint i = 0; i < v->len; i++) {
    char *tidy = g_canonicalize_filename(v->pdata[i], NULL);
    g_free(v->pdata[i]);
    v->pdata[i] = tidy;
  }
  g_ptr_array_add(v, NULL);
  return (char **)g_ptr_array_free(v, FALSE);
}

static void ensure_init_locked(void) {
  if (!started) started = g_hash_table_new(g_direct_hash, g_direct_equal);
  if (records) return;
  records = g_ptr_array_new();
  listing = g_ptr_array_new();
  api_dirs = g_ptr_array_new_with_free_func(g_free);
  seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  record *r = record_new("sqlite", NULL);
  r->abi_major = HVB_CACHE_BACKEND_ABI_MAJOR;
  r->abi_minor = HVB_CACHE_BACKEND_ABI_MINOR;
  r->struct_size = hvb__cache_backend_sqlite.struct_size;
  start(r, &hvb__cache_backend_sqlite);
  g_ptr_array_add(records, r);
  logged = records->len;
}

static record *winner_locked(const char *name) {
  for (guint i = 0; i < records->len; i++) {
    record *r = records->pdata[i];
    if (r->state != HVB_GATEWAY_STATE_DUPLICATE && strcmp(r->name, name) == 0) return r;
  }
  return NULL;
}

static void log_record(const record *r) {
  if (r->usable)
    hvb__log(HVB_LOG_DEBUG, "cache backend '%s' %s from %s (version %s)", r->name,
             hvb_gateway_state_name(r->state), r->path ? r->path : "the library",
             r->ops.version ? r->ops.version : "?");
  else
    hvb__log(r->state == HVB_GATEWAY_STATE_DUPLICATE ? HVB_LOG_DEBUG : HVB_LOG_WARN,
             "cache backend file %s refused: %s%s%s: %s", r->path ? r->path : r->name,
             hvb_gateway_state_name(r->state), r->stage ? " at stage " : "",
             hvb_gateway_stage_name(r->stage), r->reason);
}

static void unlock_and_log(void) {
  GPtrArray *fresh = g_ptr_array_new();
  for (guint i = logged; records && i < records->len; i++) g_ptr_array_add(fresh, records->pdata[i]);
  if (records) logged = records->len;
  g_mutex_unlock(&lock);
  for (guint i = 0; i < fresh->len; i++) log_record(fresh->pdata[i]);
  g_ptr_array_free(fresh, TRUE);
}

static int compare_names(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Examine the file `base` in `dir` (once per path). */
static record *examine_locked(const char *dir, const char *base) {
  char *path = g_build_filename(dir, base, NULL);
  record *r = g_hash_table_lookup(seen, path);
  if (r) {
    g_free(path);
    return r;
  }
  char *name = name_of_file(base);
  r = record_new(name, path);
  record *first = winner_locked(name);
  if (first && !first->path)
    refuse(r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
           "'%s' is the built-in cache backend; a file cannot replace it", name);
  else if (first)
    refuse(r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
           "'%s' is already provided by %s (%s)", name, first->path,
           hvb_gateway_state_name(first->state));
  else
    load_file(r);
  g_ptr_array_add(records, r);
  g_hash_table_insert(seen, path, r);
  g_free(name);
  return r;
}

static void scan_locked(void) {
  char **dirs = dirs_locked();
  g_ptr_array_set_size(listing, 0);
  g_ptr_array_add(listing, records->pdata[0]);
  for (char **d = dirs; *d; d++) {
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *dir = g_dir_open(*d, 0, NULL);
    const char *base;
    while (dir && (base = g_dir_read_name(dir))) {
      char *name = name_of_file(base);
      if (name) g_ptr_array_add(names, g_strdup(base));
      g_free(name);
    }
    if (dir) g_dir_close(dir);
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
      record *r = examine_locked(*d, names->pdata[i]);
      if (!g_ptr_array_find(listing, r, NULL)) g_ptr_array_add(listing, r);
    }
    g_ptr_array_free(names, TRUE);
  }
  for (guint i = 1; i < records->len; i++)
    if (!g_ptr_array_find(listing, records->pdata[i], NULL))
      g_ptr_array_add(listing, records->pdata[i]);
  g_strfreev(dirs);
  scanned = true;
}

static record *probe_locked(const char *name) {
  if (strchr(name, '/')) return NULL;
  char **dirs = dirs_locked();
  char *base = g_strconcat(FILE_PREFIX, name, FILE_SUFFIX, NULL);
  record *found = NULL;
  for (char **d = dirs; *d && !found; d++) {
    char *path = g_build_filename(*d, base, NULL);
    if (g_hash_table_lookup(seen, path) || g_file_test(path, G_FILE_TEST_EXISTS))
      found = examine_locked(*d, base);
    g_free(path);
  }
  g_free(base);
  g_strfreev(dirs);
  return found;
}

const hvb_cache_backend_record *hvb__cache_backend_find(const char *name, char **why) {
  if (why) *why = NULL;
  if (!name || !*name) {
    if (why) *why = g_strdup("no cache backend name was given");
    return NULL;
  }
  g_mutex_lock(&lock);
  ensure_init_locked();
  record *r = winner_locked(name);
  if (!r) r = probe_locked(name);
  if (r && r->usable) {
    unlock_and_log();
    return r;
  }
  if (why && r) {
    *why = g_strdup_printf("%s is %s%s%s: %s", r->path, hvb_gateway_state_name(r->state),
                           r->stage ? " at stage " : "", hvb_gateway_stage_name(r->stage),
                           r->reason);
  } else if (why) {
    char **dirs = dirs_locked();
    char *list = g_strjoinv(":", dirs);
    *why = g_strdup_printf("no file " FILE_PREFIX "%s" FILE_SUFFIX
                           " in the cache backend path (%s)", name, list);
    g_free(list);
    g_strfreev(dirs);
  }
  unlock_and_log();
  return NULL;
}

void hvb__cache_backend_reset_for_tests(void) {
  g_mutex_lock(&lock);
  if (records) {
    for (guint i = 0; i < records->len; i++) record_free(records->pdata[i]);
    g_ptr_array_free(records, TRUE);
    g_ptr_array_free(listing, TRUE);
    g_ptr_array_free(api_dirs, TRUE);
    g_hash_table_destroy(seen);
  }
  records = listing = api_dirs = NULL;
  seen = NULL;
  scanned = false;
  logged = 0;
  g_mutex_unlock(&lock);
}

/* ---- public API ---- */

HVB_PUBLIC bool hvb_cache_backend_path_add(const char *dir, hvb_error *err) {
  if (!dir || !*dir)
    return hvb__fail(err, HVB_EINVAL, "cache backend directory is NULL or empty");
  g_mutex_lock(&lock);
  ensure_init_locked();
  bool known = false;
  for (guint i = 0; i < api_dirs->len && !known; i++) known = !strcmp(api_dirs->pdata[i], dir);
  if (!known) {
    g_ptr_array_add(api_dirs, g_strdup(dir));
    if (scanned) scan_locked();
  }
  unlock_and_log();
  return true;
}

HVB_PUBLIC json_object *hvb_cache_backend_search_path(void) {
  g_mutex_lock(&lock);
  ensure_init_locked();
  char **dirs = dirs_locked();
  g_mutex_unlock(&lock);
  json_object *arr = json_object_new_array();
  for (char **d = dirs; *d; d++) json_object_array_add(arr, json_object_new_string(*d));
  g_strfreev(dirs);
  return arr;
}

HVB_PUBLIC size_t hvb_cache_backend_count(void) {
  g_mutex_lock(&lock);
  ensure_init_locked();
  if (!scanned) scan_locked();
  size_t n = listing->len;
  unlock_and_log();
  return n;
}

HVB_PUBLIC const hvb_cache_backend_record *hvb_cache_backend_at(size_t index) {
  g_mutex_lock(&lock);
  ensure_init_locked();
  if (!scanned) scan_locked();
  const record *r = index < listing->len ? listing->pdata[index] : NULL;
  unlock_and_log();
  return r;
}

HVB_PUBLIC const hvb_cache_backend_record *hvb_cache_backend_lookup(const char *name) {
  return hvb__cache_backend_find(name, NULL);
}

HVB_PUBLIC hvb_cache_backend_record *hvb_cache_backend_check(const char *path, hvb_error *err) {
  if (!path || !*path) {
    hvb__fail(err, HVB_EINVAL, "cache backend file path is NULL or empty");
    return NULL;
  }
  char *base = g_path_get_basename(path);
  char *name = name_of_file(base);
  record *r = record_new(name ? name : base, path);
  r->owned = true;
  if (!name) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
           "file name '%s' is not " FILE_PREFIX "<name>" FILE_SUFFIX, base);
  } else {
    if (!strchr(path, '/')) {
      g_free(r->path);
      r->path = g_strconcat("./", path, NULL);
    }
    g_mutex_lock(&lock);
    ensure_init_locked();
    load_file(r);
    unlock_and_log();
  }
  log_record(r);
  g_free(base);
  g_free(name);
  return r;
}

HVB_PUBLIC void hvb_cache_backend_record_free(hvb_cache_backend_record *r) {
  if (r && r->owned) record_free(r);
}

#define GETTER(type, field, value, none)                                                     \
  HVB_PUBLIC type hvb_cache_backend_record_##field(const hvb_cache_backend_record *r) {      \
    return r ? (value) : (none);                                                             \
  }
GETTER(const char *, name, r->name, NULL)
GETTER(const char *, path, r->path, NULL)
GETTER(hvb_gateway_state, state, r->state, HVB_GATEWAY_STATE_BROKEN)
GETTER(hvb_gateway_stage, stage, r->stage, HVB_GATEWAY_STAGE_NONE)
GETTER(const char *, reason, r->reason, NULL)
GETTER(const char *, version, r->ops.version, NULL)

static void add_str(json_object *o, const char *key, const char *value) {
  json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

HVB_PUBLIC json_object *hvb_cache_backend_record_to_json(const hvb_cache_backend_record *r) {
  if (!r) return NULL;
  static const char *const caps[] = {"entries", "lock", "wait", "counters", "kv"};
  json_object *o = json_object_new_object();
  add_str(o, "name", r->name);
  add_str(o, "state", hvb_gateway_state_name(r->state));
  add_str(o, "stage", hvb_gateway_stage_name(r->stage));
  add_str(o, "reason", r->reason);
  add_str(o, "path", r->path);
  add_str(o, "version", r->ops.version);
  add_str(o, "description", r->ops.description);
  add_str(o, "license", r->ops.license);
  json_object *c = json_object_new_array();
  for (size_t i = 0; i < G_N_ELEMENTS(caps); i++)
    if (r->ops.caps & (1u << i)) json_object_array_add(c, json_object_new_string(caps[i]));
  json_object_object_add(o, "caps", c);
  char *abi = r->abi_major ? g_strdup_printf("%u.%u", (unsigned)r->abi_major,
                                             (unsigned)r->abi_minor) : NULL;
  add_str(o, "abi", abi);
  g_free(abi);
  return o;
}
