/* core/gateway/registry.c: finding, loading and listing gateway plugins.
 *
 * The contract is in <heavenbase/registry.h> (search order, states, stages) and
 * <heavenbase/gateway.h> (the descriptor). Choices made here:
 * - Records are published once and never change or go away (nor does the plugin code they
 *   point into), so callers read them without the lock; the lock guards the list, the scan
 *   and plugin init.
 * - A file is judged by its name before it is opened: a second file of a known name is a
 *   duplicate and is never dlopen'ed, so a shadowed plugin cannot run any code at all.
 * - dlclose only for files refused before init: once a plugin's init has run it may have left
 *   callbacks or threads behind, so it stays mapped even when init failed.
 * - Plugins do not link libheavenbase; their hvb_* references resolve in the global scope.
 *   A host that opened libheavenbase with RTLD_LOCAL (Python's ctypes does) would break every
 *   plugin, so before the first dlopen the library promotes itself to RTLD_GLOBAL.
 */
#include "gateway/gateway.h"
#include "base/common.h"
#include "base/log.h"
#include "base/env.h"
#include "base/error.h"
#include "base/fork.h"

#include <dlfcn.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FILE_PREFIX "hb-gateway-"
#define FILE_SUFFIX ".so"
#define GATEWAYS_SUBDIR "heavenbase/gateways-" G_STRINGIFY(HVB_GATEWAY_ABI_MAJOR)

/* The fields every ABI version has: magic .. caps. */
#define HEADER_SIZE (offsetof(hvb_gateway_descriptor, caps) + sizeof(uint32_t))

/* Is field `f` wholly inside the first `size` bytes of the plugin's descriptor? */
#define FIELD_INSIDE(f, size)                                                                \
  (offsetof(hvb_gateway_descriptor, f) + sizeof(((hvb_gateway_descriptor *)0)->f) <= (size))

static GMutex lock;
static GPtrArray *records;   /* hvb_gateway_record*, the built-in one first */
static GPtrArray *api_dirs;  /* char*, in the order added */
static GHashTable *seen;     /* path -> record: each file is examined once */
static GHashTable *started;  /* descriptor pointers whose init succeeded (survives reset) */
static bool scanned;
static guint logged;         /* records[0..logged) have been logged */

/* ---- records ---- */

static void record_free(hvb_gateway_record *r) {
  if (!r) return;
  g_free(r->name);
  g_free(r->path);
  g_free(r->reason);
  g_free(r);
}

static hvb_gateway_record *record_new(const char *name, const char *path) {
  hvb_gateway_record *r = g_new0(hvb_gateway_record, 1);
  r->name = g_strdup(name);
  r->path = g_strdup(path);
  r->reason = g_strdup("");
  return r;
}

static void refuse(hvb_gateway_record *r, hvb_gateway_state state, hvb_gateway_stage stage,
                   const char *fmt, ...) HVB_PRINTF(4, 5);
static void refuse(hvb_gateway_record *r, hvb_gateway_state state, hvb_gateway_stage stage,
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

/* Copy the descriptor's fields that lie inside its struct_size; the rest stay NULL/0. */
static void copy_descriptor(hvb_gateway_record *r, const hvb_gateway_descriptor *d) {
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
  COPY(supports);
  COPY(prepare);
  COPY(parse);
  COPY(stream_begin);
  COPY(stream_end);
  COPY(parse_event);
  COPY(execute);
#undef COPY
}

static hvb_gateway_record *builtin_record(void) {
  hvb_gateway_record *r = record_new(hvb__gateway_openai.name, NULL);
  r->state = HVB_GATEWAY_STATE_BUILTIN;
  r->abi_major = HVB_GATEWAY_ABI_MAJOR;
  r->abi_minor = HVB_GATEWAY_ABI_MINOR;
  r->struct_size = hvb__gateway_openai.struct_size;
  copy_descriptor(r, &hvb__gateway_openai);
  r->usable = true;
  return r;
}

/* ---- loading one file ---- */

/* Make the library's own symbols visible to plugins even when the host opened it with
 * RTLD_LOCAL. Harmless when it is already global or linked statically (the dlopen then
 * fails or returns the main program). The handle is kept: the library never unloads. */
static void promote_self_once(void) {
  static bool done;
  if (done) return;
  done = true;
  Dl_info info;
  if (dladdr((void *)&hvb_gateway_fail, &info) && info.dli_fname) {
    /* Not logged: this runs under the registry lock (see unlock_and_log). */
    (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  }
}

/* "x" from ".../hb-gateway-x.so"; NULL when the base name does not have that form. */
static char *name_of_file(const char *base) {
  size_t n = strlen(base), pre = strlen(FILE_PREFIX), suf = strlen(FILE_SUFFIX);
  if (n <= pre + suf || strncmp(base, FILE_PREFIX, pre) != 0 ||
      strcmp(base + n - suf, FILE_SUFFIX) != 0)
    return NULL;
  return g_strndup(base + pre, n - pre - suf);
}

/* Run the stages on `r` (name and path set). Called with the lock held. */
static void load_file(hvb_gateway_record *r) {
  promote_self_once();
  dlerror();
  void *handle = dlopen(r->path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *e = dlerror();
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_OPEN, "%s", e ? e : "dlopen failed");
    return;
  }
  dlerror();
  void *sym = dlsym(handle, HVB_GATEWAY_QUERY_SYMBOL);
  if (!sym) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL,
           "no symbol " HVB_GATEWAY_QUERY_SYMBOL " (not a HeavenBase gateway)");
    goto unload;
  }
  /* POSIX guarantees that a dlsym result converts to a function pointer. */
  hvb_gateway_query_fn query;
  memcpy(&query, &sym, sizeof query);
  const hvb_gateway_descriptor *d = query();
  if (!d) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL,
           HVB_GATEWAY_QUERY_SYMBOL " returned NULL");
    goto unload;
  }
  if (d->magic != HVB_GATEWAY_MAGIC) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_MAGIC,
           "bad magic 0x%08x (want 0x%08x): not a HeavenBase gateway descriptor",
           (unsigned)d->magic, (unsigned)HVB_GATEWAY_MAGIC);
    goto unload;
  }
  r->abi_major = d->abi_major;
  r->abi_minor = d->abi_minor;
  r->struct_size = d->struct_size;
  if (d->abi_major != HVB_GATEWAY_ABI_MAJOR) {
    refuse(r, HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI,
           "ABI major %u, library supports %u", (unsigned)d->abi_major,
           (unsigned)HVB_GATEWAY_ABI_MAJOR);
    goto unload;
  }
  if (d->abi_minor > HVB_GATEWAY_ABI_MINOR) {
    refuse(r, HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI,
           "minor %u newer than the library's %u", (unsigned)d->abi_minor,
           (unsigned)HVB_GATEWAY_ABI_MINOR);
    goto unload;
  }
  if (d->struct_size < HEADER_SIZE) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_STRUCT,
           "struct_size %u is smaller than the descriptor's fixed fields (%zu bytes)",
           (unsigned)d->struct_size, (size_t)HEADER_SIZE);
    goto unload;
  }
  if (!d->name || strcmp(d->name, r->name) != 0) {
    if (d->name)
      refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
             "descriptor name '%s' does not match file name '%s'", d->name, r->name);
    else
      refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
             "descriptor has no name (the file name says '%s')", r->name);
    goto unload;
  }
  copy_descriptor(r, d);
  if (r->ops.init && !g_hash_table_contains(started, d)) {
    hvb_error e = HVB_ERROR_INIT;
    if (!r->ops.init(&e)) {
      /* Stays mapped: init ran and may have left something behind. */
      refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_INIT, "%s",
             e.message[0] ? e.message : "init failed without a message");
      return;
    }
  }
  g_hash_table_add(started, (gpointer)d);
  r->state = HVB_GATEWAY_STATE_LOADED;
  r->stage = HVB_GATEWAY_STAGE_NONE;
  r->usable = true;
  return;
unload:
  dlclose(handle);
}

/* ---- the search ---- */

bool hvb__registry_setid(unsigned long ruid, unsigned long euid, unsigned long rgid,
                         unsigned long egid) {
  return ruid != euid || rgid != egid;
}

static bool process_is_setid(void) {
  return hvb__registry_setid(getuid(), geteuid(), getgid(), getegid());
}

char **hvb__registry_dirs(const char *const *api, bool secure) {
  GPtrArray *v = g_ptr_array_new();
  for (size_t i = 0; api && api[i]; i++) g_ptr_array_add(v, g_strdup(api[i]));
  if (!secure) {
    const char *env = hvb__getenv("HB_GATEWAY_PATH");
    if (env) {
      char **parts = g_strsplit(env, ":", -1);
      for (char **p = parts; *p; p++)
        if (**p) g_ptr_array_add(v, g_strdup(*p));
      g_strfreev(parts);
    }
    /* XDG: a relative XDG_DATA_HOME is invalid and ignored. */
    const char *xdg = hvb__getenv("XDG_DATA_HOME");
    const char *home = hvb__getenv("HOME");
    if (xdg && g_path_is_absolute(xdg))
      g_ptr_array_add(v, g_build_filename(xdg, GATEWAYS_SUBDIR, NULL));
    else if (home && *home)
      g_ptr_array_add(v, g_build_filename(home, ".local", "share", GATEWAYS_SUBDIR, NULL));
  }
  const char *sys = secure ? NULL : hvb__getenv("HB_GATEWAY_SYSTEM_DIR");
  g_ptr_array_add(v, sys && *sys ? g_strdup(sys) : g_build_filename(HVB_LIBDIR, GATEWAYS_SUBDIR,
                                                                    NULL));
  /* Absolute and tidy ("a/../b/" -> "/cwd/b"): records keep meaning the same file after the
   * host changes directory, and one directory spelled two ways is scanned once. */
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
  api_dirs = g_ptr_array_new_with_free_func(g_free);
  seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_ptr_array_add(records, builtin_record());
  logged = records->len; /* the built-in gateway is not news */
}

/* The first record of `name` that is not a duplicate (the one that won), any state. */
static hvb_gateway_record *winner_locked(const char *name) {
  for (guint i = 0; i < records->len; i++) {
    hvb_gateway_record *r = records->pdata[i];
    if (r->state != HVB_GATEWAY_STATE_DUPLICATE && strcmp(r->name, name) == 0) return r;
  }
  return NULL;
}

static void log_record(const hvb_gateway_record *r) {
  if (r->usable)
    hvb__log(HVB_LOG_DEBUG, "gateway '%s' %s from %s (version %s)", r->name,
             hvb_gateway_state_name(r->state), r->path, r->ops.version ? r->ops.version : "?");
  else
    hvb__log(r->state == HVB_GATEWAY_STATE_DUPLICATE ? HVB_LOG_DEBUG : HVB_LOG_WARN,
             "gateway file %s refused: %s%s%s: %s", r->path, hvb_gateway_state_name(r->state),
             r->stage ? " at stage " : "", hvb_gateway_stage_name(r->stage), r->reason);
}

static int compare_names(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_dir_locked(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return; /* missing directories are normal (no user plugins); not logged under lock */
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *base;
  while ((base = g_dir_read_name(d))) {
    char *name = name_of_file(base);
    if (name) g_ptr_array_add(names, g_strdup(base));
    g_free(name);
  }
  g_dir_close(d);
  /* readdir order is the file system's: sort, so that the outcome is reproducible. */
  g_ptr_array_sort(names, compare_names);
  for (guint i = 0; i < names->len; i++) {
    char *path = g_build_filename(dir, names->pdata[i], NULL);
    if (g_hash_table_contains(seen, path)) {
      g_free(path);
      continue;
    }
    char *name = name_of_file(names->pdata[i]);
    hvb_gateway_record *r = record_new(name, path);
    hvb_gateway_record *first = winner_locked(name);
    if (first && !first->path)
      refuse(r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
             "'%s' is the built-in gateway; a file cannot replace it", name);
    else if (first)
      refuse(r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
             "'%s' is already provided by %s (%s)", name, first->path,
             hvb_gateway_state_name(first->state));
    else
      load_file(r);
    g_ptr_array_add(records, r);
    g_hash_table_insert(seen, path, r);
    g_free(name);
  }
  g_ptr_array_free(names, TRUE);
}

/* The API directories as a NULL-terminated vector borrowed from api_dirs (g_free only the
 * vector). */
static const char **api_vector_locked(void) {
  const char **v = g_new0(const char *, api_dirs->len + 1);
  for (guint i = 0; i < api_dirs->len; i++) v[i] = api_dirs->pdata[i];
  return v;
}

static void scan_locked(void) {
  const char **api = api_vector_locked();
  char **dirs = hvb__registry_dirs(api, process_is_setid());
  g_free(api);
  for (char **d = dirs; *d; d++) scan_dir_locked(*d);
  g_strfreev(dirs);
  scanned = true;
}

static void ensure_scanned_locked(void) {
  ensure_init_locked();
  if (!scanned) scan_locked();
}

/* Release the lock, then log the records published since the last time. Logging happens
 * outside the lock because the log handler is the application's code, which may well list
 * the gateways itself. */
static void unlock_and_log(void) {
  GPtrArray *fresh = g_ptr_array_new();
  for (guint i = logged; records && i < records->len; i++)
    g_ptr_array_add(fresh, records->pdata[i]);
  if (records) logged = records->len;
  g_mutex_unlock(&lock);
  for (guint i = 0; i < fresh->len; i++) log_record(fresh->pdata[i]);
  g_ptr_array_free(fresh, TRUE);
}

const hvb_gateway_record *hvb__registry_find(const char *name, char **why) {
  if (why) *why = NULL;
  if (!name || !*name) {
    if (why) *why = g_strdup("no gateway name was given");
    return NULL;
  }
  g_mutex_lock(&lock);
  ensure_init_locked();
  /* The built-in gateway needs no scan: a process using only openai never opens a file. */
  if (strcmp(name, hvb__gateway_openai.name) != 0) ensure_scanned_locked();
  hvb_gateway_record *r = winner_locked(name);
  if (r && r->usable) {
    unlock_and_log();
    return r;
  }
  if (why && r) {
    *why = g_strdup_printf("%s is %s%s%s: %s", r->path, hvb_gateway_state_name(r->state),
                           r->stage ? " at stage " : "", hvb_gateway_stage_name(r->stage),
                           r->reason);
  } else if (why) {
    const char **api = api_vector_locked();
    char **dirs = hvb__registry_dirs(api, process_is_setid());
    g_free(api);
    char *list = g_strjoinv(":", dirs);
    *why = g_strdup_printf("no file " FILE_PREFIX "%s" FILE_SUFFIX " in the gateway path (%s)",
                           name, list);
    g_free(list);
    g_strfreev(dirs);
  }
  unlock_and_log();
  return NULL;
}

void hvb__registry_reset_for_tests(void) {
  g_mutex_lock(&lock);
  if (records) {
    for (guint i = 0; i < records->len; i++) record_free(records->pdata[i]);
    g_ptr_array_free(records, TRUE);
    g_ptr_array_free(api_dirs, TRUE);
    g_hash_table_destroy(seen);
  }
  records = NULL;
  api_dirs = NULL;
  seen = NULL;
  scanned = false;
  logged = 0;
  g_mutex_unlock(&lock);
}

/* ---- public API ---- */

HVB_PUBLIC const char *hvb_gateway_state_name(hvb_gateway_state state) {
  switch (state) {
  case HVB_GATEWAY_STATE_BUILTIN: return "builtin";
  case HVB_GATEWAY_STATE_LOADED: return "loaded";
  case HVB_GATEWAY_STATE_INCOMPATIBLE: return "incompatible";
  case HVB_GATEWAY_STATE_BROKEN: return "broken";
  case HVB_GATEWAY_STATE_DUPLICATE: return "duplicate";
  }
  return "unknown";
}

HVB_PUBLIC const char *hvb_gateway_stage_name(hvb_gateway_stage stage) {
  switch (stage) {
  case HVB_GATEWAY_STAGE_NONE: return "";
  case HVB_GATEWAY_STAGE_OPEN: return "open";
  case HVB_GATEWAY_STAGE_SYMBOL: return "symbol";
  case HVB_GATEWAY_STAGE_MAGIC: return "magic";
  case HVB_GATEWAY_STAGE_ABI: return "abi";
  case HVB_GATEWAY_STAGE_STRUCT: return "struct";
  case HVB_GATEWAY_STAGE_NAME: return "name";
  case HVB_GATEWAY_STAGE_INIT: return "init";
  }
  return "unknown";
}

HVB_PUBLIC bool hvb_gateway_path_add(const char *dir, hvb_error *err) {
  if (!dir || !*dir) return hvb__fail(err, HVB_EINVAL, "gateway directory is NULL or empty");
  g_mutex_lock(&lock);
  ensure_init_locked();
  bool known = false;
  for (guint i = 0; i < api_dirs->len && !known; i++) known = !strcmp(api_dirs->pdata[i], dir);
  if (!known) {
    g_ptr_array_add(api_dirs, g_strdup(dir));
    /* After the first scan: look again, everywhere; files already examined are skipped. */
    if (scanned) scan_locked();
  }
  unlock_and_log();
  return true;
}

HVB_PUBLIC json_object *hvb_gateway_search_path(void) {
  g_mutex_lock(&lock);
  ensure_init_locked();
  const char **api = api_vector_locked();
  char **dirs = hvb__registry_dirs(api, process_is_setid());
  g_free(api);
  g_mutex_unlock(&lock);
  json_object *arr = json_object_new_array();
  for (char **d = dirs; *d; d++) json_object_array_add(arr, json_object_new_string(*d));
  g_strfreev(dirs);
  return arr;
}

HVB_PUBLIC size_t hvb_gateway_count(void) {
  g_mutex_lock(&lock);
  ensure_scanned_locked();
  size_t n = records->len;
  unlock_and_log();
  return n;
}

HVB_PUBLIC const hvb_gateway_record *hvb_gateway_at(size_t index) {
  g_mutex_lock(&lock);
  ensure_scanned_locked();
  const hvb_gateway_record *r = index < records->len ? records->pdata[index] : NULL;
  unlock_and_log();
  return r;
}

HVB_PUBLIC const hvb_gateway_record *hvb_gateway_lookup(const char *name) {
  return hvb__registry_find(name, NULL);
}

HVB_PUBLIC hvb_gateway_record *hvb_gateway_check(const char *path, hvb_error *err) {
  if (!path || !*path) {
    hvb__fail(err, HVB_EINVAL, "gateway file path is NULL or empty");
    return NULL;
  }
  char *base = g_path_get_basename(path);
  char *name = name_of_file(base);
  hvb_gateway_record *r = record_new(name ? name : base, path);
  r->owned = true;
  if (!name) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
           "file name '%s' is not " FILE_PREFIX "<name>" FILE_SUFFIX, base);
  } else {
    /* dlopen needs a slash to open a path rather than search the library path. */
    if (!strchr(path, '/')) {
      g_free(r->path);
      r->path = g_strconcat("./", path, NULL);
    }
    g_mutex_lock(&lock);
    ensure_init_locked();
    load_file(r);
    unlock_and_log();
    log_record(r);
  }
  g_free(base);
  g_free(name);
  return r;
}

HVB_PUBLIC void hvb_gateway_record_free(hvb_gateway_record *r) {
  if (r && r->owned) record_free(r);
}

#define RECORD_GETTER(type, field, value, none)                                              \
  HVB_PUBLIC type hvb_gateway_record_##field(const hvb_gateway_record *r) {                  \
    return r ? (value) : (none);                                                             \
  }
RECORD_GETTER(const char *, name, r->name, NULL)
RECORD_GETTER(const char *, path, r->path, NULL)
RECORD_GETTER(hvb_gateway_state, state, r->state, HVB_GATEWAY_STATE_BROKEN)
RECORD_GETTER(hvb_gateway_stage, stage, r->stage, HVB_GATEWAY_STAGE_NONE)
RECORD_GETTER(const char *, reason, r->reason, NULL)
RECORD_GETTER(const char *, version, r->ops.version, NULL)
RECORD_GETTER(const char *, description, r->ops.description, NULL)
RECORD_GETTER(const char *, license, r->ops.license, NULL)
RECORD_GETTER(uint32_t, caps, r->ops.caps, 0)
RECORD_GETTER(unsigned, abi_major, r->abi_major, 0)
RECORD_GETTER(unsigned, abi_minor, r->abi_minor, 0)

static void add_str(json_object *o, const char *key, const char *value) {
  json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

HVB_PUBLIC json_object *hvb_gateway_record_to_json(const hvb_gateway_record *r) {
  if (!r) return NULL;
  static const struct {
    uint32_t bit;
    const char *name;
  } caps[] = {{HVB_GATEWAY_CAP_CHAT, "chat"},   {HVB_GATEWAY_CAP_STREAM, "stream"},
              {HVB_GATEWAY_CAP_EMBED, "embed"}, {HVB_GATEWAY_CAP_IMAGE, "image"},
              {HVB_GATEWAY_CAP_OFFLINE, "offline"}};
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
    if (r->ops.caps & caps[i].bit) json_object_array_add(c, json_object_new_string(caps[i].name));
  json_object_object_add(o, "caps", c);
  if (r->abi_major || r->abi_minor) {
    char *abi = g_strdup_printf("%u.%u", (unsigned)r->abi_major, (unsigned)r->abi_minor);
    add_str(o, "abi", abi);
    g_free(abi);
  } else {
    add_str(o, "abi", NULL);
  }
  return o;
}

/* fork() (core/base/fork.c): the lock is held while a scan loads plugins, so prepare may wait
 * for a scan in another thread to finish; the child then sees the registry as it was after
 * that scan, and plugins that were loaded stay loaded (their code is mapped in the child). */
void hvb__registry_atfork(hvb_fork_phase phase) {
  if (phase == HVB_FORK_PREPARE) g_mutex_lock(&lock);
  else g_mutex_unlock(&lock);
}
