/* core/gateway/registry.c: finding, loading and listing gateway plugins.
 *
 * The contract is in <heavenbase/registry.h> (search order, states, stages) and
 * <heavenbase/gateway.h> (the descriptor). Choices made here:
 * - Records are published once and never change or go away (nor does the plugin code they
 *   point into), so callers read them without the lock; the lock guards the list, the scan
 *   and plugin init.
 * - A file is judged by its name before it is opened: a second file of a known name is a
 *   duplicate and is never dlopen'ed, so a shadowed plugin cannot run any code at all. So is
 *   a file that users other than its owner could have written (stage "permissions",
 *   base/trust.c): it is refused before dlopen, which would already run its constructors.
 * - dlclose only for files refused before init: once a plugin's init has run it may have left
 *   callbacks or threads behind, so it stays mapped even when init failed.
 * - Lazy: a lookup by name stats hb-gateway-<name>.so in each directory and opens only the
 *   first that exists; only a listing (hvb_gateway_count/at) opens every file.
 * - A file is opened bound (RTLD_NOW): a missing symbol is a clean "open" failure, never a
 *   crash at the first call. When binding fails, the file is opened RTLD_LAZY to read its
 *   descriptor anyway, so that a plugin of a newer minor that calls host functions this
 *   library lacks is refused at stage "abi", saying it needs a newer library, rather than
 *   with a linker error.
 * - ABI 1.1 plugins call the library through the host table (host.c) and need no symbol from
 *   the process, so the library no longer promotes itself to RTLD_GLOBAL. ABI 1.0 plugins
 *   still resolve hvb_* in the global scope: they load in programs linked with libheavenbase
 *   (hb and anything built with `pkg-config --libs heavenbase`), not in a host that dlopen()ed
 *   the library RTLD_LOCAL.
 * - Built-in gateways besides openai (hvb__builtin_gateways) go through the same checks and
 *   init as files, without dlopen; a file of the same name is looked up first and wins.
 */
#include "gateway/gateway.h"
#include "base/common.h"
#include "base/log.h"
#include "base/env.h"
#include "base/error.h"
#include "base/fork.h"
#include "base/trust.h"

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
static GPtrArray *records;   /* hvb_gateway_record*, openai first, then as examined */
static GPtrArray *listing;   /* what hvb_gateway_at shows: built-ins, then files in search order */
static GPtrArray *builtins;  /* records of hvb__builtin_gateways[i], NULL until examined */
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
  COPY(parse_error);
  COPY(host_slot);
#undef COPY
  r->init_1_0 = NULL;
  if (d->abi_minor == 0) {
    /* 1.0's init took only the error; same slot, so convert the pointer, never call it as the
     * 1.1 type. 1.0 had no parse_error: its plugins got the OpenAI reading of error bodies
     * from the transport, and keep it. No host slot either. */
    memcpy(&r->init_1_0, &r->ops.init, sizeof r->init_1_0);
    r->ops.init = NULL;
    r->ops.parse_error = hvb__openai_parse_error;
    r->ops.host_slot = NULL;
  }
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

/* "x" from ".../hb-gateway-x.so"; NULL when the base name does not have that form. */
static char *name_of_file(const char *base) {
  size_t n = strlen(base), pre = strlen(FILE_PREFIX), suf = strlen(FILE_SUFFIX);
  if (n <= pre + suf || strncmp(base, FILE_PREFIX, pre) != 0 ||
      strcmp(base + n - suf, FILE_SUFFIX) != 0)
    return NULL;
  return g_strndup(base + pre, n - pre - suf);
}

/* The descriptor's stages (magic, abi, struct, name) on `r`; false with `r` refused. */
static bool check_descriptor(hvb_gateway_record *r, const hvb_gateway_descriptor *d) {
  if (d->magic != HVB_GATEWAY_MAGIC) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_MAGIC,
           "bad magic 0x%08x (want 0x%08x): not a HeavenBase gateway descriptor",
           (unsigned)d->magic, (unsigned)HVB_GATEWAY_MAGIC);
    return false;
  }
  r->abi_major = d->abi_major;
  r->abi_minor = d->abi_minor;
  r->struct_size = d->struct_size;
  if (d->abi_major != HVB_GATEWAY_ABI_MAJOR) {
    refuse(r, HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI,
           "ABI major %u, library supports %u", (unsigned)d->abi_major,
           (unsigned)HVB_GATEWAY_ABI_MAJOR);
    return false;
  }
  if (d->abi_minor > HVB_GATEWAY_ABI_MINOR) {
    refuse(r, HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI,
           "built for ABI %u.%u, which needs a newer HeavenBase library (this one has ABI "
           "%u.%u)", (unsigned)d->abi_major, (unsigned)d->abi_minor,
           (unsigned)HVB_GATEWAY_ABI_MAJOR, (unsigned)HVB_GATEWAY_ABI_MINOR);
    return false;
  }
  if (d->struct_size < HEADER_SIZE) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_STRUCT,
           "struct_size %u is smaller than the descriptor's fixed fields (%zu bytes)",
           (unsigned)d->struct_size, (size_t)HEADER_SIZE);
    return false;
  }
  if (!d->name || strcmp(d->name, r->name) != 0) {
    if (d->name)
      refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
             "descriptor name '%s' does not match file name '%s'", d->name, r->name);
    else
      refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
             "descriptor has no name (the file name says '%s')", r->name);
    return false;
  }
  return true;
}

/* Copy the checked descriptor, hand a 1.1 plugin the host table and run init (once per
 * descriptor: a file checked again, or loaded by path and by search, is not started twice). */
static void start(hvb_gateway_record *r, const hvb_gateway_descriptor *d) {
  copy_descriptor(r, d);
  if (!g_hash_table_contains(started, d)) {
    const hvb_gateway_host *host = hvb__gateway_host();
    if (r->ops.host_slot) *r->ops.host_slot = host;
    hvb_error e = HVB_ERROR_INIT;
    bool ok = r->ops.init ? r->ops.init(host, &e) : r->init_1_0 ? r->init_1_0(&e) : true;
    if (!ok) {
      refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_INIT, "%s",
             e.message[0] ? e.message : "init failed without a message");
      return;
    }
  }
  g_hash_table_add(started, (gpointer)d);
  r->state = r->path ? HVB_GATEWAY_STATE_LOADED : HVB_GATEWAY_STATE_BUILTIN;
  r->stage = HVB_GATEWAY_STAGE_NONE;
  r->usable = true;
}

/* dlopen `path` and get its descriptor; NULL with `r` refused (and nothing left open). */
static const hvb_gateway_descriptor *open_file(hvb_gateway_record *r, int mode, void **handle) {
  dlerror();
  *handle = dlopen(r->path, mode | RTLD_LOCAL);
  if (!*handle) {
    const char *e = dlerror();
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_OPEN, "%s", e ? e : "dlopen failed");
    return NULL;
  }
  dlerror();
  void *sym = dlsym(*handle, HVB_GATEWAY_QUERY_SYMBOL);
  const hvb_gateway_descriptor *d = NULL;
  if (!sym) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL,
           "no symbol " HVB_GATEWAY_QUERY_SYMBOL " (not a HeavenBase gateway)");
  } else {
    /* POSIX guarantees that a dlsym result converts to a function pointer. */
    hvb_gateway_query_fn query;
    memcpy(&query, &sym, sizeof query);
    d = query();
    if (!d)
      refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL,
             HVB_GATEWAY_QUERY_SYMBOL " returned NULL");
  }
  if (!d) {
    dlclose(*handle);
    *handle = NULL;
  }
  return d;
}

/* Run the stages on `r` (name and path set). Called with the lock held.
 *
 * The file is opened once, bound (RTLD_NOW), which is all a good plugin costs. When binding
 * fails, the file is opened again RTLD_LAZY just to read its descriptor: a plugin of a newer
 * minor that calls a host function this library lacks is then refused at stage "abi" with a
 * message that says so, not at "open" with a linker error; any other file keeps the linker's
 * message. */
static void load_file(hvb_gateway_record *r) {
  /* Before any of its code runs (dlopen runs constructors): a file others can write is theirs. */
  char *why = NULL;
  if (!hvb__trusted_code_file(r->path, &why)) {
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_PERMISSIONS, "%s", why);
    g_free(why);
    return;
  }
  void *handle;
  const hvb_gateway_descriptor *d = open_file(r, RTLD_NOW, &handle);
  if (!d && r->stage == HVB_GATEWAY_STAGE_OPEN) {
    hvb_gateway_record *lazy = record_new(r->name, r->path);
    const hvb_gateway_descriptor *ld = open_file(lazy, RTLD_LAZY, &handle);
    if (ld && !check_descriptor(lazy, ld) && lazy->stage == HVB_GATEWAY_STAGE_ABI) {
      g_free(r->reason);
      r->reason = g_strdup(lazy->reason);
      r->state = lazy->state;
      r->stage = lazy->stage;
      r->abi_major = lazy->abi_major;
      r->abi_minor = lazy->abi_minor;
      r->struct_size = lazy->struct_size;
    }
    if (ld) dlclose(handle);
    record_free(lazy);
    return;
  }
  if (!d) return;
  if (!check_descriptor(r, d)) {
    dlclose(handle);
    return;
  }
  /* Stays mapped from here on, even when init fails: init ran and may have left something
   * behind. */
  start(r, d);
}

/* The record of built-in gateway i, examined on first need. */
static hvb_gateway_record *builtin_locked(guint i) {
  if (builtins->pdata[i]) return builtins->pdata[i];
  const hvb_gateway_descriptor *d = hvb__builtin_gateways[i]();
  hvb_gateway_record *r = record_new(d && d->name ? d->name : "?", NULL);
  if (!d)
    refuse(r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL,
           "the built-in gateway's query returned NULL");
  else if (check_descriptor(r, d))
    start(r, d);
  builtins->pdata[i] = r;
  g_ptr_array_add(records, r);
  return r;
}

/* The built-in gateway called `name` (not openai), examined on first need; NULL if none. */
static hvb_gateway_record *builtin_named_locked(const char *name) {
  for (guint i = 0; hvb__builtin_gateways[i]; i++) {
    const hvb_gateway_descriptor *d = hvb__builtin_gateways[i]();
    if (d && d->name && strcmp(d->name, name) == 0) return builtin_locked(i);
  }
  return NULL;
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
  listing = g_ptr_array_new();
  builtins = g_ptr_array_new();
  for (guint i = 0; hvb__builtin_gateways[i]; i++) g_ptr_array_add(builtins, NULL);
}

static bool is_openai(const hvb_gateway_record *r) {
  return r == records->pdata[0];
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
             hvb_gateway_state_name(r->state), r->path ? r->path : "the library",
             r->ops.version ? r->ops.version : "?");
  else
    hvb__log(r->state == HVB_GATEWAY_STATE_DUPLICATE ? HVB_LOG_DEBUG : HVB_LOG_WARN,
             "gateway %s%s refused: %s%s%s: %s", r->path ? "file " : "built-in ",
             r->path ? r->path : r->name, hvb_gateway_state_name(r->state),
             r->stage ? " at stage " : "", hvb_gateway_stage_name(r->stage), r->reason);
}

static int compare_names(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hb-gateway-*.so file names in `dir`, sorted (readdir order is the file system's: the
 * outcome must be reproducible). Empty for a missing directory, which is normal (no user
 * plugins) and not logged under the lock. */
static GPtrArray *file_names(const char *dir) {
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return names;
  const char *base;
  while ((base = g_dir_read_name(d))) {
    char *name = name_of_file(base);
    if (name) g_ptr_array_add(names, g_strdup(base));
    g_free(name);
  }
  g_dir_close(d);
  g_ptr_array_sort(names, compare_names);
  return names;
}

static void scan_dir_locked(const char *dir) {
  GPtrArray *names = file_names(dir);
  for (guint i = 0; i < names->len; i++) {
    char *path = g_build_filename(dir, names->pdata[i], NULL);
    if (g_hash_table_contains(seen, path)) {
      g_free(path);
      continue;
    }
    char *name = name_of_file(names->pdata[i]);
    hvb_gateway_record *r = record_new(name, path);
    hvb_gateway_record *first = winner_locked(name);
    if (first && is_openai(first))
      refuse(r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
             "'%s' is the built-in gateway; a file cannot replace it", name);
    else if (first && !first->path)
      refuse(r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
             "'%s' was already taken from the built-in gateways (this file came later)", name);
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

static char **dirs_locked(void) {
  const char **api = api_vector_locked();
  char **dirs = hvb__registry_dirs(api, process_is_setid());
  g_free(api);
  return dirs;
}

/* After the files: each built-in gateway is examined, unless a file took its name. */
static void scan_builtins_locked(void) {
  for (guint i = 0; hvb__builtin_gateways[i]; i++) {
    if (builtins->pdata[i]) continue;
    const hvb_gateway_descriptor *d = hvb__builtin_gateways[i]();
    hvb_gateway_record *first = d && d->name ? winner_locked(d->name) : NULL;
    if (!first) {
      builtin_locked(i);
      continue;
    }
    hvb_gateway_record *r = record_new(d->name, NULL);
    refuse(r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
           "the file %s provides '%s'; the built-in copy is not used", first->path, d->name);
    builtins->pdata[i] = r;
    g_ptr_array_add(records, r);
  }
}

/* What hvb_gateway_at shows: openai, the files in search order (directory order, then name
 * order, whatever order lookups examined them in), then the other built-in gateways. */
static void rebuild_listing_locked(char **dirs) {
  g_ptr_array_set_size(listing, 0);
  g_ptr_array_add(listing, records->pdata[0]);
  GHashTable *listed = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (char **d = dirs; *d; d++) {
    GPtrArray *names = file_names(*d);
    for (guint i = 0; i < names->len; i++) {
      char *path = g_build_filename(*d, names->pdata[i], NULL);
      hvb_gateway_record *r = g_hash_table_lookup(seen, path);
      if (r && g_hash_table_add(listed, r)) g_ptr_array_add(listing, r);
      g_free(path);
    }
    g_ptr_array_free(names, TRUE);
  }
  /* Files examined once but gone since (or from a directory no longer searched). */
  for (guint i = 1; i < records->len; i++) {
    hvb_gateway_record *r = records->pdata[i];
    if (r->path && g_hash_table_add(listed, r)) g_ptr_array_add(listing, r);
  }
  g_hash_table_destroy(listed);
  for (guint i = 0; i < builtins->len; i++)
    if (builtins->pdata[i]) g_ptr_array_add(listing, builtins->pdata[i]);
}

static void scan_locked(void) {
  char **dirs = dirs_locked();
  for (char **d = dirs; *d; d++) scan_dir_locked(*d);
  scan_builtins_locked();
  rebuild_listing_locked(dirs);
  g_strfreev(dirs);
  scanned = true;
}

/* A lookup by name: the first directory holding hb-gateway-<name>.so; only that file is
 * opened (stat'ed elsewhere). NULL when no directory has it. */
static hvb_gateway_record *probe_locked(const char *name) {
  if (strchr(name, '/')) return NULL;
  char **dirs = dirs_locked();
  char *base = g_strconcat(FILE_PREFIX, name, FILE_SUFFIX, NULL);
  hvb_gateway_record *found = NULL;
  for (char **d = dirs; *d && !found; d++) {
    char *path = g_build_filename(*d, base, NULL);
    found = g_hash_table_lookup(seen, path);
    if (found || !g_file_test(path, G_FILE_TEST_EXISTS)) {
      g_free(path);
      continue;
    }
    found = record_new(name, path);
    load_file(found);
    g_ptr_array_add(records, found);
    g_hash_table_insert(seen, path, found);
  }
  g_free(base);
  g_strfreev(dirs);
  return found;
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
  /* Lazy: openai needs no file at all, any other name opens at most its own file. */
  hvb_gateway_record *r = winner_locked(name);
  if (!r) r = probe_locked(name);
  if (!r) r = builtin_named_locked(name);
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
  if (listing) g_ptr_array_free(listing, TRUE);
  if (builtins) g_ptr_array_free(builtins, TRUE);
  listing = builtins = NULL;
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
  case HVB_GATEWAY_STAGE_PERMISSIONS: return "permissions";
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
  size_t n = listing->len;
  unlock_and_log();
  return n;
}

HVB_PUBLIC const hvb_gateway_record *hvb_gateway_at(size_t index) {
  g_mutex_lock(&lock);
  ensure_scanned_locked();
  const hvb_gateway_record *r = index < listing->len ? listing->pdata[index] : NULL;
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
