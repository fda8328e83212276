/* core/config/config.c: the layered configuration, its files, the bundled resources and the catalog.
 *
 * A loaded hvb_config is immutable: the four layers are merged once, at load time, into one
 * tree. The catalog (bundled catalog + catalog.d drop-ins + the config's presets/models/
 * providers/gateways) is built on first use, so `hb cfg` never scans catalog directories; the
 * directories themselves are fixed at load time so that the layers and the catalog come from
 * one reading of the environment.
 */
#include "config/config.h"
#include "config/keys.h"
#include "config/trust.h"
#include "text/json.h"
#include "base/common.h"
#include "base/log.h"
#include "base/env.h"
#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Made by glib-compile-resources --c-name hvb__res (core/config/resources.c). */
GResource *hvb__res_get_resource(void);

/* Config and drop-in files are small; a larger one is a mistake (or an attack), not config. */
#define MAX_FILE_SIZE (16 * 1024 * 1024)

enum { DROPIN_DATA, DROPIN_SYSTEM, DROPIN_USER, N_DROPIN_DIRS };

struct hvb_config {
  json_object *merged;
  char *paths[HVB_CONFIG_N_LAYERS];
  char *dropin_dirs[N_DROPIN_DIRS]; /* may be NULL (no home directory) */
  gsize catalog;                    /* json_object *, built once by hvb__config_catalog */
};

/* ---- paths ---- */

/* The user's heavenbase config directory, or NULL when there is no home to put it in. */
static char *user_dir(void) {
  const char *dir = hvb__getenv("HB_CONFIG_DIR");
  if (dir) return g_strdup(dir);
  /* The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored. */
  const char *xdg = hvb__getenv("XDG_CONFIG_HOME");
  if (xdg && g_path_is_absolute(xdg)) return g_build_filename(xdg, "heavenbase", NULL);
  char *home = hvb__home_dir();
  if (!home) return NULL;
  char *path = g_build_filename(home, ".config", "heavenbase", NULL);
  g_free(home);
  return path;
}

static char *system_dir(void) {
  const char *dir = hvb__getenv("HB_SYSTEM_CONFIG_DIR");
  return dir ? g_strdup(dir) : g_build_filename(HVB_SYSCONFDIR, "heavenbase", NULL);
}

static char *data_dir(void) {
  const char *dir = hvb__getenv("HB_DATA_DIR");
  return g_strdup(dir ? dir : HVB_PKGDATADIR);
}

/* The nearest .heavenbase/config.json from `start_dir` (NULL: the working directory) up to
 * the root, or NULL. The walk is lexical (".." of a symlinked directory is its parent in the
 * path as given), as a shell user reads the path. */
static char *find_project_file(const char *start_dir) {
  char *cwd = g_get_current_dir();
  char *dir = g_canonicalize_filename(start_dir ? start_dir : ".", cwd);
  g_free(cwd);
  char *found = NULL;
  while (!found) {
    char *candidate = g_build_filename(dir, ".heavenbase", "config.json", NULL);
    if (g_file_test(candidate, G_FILE_TEST_IS_REGULAR)) {
      found = candidate;
      break;
    }
    g_free(candidate);
    char *parent = g_path_get_dirname(dir);
    bool at_root = strcmp(parent, dir) == 0;
    g_free(dir);
    dir = parent;
    if (at_root) break;
  }
  g_free(dir);
  return found;
}

HVB_PUBLIC char *hvb_config_project_write_path(void) {
  char *path = find_project_file(NULL);
  if (!path) {
    char *cwd = g_get_current_dir();
    path = g_build_filename(cwd, ".heavenbase", "config.json", NULL);
    g_free(cwd);
  }
  char *out = strdup(path); /* the contract says free(), not g_free() */
  g_free(path);
  return out;
}

/* ---- reading ---- */

/* Read a whole file. Returns false with *missing set (and err untouched) when it does not
 * exist, false with err set when it exists but cannot be read. */
static bool read_file(const char *path, char **text, size_t *len, bool *missing,
                      struct stat *st_out, hvb_error *err) {
  *text = NULL;
  *len = 0;
  *missing = false;
  /* O_NONBLOCK: a FIFO in place of a config file must not hang the program in open(). */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      *missing = true;
      return false;
    }
    return hvb__fail(err, HVB_IO, "%s: cannot open: %s", path, g_strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return hvb__fail(err, HVB_IO, "%s: cannot read: %s", path, g_strerror(e));
  }
  /* Other non-regular files are read: a config.json linked to /dev/null is an empty layer,
   * the way people mask a file; the size cap below stops an endless device. */
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return hvb__fail(err, HVB_IO, "%s: cannot read: it is a directory", path);
  }
  if (st.st_size > MAX_FILE_SIZE) {
    close(fd);
    return hvb__fail(err, HVB_TOO_LARGE, "%s: %lld bytes is larger than the %d bytes allowed",
                     path, (long long)st.st_size, MAX_FILE_SIZE);
  }
  GString *buf = g_string_sized_new((gsize)st.st_size + 1);
  char chunk[8192];
  for (;;) {
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int e = errno;
      close(fd);
      g_string_free(buf, TRUE);
      return hvb__fail(err, HVB_IO, "%s: cannot read: %s", path, g_strerror(e));
    }
    if (got == 0) break;
    g_string_append_len(buf, chunk, got);
    if (buf->len > MAX_FILE_SIZE) { /* grew while we read it */
      close(fd);
      g_string_free(buf, TRUE);
      return hvb__fail(err, HVB_TOO_LARGE, "%s: larger than the %d bytes allowed", path,
                       MAX_FILE_SIZE);
    }
  }
  close(fd);
  if (st_out) *st_out = st; /* of the file read, not of whatever the path names now */
  *len = buf->len;
  *text = g_string_free(buf, FALSE);
  return true;
}

json_object *hvb__config_parse_layer(const char *text, size_t len, const char *what,
                                     hvb_error *err) {
  size_t i = 0;
  while (i < len && g_ascii_isspace(text[i])) i++;
  /* An empty file is an empty layer: `touch config.json` must not break every program. */
  if (i == len) return json_object_new_object();
  /* Deep: a file that an older hb wrote with a key of 40 parts must still open, so that
   * hb cfg unset can repair it. */
  json_object *root =
      hvb__json_parse_ex(text, (long)len, what, HVB_JSON_POSITION | HVB_JSON_DEEP, err);
  if (root && !json_object_is_type(root, json_type_object)) {
    hvb__fail(err, HVB_PARSE, "%s: the top level must be a JSON object, not %s", what,
              hvb__json_type_phrase(root));
    json_object_put(root);
    return NULL;
  }
  return root;
}

/* One layer file: true with *out NULL when it does not exist, or when `owner_checked` and
 * the file may not be trusted for its owner or mode (hvb__trust_owner_ok warns): checked
 * before parsing, so that another user's broken file cannot break our commands either. */
static bool load_file_checked(const char *path, json_object **out, bool owner_checked,
                              hvb_error *err) {
  *out = NULL;
  char *text;
  size_t len;
  bool missing;
  struct stat st;
  if (!read_file(path, &text, &len, &missing, &st, err)) return missing;
  if (owner_checked && !hvb__trust_owner_ok(path, &st)) {
    g_free(text);
    return true;
  }
  *out = hvb__config_parse_layer(text, len, path, err);
  g_free(text);
  return *out != NULL;
}

static bool load_file(const char *path, json_object **out, hvb_error *err) {
  return load_file_checked(path, out, false, err);
}

bool hvb__config_read_file(const char *path, json_object **out, hvb_error *err) {
  return load_file(path, out, err);
}

char *hvb__config_user_file(void) {
  char *dir = user_dir();
  char *path = dir ? g_build_filename(dir, "config.json", NULL) : NULL;
  g_free(dir);
  return path;
}

HVB_PUBLIC char *hvb_config_user_path(void) {
  char *path = hvb__config_user_file();
  char *out = path ? strdup(path) : NULL;
  g_free(path);
  return out;
}

json_object *hvb__resource_json(const char *name, hvb_error *err) {
  char *rpath = g_strconcat("/org/heavenbase/data/", name, NULL);
  GError *gerr = NULL;
  GBytes *bytes = g_resource_lookup_data(hvb__res_get_resource(), rpath,
                                         G_RESOURCE_LOOKUP_FLAGS_NONE, &gerr);
  g_free(rpath);
  if (!bytes) {
    hvb__fail(err, HVB_IO, "bundled %s: %s", name, gerr->message);
    g_error_free(gerr);
    return NULL;
  }
  gsize len = 0;
  const char *data = g_bytes_get_data(bytes, &len);
  char *what = g_strconcat("bundled ", name, NULL);
  json_object *obj = hvb__config_parse_layer(data, len, what, err);
  g_free(what);
  g_bytes_unref(bytes);
  return obj;
}

/* ---- loading ---- */

/* Merge the system, user and project files over the defaults. Each is checked against the
 * table of known keys (core/config/keys.c); the project file also for its owner and mode and
 * for settings that send a key elsewhere (core/config/trust.c), against the directories the
 * user layer trusts. */
static bool load_layers(hvb_config *cfg, hvb_error *err) {
  json_object *user_tree = NULL;
  bool ok = true;
  for (int layer = HVB_CONFIG_SYSTEM; layer < HVB_CONFIG_N_LAYERS && ok; layer++) {
    const char *path = cfg->paths[layer];
    json_object *tree = NULL;
    if (!path) continue;
    ok = load_file_checked(path, &tree, layer == HVB_CONFIG_PROJECT, err);
    if (!tree) continue;
    hvb__config_keys_sanitize(tree, path);
    /* Trust is the user's to give: a project file's own list means nothing. */
    json_object *root = json_object_object_get(tree, "heavenbase");
    if (layer == HVB_CONFIG_PROJECT && json_object_is_type(root, json_type_object))
      json_object_object_del(root, "trusted_projects");
    if (layer == HVB_CONFIG_PROJECT &&
        !hvb__trust_project_ok(path, tree,
                               hvb__json_path(user_tree, "heavenbase.trusted_projects"))) {
      json_object_put(tree);
      continue;
    }
    hvb__json_merge(cfg->merged, tree);
    hvb__log(HVB_LOG_DEBUG, "config: loaded %s", path);
    if (layer == HVB_CONFIG_USER)
      user_tree = tree;
    else
      json_object_put(tree);
  }
  json_object_put(user_tree);
  return ok;
}

HVB_PUBLIC hvb_config *hvb_config_load_from(const char *start_dir, hvb_error *err) {
  hvb_config *cfg = g_new0(hvb_config, 1);
  char *sys = system_dir(), *user = user_dir(), *data = data_dir();
  cfg->paths[HVB_CONFIG_SYSTEM] = g_build_filename(sys, "config.json", NULL);
  cfg->paths[HVB_CONFIG_USER] = user ? g_build_filename(user, "config.json", NULL) : NULL;
  cfg->paths[HVB_CONFIG_PROJECT] = find_project_file(start_dir);
  cfg->dropin_dirs[DROPIN_DATA] = g_build_filename(data, "catalog.d", NULL);
  cfg->dropin_dirs[DROPIN_SYSTEM] = g_build_filename(sys, "catalog.d", NULL);
  cfg->dropin_dirs[DROPIN_USER] = user ? g_build_filename(user, "catalog.d", NULL) : NULL;
  g_free(sys);
  g_free(user);
  g_free(data);

  cfg->merged = hvb__resource_json("config.json", err);
  if (!cfg->merged || !load_layers(cfg, err)) {
    hvb_config_free(cfg);
    return NULL;
  }
  return cfg;
}

HVB_PUBLIC hvb_config *hvb_config_load(hvb_error *err) {
  return hvb_config_load_from(NULL, err);
}

HVB_PUBLIC void hvb_config_free(hvb_config *cfg) {
  if (!cfg) return;
  json_object_put(cfg->merged);
  json_object_put((json_object *)cfg->catalog);
  for (int i = 0; i < HVB_CONFIG_N_LAYERS; i++) g_free(cfg->paths[i]);
  for (int i = 0; i < N_DROPIN_DIRS; i++) g_free(cfg->dropin_dirs[i]);
  g_free(cfg);
}

/* ---- reading values ---- */

HVB_PUBLIC json_object *hvb_config_get(const hvb_config *cfg, const char *key) {
  if (!cfg) return NULL;
  return hvb__json_path(cfg->merged, key);
}

HVB_PUBLIC const char *hvb_config_get_string(const hvb_config *cfg, const char *key,
                                             const char *fallback) {
  json_object *v = hvb_config_get(cfg, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : fallback;
}

HVB_PUBLIC bool hvb_config_get_bool(const hvb_config *cfg, const char *key, bool fallback) {
  json_object *v = hvb_config_get(cfg, key);
  return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : fallback;
}

HVB_PUBLIC double hvb_config_get_double(const hvb_config *cfg, const char *key,
                                        double fallback) {
  json_object *v = hvb_config_get(cfg, key);
  if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
    return json_object_get_double(v);
  return fallback;
}

HVB_PUBLIC const char *hvb_config_layer_path(const hvb_config *cfg, hvb_config_layer layer) {
  if (!cfg || (int)layer < 0 || layer >= HVB_CONFIG_N_LAYERS) return NULL;
  return cfg->paths[layer];
}

/* ---- writing files ---- */

/* Split a dotted key into segments; HVB_EINVAL for an empty key or segment. */
static char **split_key(const char *key, hvb_error *err) {
  if (!key || !*key) {
    hvb__fail(err, HVB_EINVAL, "empty config key");
    return NULL;
  }
  char **segs = g_strsplit(key, ".", -1);
  for (int i = 0; segs[i]; i++) {
    if (!*segs[i]) {
      hvb__fail(err, HVB_EINVAL, "invalid config key '%s': empty segment", key);
      g_strfreev(segs);
      return NULL;
    }
  }
  return segs;
}

/* The dotted prefix of `segs` up to and including index `last`, for messages. */
static char *key_prefix(char **segs, int last) {
  GString *s = g_string_new(NULL);
  for (int i = 0; i <= last; i++) {
    if (i) g_string_append_c(s, '.');
    g_string_append(s, segs[i]);
  }
  return g_string_free(s, FALSE);
}

/* fsync the directory so that the rename itself survives a crash. */
static void sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  if (fsync(fd) != 0) hvb__log(HVB_LOG_DEBUG, "config: fsync of %s: %s", dir, g_strerror(errno));
  close(fd);
}

static bool write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data += n;
    len -= (size_t)n;
  }
  return true;
}

/* Write `root` to `path` atomically: a temp file in the same directory (so rename cannot
 * cross file systems), fsync, rename over the target. Readers see the old or the new file,
 * never a half-written one. */
static bool write_tree(const char *path, json_object *root, hvb_error *err) {
  char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int e = errno;
    g_free(dir);
    return hvb__fail(err, HVB_IO, "%s: cannot create its directory: %s", path, g_strerror(e));
  }
  char *base = g_path_get_basename(path);
  char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
  g_free(base);
  int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    g_free(tmp);
    g_free(dir);
    return hvb__fail(err, HVB_IO, "%s: cannot create a temporary file: %s", path,
                     g_strerror(e));
  }
  const char *text = json_object_to_json_string_ext(
      root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
  bool ok = write_all(fd, text, strlen(text)) && write_all(fd, "\n", 1) &&
            fchmod(fd, 0600) == 0 && fsync(fd) == 0;
  int e = errno;
  if (close(fd) != 0 && ok) {
    ok = false;
    e = errno;
  }
  if (ok && rename(tmp, path) != 0) {
    ok = false;
    e = errno;
  }
  if (!ok) {
    g_unlink(tmp);
    hvb__fail(err, HVB_IO, "%s: cannot write: %s", path, g_strerror(e));
  } else {
    sync_dir(dir);
  }
  g_free(tmp);
  g_free(dir);
  return ok;
}

/* The start of an edit: `key` split into *segs and the tree of `path` (a new empty object
 * when the file does not exist). NULL with err set, and *segs NULL, on failure. */
static json_object *begin_edit(const char *path, const char *key, char ***segs,
                               hvb_error *err) {
  *segs = split_key(key, err);
  if (!*segs) return NULL;
  json_object *root = NULL;
  if (!path || !*path)
    hvb__fail(err, HVB_EINVAL, "no config file given for '%s'", key);
  else if (load_file(path, &root, err) && !root)
    root = json_object_new_object();
  if (!root) {
    g_strfreev(*segs);
    *segs = NULL;
  }
  return root;
}

HVB_PUBLIC bool hvb_config_file_set(const char *path, const char *key, json_object *value,
                                    hvb_error *err) {
  bool ok = false;
  char **segs = NULL;
  json_object *root = NULL;
  if (!hvb_config_check(key, value, err)) goto out;
  root = begin_edit(path, key, &segs, err);
  if (!root) goto out;

  json_object *cur = root;
  int last = (int)g_strv_length(segs) - 1;
  for (int i = 0; i < last; i++) {
    json_object *next = NULL;
    if (!json_object_object_get_ex(cur, segs[i], &next)) {
      next = json_object_new_object();
      json_object_object_add(cur, segs[i], next);
    } else if (!json_object_is_type(next, json_type_object)) {
      char *prefix = key_prefix(segs, i);
      hvb__fail(err, HVB_EINVAL, "cannot set '%s' in %s: '%s' is %s, not an object", key, path,
                prefix, hvb__json_type_phrase(next));
      g_free(prefix);
      goto out;
    }
    cur = next;
  }
  json_object_object_add(cur, segs[last], value);
  value = NULL; /* now owned by root */
  ok = write_tree(path, root, err);

out:
  json_object_put(value);
  json_object_put(root);
  g_strfreev(segs);
  return ok;
}

HVB_PUBLIC bool hvb_config_file_unset(const char *path, const char *key, hvb_error *err) {
  bool ok = false;
  char **segs;
  json_object *root = begin_edit(path, key, &segs, err);
  if (!root) return false;

  int n = (int)g_strv_length(segs);
  json_object **chain = g_new0(json_object *, n); /* chain[i]: the object holding segs[i] */
  json_object *cur = root;
  for (int i = 0; i < n; i++) {
    json_object *next = NULL;
    if (!json_object_is_type(cur, json_type_object) ||
        !json_object_object_get_ex(cur, segs[i], &next)) {
      g_free(chain);
      hvb__fail(err, HVB_NOT_FOUND, "'%s' is not set in %s", key, path);
      goto out;
    }
    chain[i] = cur;
    cur = next;
  }
  json_object_object_del(chain[n - 1], segs[n - 1]);
  /* Drop the objects the removal emptied, so that set followed by unset leaves the file as it
   * was instead of a skeleton of empty objects. */
  for (int i = n - 1; i > 0 && json_object_object_length(chain[i]) == 0; i--)
    json_object_object_del(chain[i - 1], segs[i - 1]);
  g_free(chain);
  ok = write_tree(path, root, err);

out:
  json_object_put(root);
  g_strfreev(segs);
  return ok;
}

HVB_PUBLIC json_object *hvb_config_parse_value(const char *text, bool force_string) {
  if (!text) text = "";
  if (force_string) return json_object_new_string(text);
  char *trimmed = g_strstrip(g_strdup(text));
  bool is_null = strcmp(trimmed, "null") == 0;
  g_free(trimmed);
  if (is_null) return NULL;
  /* Strict: json-c alone would read True, 'x', NaN and [1,] as JSON, so that `hb cfg set k
   * True` stored a boolean and `'x'` lost its quotes. */
  json_object *v = hvb__json_parse_ex(text, -1, "value", HVB_JSON_STRICT, NULL);
  return v ? v : json_object_new_string(text);
}

/* ---- the catalog ---- */

static const char *const catalog_sections[] = {"presets", "models", "providers", "gateways",
                                               "routes", NULL};

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Merge every valid *.json file of `dir` into `catalog`, in bytewise name order (independent
 * of the locale, so every machine reads the same files in the same order). */
static void merge_dropins(json_object *catalog, const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (!d) return; /* absent directories are the common case */
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL)
    if (name[0] != '.' && g_str_has_suffix(name, ".json"))
      g_ptr_array_add(names, g_strdup(name));
  g_dir_close(d);
  g_ptr_array_sort(names, cmp_names);

  for (guint i = 0; i < names->len; i++) {
    char *path = g_build_filename(dir, names->pdata[i], NULL);
    hvb_error err = HVB_ERROR_INIT;
    json_object *part = NULL;
    if (!load_file(path, &part, &err) || !part || !hvb__catalog_check(part, path, &err)) {
      /* A broken third-party file must not take the library down with it. */
      if (err.status != HVB_OK)
        hvb__warn_once(path, "catalog drop-in skipped: %s", err.message);
    } else {
      for (int s = 0; catalog_sections[s]; s++) {
        json_object *src = NULL;
        json_object *dst = json_object_object_get(catalog, catalog_sections[s]);
        if (json_object_object_get_ex(part, catalog_sections[s], &src)) hvb__json_merge(dst, src);
      }
      hvb__log(HVB_LOG_DEBUG, "catalog: merged %s", path);
    }
    json_object_put(part);
    g_free(path);
  }
  g_ptr_array_free(names, TRUE);
}

static json_object *build_catalog(const hvb_config *cfg) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *catalog = hvb__resource_json("catalog.json", &err);
  if (!catalog || !hvb__catalog_check(catalog, "bundled catalog.json", &err)) {
    /* Only a broken build gets here; an empty catalog still lets explicit options work. */
    hvb__log(HVB_LOG_ERROR, "%s", err.message);
    json_object_put(catalog);
    catalog = json_object_new_object();
  }
  for (int s = 0; catalog_sections[s]; s++)
    if (!json_object_object_get_ex(catalog, catalog_sections[s], NULL))
      json_object_object_add(catalog, catalog_sections[s], json_object_new_object());

  for (int i = 0; i < N_DROPIN_DIRS; i++)
    if (cfg->dropin_dirs[i]) merge_dropins(catalog, cfg->dropin_dirs[i]);

  /* Entries in the config are checked when a spec uses them, where the error can reach the
   * caller; here only the section's own shape matters. */
  for (int s = 0; catalog_sections[s]; s++) {
    char *key = g_strconcat("heavenbase.llm.", catalog_sections[s], NULL);
    json_object *src = hvb__json_path(cfg->merged, key);
    if (json_object_is_type(src, json_type_object))
      hvb__json_merge(json_object_object_get(catalog, catalog_sections[s]), src);
    else if (src)
      hvb__log(HVB_LOG_WARN, "config key '%s' ignored: it must be an object", key);
    g_free(key);
  }
  return catalog;
}

json_object *hvb__config_catalog(const hvb_config *cfg) {
  hvb_config *mut = (hvb_config *)cfg; /* the catalog is a cache: logically const */
  if (g_once_init_enter(&mut->catalog)) {
    json_object *catalog = build_catalog(cfg);
    g_once_init_leave(&mut->catalog, (gsize)catalog);
  }
  return (json_object *)mut->catalog;
}

HVB_PUBLIC json_object *hvb_config_catalog(const hvb_config *cfg) {
  json_object *catalog = cfg ? hvb__config_catalog(cfg) : NULL;
  return catalog ? hvb__json_copy(catalog) : NULL;
}
