/* core/base/plugin.c: finding, loading and listing plugins of any kind (core/base/plugin.h).
 *
 * The contract is in <heavenbase/registry.h> (search order, states, stages). Choices made here:
 * - Records are published once and never change or go away (nor does the plugin code they
 *   point into), so callers read them without the lock; the lock guards the list, the scan
 *   and plugin init.
 * - A file is judged by its name before it is opened: a second file of a known name is a
 *   duplicate and is never dlopen'ed, so a shadowed plugin cannot run any code at all. So is
 *   a file that users other than its owner could have written (stage "permissions",
 *   base/trust.c): it is refused before dlopen, which would already run its constructors.
 * - dlclose only for files refused before init: once a plugin's init has run it may have left
 *   callbacks or threads behind, so it stays mapped even when init failed.
 * - Lazy: a lookup by name stats <prefix><name>.so in each directory and opens only the first
 *   that exists; only a listing (count/at) opens every file.
 * - A file is opened bound (RTLD_NOW): a missing symbol is a clean "open" failure, never a
 *   crash at the first call. For kinds with lazy_retry, see load_file.
 * - Built-ins besides the core one (kind->builtin) go through the same checks and init as
 *   files, without dlopen; a file of the same name is looked up first and wins.
 */
#include "base/plugin.h"
#include "base/common.h"
#include "base/error.h"
#include "base/env.h"
#include "base/log.h"
#include "base/trust.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FILE_SUFFIX ".so"

typedef hvb_plugin_record record;
typedef hvb_plugin_kind kind;
typedef hvb_plugin_loader loader;

/* ---- records ---- */

static void record_free(record *r) {
  if (!r) return;
  g_free(r->name);
  g_free(r->path);
  g_free(r->reason);
  g_free(r);
}

static record *record_new(const kind *k, const char *name, const char *path) {
  record *r = g_malloc0(k->record_size);
  r->name = g_strdup(name);
  r->path = g_strdup(path);
  r->reason = g_strdup("");
  return r;
}

void hvb__plugin_refuse(const kind *k, record *r, hvb_gateway_state state,
                        hvb_gateway_stage stage, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  g_free(r->reason);
  r->reason = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  r->state = state;
  r->stage = stage;
  r->usable = false;
  memset((char *)r + k->ops_offset, 0, k->ops_size);
}
#define refuse hvb__plugin_refuse

/* ---- loading one file ---- */

/* "x" from "<prefix>x.so"; NULL when the base name does not have that form. */
static char *name_of_file(const kind *k, const char *base) {
  size_t n = strlen(base), pre = strlen(k->file_prefix), suf = strlen(FILE_SUFFIX);
  if (n <= pre + suf || strncmp(base, k->file_prefix, pre) != 0 ||
      strcmp(base + n - suf, FILE_SUFFIX) != 0)
    return NULL;
  return g_strndup(base + pre, n - pre - suf);
}

static bool check_name(const kind *k, record *r, const char *name) {
  if (name && strcmp(name, r->name) == 0) return true;
  if (!name && k->nameless_message)
    refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
           "descriptor has no name (the file name says '%s')", r->name);
  else
    refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
           "descriptor name '%s' does not match file name '%s'", name ? name : "(none)",
           r->name);
  return false;
}

/* The descriptor's stages (magic, abi, struct, name) on `r`; false with `r` refused. */
static bool check_descriptor(const kind *k, record *r, const void *d) {
  hvb_plugin_header h;
  k->header(d, &h);
  if (h.magic != k->magic) {
    refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_MAGIC,
           "bad magic 0x%08x (want 0x%08x): not a HeavenBase %s descriptor", (unsigned)h.magic,
           (unsigned)k->magic, k->noun);
    return false;
  }
  r->abi_major = h.abi_major;
  r->abi_minor = h.abi_minor;
  r->struct_size = h.struct_size;
  if (h.abi_major != k->abi_major) {
    refuse(k, r, HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI,
           "%s major %u, library supports %u", k->abi_word, (unsigned)h.abi_major,
           (unsigned)k->abi_major);
    return false;
  }
  if (h.abi_minor > k->abi_minor) {
    refuse(k, r, HVB_GATEWAY_STATE_INCOMPATIBLE, HVB_GATEWAY_STAGE_ABI,
           "built for %s %u.%u, which needs a newer HeavenBase library (this one has %s%u.%u)",
           k->abi_word, (unsigned)h.abi_major, (unsigned)h.abi_minor, k->have_word,
           (unsigned)k->abi_major, (unsigned)k->abi_minor);
    return false;
  }
  if (h.struct_size < k->header_size) {
    refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_STRUCT,
           "struct_size %u is smaller than the descriptor's fixed fields (%zu bytes)",
           (unsigned)h.struct_size, k->header_size);
    return false;
  }
  return check_name(k, r, h.name);
}

/* Copy the checked descriptor and run init (once per descriptor: a file checked again, or
 * loaded by path and by search, is not started twice). */
static void start(loader *l, record *r, const void *d) {
  const kind *k = l->kind;
  k->copy(r, d);
  if (!g_hash_table_contains(l->started, d)) {
    hvb_error e = HVB_ERROR_INIT;
    if (!k->init(r, &e)) {
      refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_INIT, "%s",
             e.message[0] ? e.message : "init failed without a message");
      return;
    }
  }
  g_hash_table_add(l->started, (gpointer)d);
  r->state = r->path ? HVB_GATEWAY_STATE_LOADED : HVB_GATEWAY_STATE_BUILTIN;
  r->stage = HVB_GATEWAY_STAGE_NONE;
  r->usable = true;
  if (k->ready) k->ready(k, r);
}

/* dlopen `path` and get its descriptor; NULL with `r` refused (and nothing left open). */
static const void *open_file(const kind *k, record *r, int mode, void **handle) {
  dlerror();
  *handle = dlopen(r->path, mode | RTLD_LOCAL);
  if (!*handle) {
    const char *e = dlerror();
    refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_OPEN, "%s", e ? e : "dlopen failed");
    return NULL;
  }
  dlerror();
  void *sym = dlsym(*handle, k->query_symbol);
  const void *d = NULL;
  if (!sym) {
    refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL,
           "no symbol %s (not a HeavenBase %s)", k->query_symbol, k->noun);
  } else {
    d = k->query(sym);
    if (!d)
      refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL, "%s returned NULL",
             k->query_symbol);
  }
  if (!d) {
    dlclose(*handle);
    *handle = NULL;
  }
  return d;
}

/* The file failed to bind: open it RTLD_LAZY just to read its descriptor. A plugin of a
 * newer minor that calls a host function this library lacks is then refused at stage "abi"
 * with a message that says so; any other file keeps the linker's message. */
static void retry_lazy(const kind *k, record *r) {
  void *handle;
  record *lazy = record_new(k, r->name, r->path);
  const void *ld = open_file(k, lazy, RTLD_LAZY, &handle);
  if (ld && !check_descriptor(k, lazy, ld) && lazy->stage == HVB_GATEWAY_STAGE_ABI) {
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
}

/* Run the stages on `r` (name and path set). Called with the lock held (or on an owned
 * record). */
static void load_file(loader *l, record *r) {
  const kind *k = l->kind;
  /* Before any of its code runs (dlopen runs constructors): a file others can write is theirs. */
  char *why = NULL;
  if (!hvb__trusted_code_file(r->path, &why)) {
    refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_PERMISSIONS, "%s", why);
    g_free(why);
    return;
  }
  void *handle;
  const void *d = open_file(k, r, RTLD_NOW, &handle);
  if (!d && r->stage == HVB_GATEWAY_STAGE_OPEN && k->lazy_retry) {
    retry_lazy(k, r);
    return;
  }
  if (!d) return;
  if (!check_descriptor(k, r, d)) {
    dlclose(handle);
    return;
  }
  /* Stays mapped from here on, even when init fails: init ran and may have left something
   * behind. */
  start(l, r, d);
}

/* The record of built-in i, examined on first need. */
static record *builtin_locked(loader *l, guint i) {
  if (l->builtins->pdata[i]) return l->builtins->pdata[i];
  const kind *k = l->kind;
  const void *d = NULL;
  k->builtin(i, &d);
  hvb_plugin_header h = {0};
  if (d) k->header(d, &h);
  record *r = record_new(k, h.name ? h.name : "?", NULL);
  if (!d)
    refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_SYMBOL,
           "the built-in %s's query returned NULL", k->noun);
  else if (check_descriptor(k, r, d))
    start(l, r, d);
  l->builtins->pdata[i] = r;
  g_ptr_array_add(l->records, r);
  return r;
}

/* The name of built-in i (NULL when its query gives none). */
static const char *builtin_name(const kind *k, guint i) {
  const void *d = NULL;
  k->builtin(i, &d);
  hvb_plugin_header h = {0};
  if (d) k->header(d, &h);
  return h.name;
}

/* The built-in called `name` (not the core one), examined on first need; NULL if none. */
static record *builtin_named_locked(loader *l, const char *name) {
  for (guint i = 0; i < l->builtins->len; i++) {
    const char *n = builtin_name(l->kind, i);
    if (n && strcmp(n, name) == 0) return builtin_locked(l, i);
  }
  return NULL;
}

/* ---- the search ---- */

bool hvb__plugin_setid(unsigned long ruid, unsigned long euid, unsigned long rgid,
                       unsigned long egid) {
  return ruid != euid || rgid != egid;
}

static bool process_is_setid(void) {
  return hvb__plugin_setid(getuid(), geteuid(), getgid(), getegid());
}

static void add_env_dirs(const kind *k, GPtrArray *v) {
  const char *env = hvb__getenv(k->path_env);
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
    g_ptr_array_add(v, g_build_filename(xdg, k->subdir, NULL));
  else if (home && *home)
    g_ptr_array_add(v, g_build_filename(home, ".local", "share", k->subdir, NULL));
}

char **hvb__plugin_dirs(const kind *k, const char *const *api, bool secure) {
  GPtrArray *v = g_ptr_array_new();
  for (size_t i = 0; api && api[i]; i++) g_ptr_array_add(v, g_strdup(api[i]));
  if (!secure) add_env_dirs(k, v);
  const char *sys = secure ? NULL : hvb__getenv(k->system_env);
  g_ptr_array_add(v, sys && *sys ? g_strdup(sys) : g_build_filename(HVB_LIBDIR, k->subdir, NULL));
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

/* The core built-in: no file replaces it, and it is not news (never logged). */
static record *core_record(loader *l) {
  const kind *k = l->kind;
  hvb_plugin_header h;
  k->header(k->core, &h);
  record *r = record_new(k, h.name, NULL);
  r->abi_major = k->abi_major;
  r->abi_minor = k->abi_minor;
  r->struct_size = h.struct_size;
  start(l, r, k->core);
  return r;
}

static void ensure_init_locked(loader *l) {
  if (!l->started) l->started = g_hash_table_new(g_direct_hash, g_direct_equal);
  if (l->records) return;
  l->records = g_ptr_array_new();
  l->api_dirs = g_ptr_array_new_with_free_func(g_free);
  l->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_ptr_array_add(l->records, core_record(l));
  l->logged = l->records->len;
  l->listing = g_ptr_array_new();
  l->builtins = g_ptr_array_new();
  for (guint i = 0; l->kind->builtin && l->kind->builtin(i, NULL); i++)
    g_ptr_array_add(l->builtins, NULL);
}

/* The first record of `name` that is not a duplicate (the one that won), any state. */
static record *winner_locked(loader *l, const char *name) {
  for (guint i = 0; i < l->records->len; i++) {
    record *r = l->records->pdata[i];
    if (r->state != HVB_GATEWAY_STATE_DUPLICATE && strcmp(r->name, name) == 0) return r;
  }
  return NULL;
}

static void log_record(const kind *k, const record *r) {
  hvb_plugin_header h = {0};
  if (r->usable) {
    k->header((const char *)r + k->ops_offset, &h);
    hvb__log(HVB_LOG_DEBUG, "%s '%s' %s from %s (version %s)", k->noun, r->name,
             hvb_gateway_state_name(r->state), r->path ? r->path : "the library",
             h.version ? h.version : "?");
  } else {
    hvb__log(r->state == HVB_GATEWAY_STATE_DUPLICATE ? HVB_LOG_DEBUG : HVB_LOG_WARN,
             "%s %s%s refused: %s%s%s: %s", k->noun, r->path ? "file " : "built-in ",
             r->path ? r->path : r->name, hvb_gateway_state_name(r->state),
             r->stage ? " at stage " : "", hvb_gateway_stage_name(r->stage), r->reason);
  }
}

static int compare_names(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The plugin file names in `dir`, sorted (readdir order is the file system's: the outcome
 * must be reproducible). Empty for a missing directory, which is normal (no user plugins)
 * and not logged under the lock. */
static GPtrArray *file_names(const kind *k, const char *dir) {
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return names;
  const char *base;
  while ((base = g_dir_read_name(d))) {
    char *name = name_of_file(k, base);
    if (name) g_ptr_array_add(names, g_strdup(base));
    g_free(name);
  }
  g_dir_close(d);
  g_ptr_array_sort(names, compare_names);
  return names;
}

/* A new record for the file `path` called `name`: a duplicate of the record that won the
 * name, if any (never opened), else loaded. */
static record *examine_locked(loader *l, const char *name, const char *path) {
  const kind *k = l->kind;
  record *r = record_new(k, name, path);
  record *first = winner_locked(l, name);
  if (first && first == l->records->pdata[0])
    refuse(k, r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
           "'%s' is the built-in %s; a file cannot replace it", name, k->noun);
  else if (first && !first->path)
    refuse(k, r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
           "'%s' was already taken from the built-in %ss (this file came later)", name,
           k->noun);
  else if (first)
    refuse(k, r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
           "'%s' is already provided by %s (%s)", name, first->path,
           hvb_gateway_state_name(first->state));
  else
    load_file(l, r);
  g_ptr_array_add(l->records, r);
  g_hash_table_insert(l->seen, g_strdup(path), r);
  return r;
}

static void scan_dir_locked(loader *l, const char *dir) {
  GPtrArray *names = file_names(l->kind, dir);
  for (guint i = 0; i < names->len; i++) {
    char *path = g_build_filename(dir, names->pdata[i], NULL);
    if (!g_hash_table_contains(l->seen, path)) {
      char *name = name_of_file(l->kind, names->pdata[i]);
      examine_locked(l, name, path);
      g_free(name);
    }
    g_free(path);
  }
  g_ptr_array_free(names, TRUE);
}

/* The API directories as a NULL-terminated vector borrowed from api_dirs (g_free only the
 * vector). */
static const char **api_vector_locked(loader *l) {
  const char **v = g_new0(const char *, l->api_dirs->len + 1);
  for (guint i = 0; i < l->api_dirs->len; i++) v[i] = l->api_dirs->pdata[i];
  return v;
}

static char **dirs_locked(loader *l) {
  const char **api = api_vector_locked(l);
  char **dirs = hvb__plugin_dirs(l->kind, api, process_is_setid());
  g_free(api);
  return dirs;
}

/* After the files: each built-in is examined, unless a file took its name. */
static void scan_builtins_locked(loader *l) {
  const kind *k = l->kind;
  for (guint i = 0; i < l->builtins->len; i++) {
    if (l->builtins->pdata[i]) continue;
    const char *name = builtin_name(k, i);
    record *first = name ? winner_locked(l, name) : NULL;
    if (!first) {
      builtin_locked(l, i);
      continue;
    }
    record *r = record_new(k, name, NULL);
    refuse(k, r, HVB_GATEWAY_STATE_DUPLICATE, HVB_GATEWAY_STAGE_NONE,
           "the file %s provides '%s'; the built-in copy is not used", first->path, name);
    l->builtins->pdata[i] = r;
    g_ptr_array_add(l->records, r);
  }
}

/* What _at shows: the core built-in, the files in search order (directory order, then name
 * order, whatever order lookups examined them in), then the other built-ins. */
static void rebuild_listing_locked(loader *l, char **dirs) {
  g_ptr_array_set_size(l->listing, 0);
  g_ptr_array_add(l->listing, l->records->pdata[0]);
  GHashTable *listed = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (char **d = dirs; *d; d++) {
    GPtrArray *names = file_names(l->kind, *d);
    for (guint i = 0; i < names->len; i++) {
      char *path = g_build_filename(*d, names->pdata[i], NULL);
      record *r = g_hash_table_lookup(l->seen, path);
      if (r && g_hash_table_add(listed, r)) g_ptr_array_add(l->listing, r);
      g_free(path);
    }
    g_ptr_array_free(names, TRUE);
  }
  /* Files examined once but gone since (or from a directory no longer searched). */
  for (guint i = 1; i < l->records->len; i++) {
    record *r = l->records->pdata[i];
    if (r->path && g_hash_table_add(listed, r)) g_ptr_array_add(l->listing, r);
  }
  g_hash_table_destroy(listed);
  for (guint i = 0; i < l->builtins->len; i++)
    if (l->builtins->pdata[i]) g_ptr_array_add(l->listing, l->builtins->pdata[i]);
}

static void scan_locked(loader *l) {
  char **dirs = dirs_locked(l);
  for (char **d = dirs; *d; d++) scan_dir_locked(l, *d);
  scan_builtins_locked(l);
  rebuild_listing_locked(l, dirs);
  g_strfreev(dirs);
  l->scanned = true;
}

/* A lookup by name: the first directory holding <prefix><name>.so; only that file is opened
 * (stat'ed elsewhere). NULL when no directory has it. */
static record *probe_locked(loader *l, const char *name) {
  if (strchr(name, '/')) return NULL;
  char **dirs = dirs_locked(l);
  char *base = g_strconcat(l->kind->file_prefix, name, FILE_SUFFIX, NULL);
  record *found = NULL;
  for (char **d = dirs; *d && !found; d++) {
    char *path = g_build_filename(*d, base, NULL);
    found = g_hash_table_lookup(l->seen, path);
    if (!found && g_file_test(path, G_FILE_TEST_EXISTS)) found = examine_locked(l, name, path);
    g_free(path);
  }
  g_free(base);
  g_strfreev(dirs);
  return found;
}

static void ensure_scanned_locked(loader *l) {
  ensure_init_locked(l);
  if (!l->scanned) scan_locked(l);
}

/* Release the lock, then log the records published since the last time. Logging happens
 * outside the lock because the log handler is the application's code, which may well list
 * the plugins itself. */
static void unlock_and_log(loader *l) {
  GPtrArray *fresh = g_ptr_array_new();
  for (guint i = l->logged; l->records && i < l->records->len; i++)
    g_ptr_array_add(fresh, l->records->pdata[i]);
  if (l->records) l->logged = l->records->len;
  g_mutex_unlock(&l->lock);
  for (guint i = 0; i < fresh->len; i++) log_record(l->kind, fresh->pdata[i]);
  g_ptr_array_free(fresh, TRUE);
}

static char *why_not(loader *l, const char *name, const record *r) {
  if (r)
    return g_strdup_printf("%s is %s%s%s: %s", r->path, hvb_gateway_state_name(r->state),
                           r->stage ? " at stage " : "", hvb_gateway_stage_name(r->stage),
                           r->reason);
  char **dirs = dirs_locked(l);
  char *list = g_strjoinv(":", dirs);
  char *why = g_strdup_printf("no file %s%s" FILE_SUFFIX " in the %s path (%s)",
                              l->kind->file_prefix, name, l->kind->noun, list);
  g_free(list);
  g_strfreev(dirs);
  return why;
}

const record *hvb__plugin_find(loader *l, const char *name, char **why) {
  if (why) *why = NULL;
  if (!name || !*name) {
    if (why) *why = g_strdup_printf("no %s name was given", l->kind->noun);
    return NULL;
  }
  g_mutex_lock(&l->lock);
  ensure_init_locked(l);
  /* Lazy: the core built-in needs no file at all, any other name opens at most its own. */
  record *r = winner_locked(l, name);
  if (!r) r = probe_locked(l, name);
  if (!r) r = builtin_named_locked(l, name);
  if (r && r->usable) {
    unlock_and_log(l);
    return r;
  }
  if (why) *why = why_not(l, name, r);
  unlock_and_log(l);
  return NULL;
}

void hvb__plugin_reset(loader *l) {
  g_mutex_lock(&l->lock);
  if (l->records) {
    for (guint i = 0; i < l->records->len; i++) record_free(l->records->pdata[i]);
    g_ptr_array_free(l->records, TRUE);
    g_ptr_array_free(l->api_dirs, TRUE);
    g_hash_table_destroy(l->seen);
  }
  if (l->listing) g_ptr_array_free(l->listing, TRUE);
  if (l->builtins) g_ptr_array_free(l->builtins, TRUE);
  l->listing = l->builtins = NULL;
  l->records = NULL;
  l->api_dirs = NULL;
  l->seen = NULL;
  l->scanned = false;
  l->logged = 0;
  g_mutex_unlock(&l->lock);
}

/* ---- the public API's bodies ---- */

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

bool hvb__plugin_path_add(loader *l, const char *dir, hvb_error *err) {
  if (!dir || !*dir)
    return hvb__fail(err, HVB_EINVAL, "%s directory is NULL or empty", l->kind->noun);
  g_mutex_lock(&l->lock);
  ensure_init_locked(l);
  bool known = false;
  for (guint i = 0; i < l->api_dirs->len && !known; i++)
    known = !strcmp(l->api_dirs->pdata[i], dir);
  if (!known) {
    g_ptr_array_add(l->api_dirs, g_strdup(dir));
    /* After the first scan: look again, everywhere; files already examined are skipped. */
    if (l->scanned) scan_locked(l);
  }
  unlock_and_log(l);
  return true;
}

json_object *hvb__plugin_search_path(loader *l) {
  g_mutex_lock(&l->lock);
  ensure_init_locked(l);
  char **dirs = dirs_locked(l);
  g_mutex_unlock(&l->lock);
  json_object *arr = json_object_new_array();
  for (char **d = dirs; *d; d++) json_object_array_add(arr, json_object_new_string(*d));
  g_strfreev(dirs);
  return arr;
}

size_t hvb__plugin_count(loader *l) {
  g_mutex_lock(&l->lock);
  ensure_scanned_locked(l);
  size_t n = l->listing->len;
  unlock_and_log(l);
  return n;
}

const record *hvb__plugin_at(loader *l, size_t index) {
  g_mutex_lock(&l->lock);
  ensure_scanned_locked(l);
  const record *r = index < l->listing->len ? l->listing->pdata[index] : NULL;
  unlock_and_log(l);
  return r;
}

record *hvb__plugin_check(loader *l, const char *path, hvb_error *err) {
  const kind *k = l->kind;
  if (!path || !*path) {
    hvb__fail(err, HVB_EINVAL, "%s file path is NULL or empty", k->noun);
    return NULL;
  }
  char *base = g_path_get_basename(path);
  char *name = name_of_file(k, base);
  record *r = record_new(k, name ? name : base, path);
  r->owned = true;
  if (!name) {
    refuse(k, r, HVB_GATEWAY_STATE_BROKEN, HVB_GATEWAY_STAGE_NAME,
           "file name '%s' is not %s<name>" FILE_SUFFIX, base, k->file_prefix);
    if (k->log_misnamed) log_record(k, r);
  } else {
    /* dlopen needs a slash to open a path rather than search the library path. */
    if (!strchr(path, '/')) {
      g_free(r->path);
      r->path = g_strconcat("./", path, NULL);
    }
    g_mutex_lock(&l->lock);
    ensure_init_locked(l);
    load_file(l, r);
    unlock_and_log(l);
    log_record(k, r);
  }
  g_free(base);
  g_free(name);
  return r;
}

void hvb__plugin_record_free(record *r) {
  if (r && r->owned) record_free(r);
}

static void add_str(json_object *o, const char *key, const char *value) {
  json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

json_object *hvb__plugin_record_json(const kind *k, const record *r) {
  if (!r) return NULL;
  hvb_plugin_header h;
  k->header((const char *)r + k->ops_offset, &h);
  json_object *o = json_object_new_object();
  add_str(o, "name", r->name);
  add_str(o, "state", hvb_gateway_state_name(r->state));
  add_str(o, "stage", hvb_gateway_stage_name(r->stage));
  add_str(o, "reason", r->reason);
  add_str(o, "path", r->path);
  add_str(o, "version", h.version);
  add_str(o, "description", h.description);
  add_str(o, "license", h.license);
  json_object *c = json_object_new_array();
  for (size_t i = 0; i < k->n_caps; i++)
    if (h.caps & k->caps[i].bit) json_object_array_add(c, json_object_new_string(k->caps[i].name));
  json_object_object_add(o, "caps", c);
  char *abi = r->abi_major || (r->abi_minor && !k->abi_needs_major)
                  ? g_strdup_printf("%u.%u", (unsigned)r->abi_major, (unsigned)r->abi_minor)
                  : NULL;
  add_str(o, "abi", abi);
  g_free(abi);
  return o;
}

/* fork() (core/base/fork.c): the lock is held while a scan loads plugins, so prepare may wait
 * for a scan in another thread to finish; the child then sees the records as they were after
 * that scan, and plugins that were loaded stay loaded (their code is mapped in the child). */
void hvb__plugin_atfork(loader *l, hvb_fork_phase phase) {
  if (phase == HVB_FORK_PREPARE) g_mutex_lock(&l->lock);
  else g_mutex_unlock(&l->lock);
}
