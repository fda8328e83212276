/* core/config/trust.c: which project config files are read, and which may redirect a key.
 *
 * The project layer is found by walking up from the working directory, so it can be a file
 * somebody else wrote (/tmp/.heavenbase/config.json under a shared /tmp). As git does with
 * safe.directory and direnv with `allow`: a project file is read only when the user (or root)
 * owns it and nobody else can write it; and a project file that changes where an API key is
 * sent is merged only when the user trusted its directory (`hb cfg trust`, recorded in the
 * user layer as heavenbase.trusted_projects, canonical paths). Both refusals are warnings
 * that name the file, shown by default once per process: the rest of the config still works.
 */
#include "config/trust.h"
#include "config/config.h"
#include "text/json.h"
#include "base/error.h"
#include "base/log.h"

#include <heavenbase/config.h>

#include <errno.h>
#include <stdarg.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void refuse(const char *path, const char *fmt, ...) HVB_PRINTF(2, 3);

static void refuse(const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *why = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *once = g_strconcat("config-untrusted:", path, ":", why, NULL);
  hvb__warn_once(once, "config %s ignored: %s", path, why);
  g_free(once);
  g_free(why);
}

static bool owned_by_us(uid_t uid) {
  return uid == geteuid() || uid == 0;
}

bool hvb__trust_owner_ok(const char *path, const struct stat *st) {
  if (!owned_by_us(st->st_uid)) {
    refuse(path, "it is owned by uid %lu, not by you (uid %lu) or root",
           (unsigned long)st->st_uid, (unsigned long)geteuid());
    return false;
  }
  if (st->st_mode & (S_IWGRP | S_IWOTH)) {
    refuse(path, "it is writable by group or others (mode %04o); run chmod go-w on it",
           (unsigned)(st->st_mode & 07777));
    return false;
  }
  /* A link or a directory of another user's could point the path at a file of ours that we
   * never meant as config. */
  struct stat link, dir;
  char *parent = g_path_get_dirname(path);
  bool link_ok = lstat(path, &link) != 0 || owned_by_us(link.st_uid);
  bool dir_ok = stat(parent, &dir) != 0 || owned_by_us(dir.st_uid);
  if (!link_ok)
    refuse(path, "it is a symbolic link owned by uid %lu", (unsigned long)link.st_uid);
  else if (!dir_ok)
    refuse(path, "its directory %s is owned by uid %lu, not by you or root", parent,
           (unsigned long)dir.st_uid);
  g_free(parent);
  return link_ok && dir_ok;
}

/* Settings that change where a key goes, per catalog section. */
static const struct {
  const char *section;
  const char *fields[5];
} redirecting[] = {
  {"providers", {"base_url", "api_key_env", "headers", NULL}},
  {"presets", {"base_url", NULL}},
  {"gateways", {"base_url", "base_url_env", "api_key_env", "api_key_header", NULL}},
};

/* The first redirecting setting of `tree` as a dotted key (new string), or NULL. */
static char *redirecting_key(json_object *tree) {
  json_object *llm = hvb__json_path(tree, "heavenbase.llm");
  for (size_t s = 0; s < G_N_ELEMENTS(redirecting); s++) {
    json_object *section = json_object_object_get(llm, redirecting[s].section);
    if (!json_object_is_type(section, json_type_object)) continue;
    json_object_object_foreach(section, name, entry) {
      if (!json_object_is_type(entry, json_type_object)) continue;
      for (int f = 0; redirecting[s].fields[f]; f++)
        if (json_object_object_get_ex(entry, redirecting[s].fields[f], NULL))
          return g_strdup_printf("heavenbase.llm.%s.%s.%s", redirecting[s].section, name,
                                 redirecting[s].fields[f]);
    }
  }
  return NULL;
}

static bool is_trusted(const char *dir, json_object *trusted) {
  if (!json_object_is_type(trusted, json_type_array)) return false;
  for (size_t i = 0, n = json_object_array_length(trusted); i < n; i++) {
    const char *entry = json_object_get_string(json_object_array_get_idx(trusted, i));
    if (!entry) continue;
    if (!strcmp(entry, dir)) return true;
    /* Recorded canonical by hb cfg trust; a hand-written entry may not be. */
    char *real = realpath(entry, NULL);
    bool same = real && !strcmp(real, dir);
    free(real);
    if (same) return true;
  }
  return false;
}

/* The project directory of a project file: the one that holds .heavenbase/. */
static char *project_dir(const char *path) {
  char *dot_dir = g_path_get_dirname(path);
  char *dir = g_path_get_dirname(dot_dir);
  g_free(dot_dir);
  char *real = realpath(dir, NULL);
  char *out = g_strdup(real ? real : dir);
  free(real);
  g_free(dir);
  return out;
}

bool hvb__trust_project_ok(const char *path, json_object *tree, json_object *trusted) {
  char *key = redirecting_key(tree);
  if (!key) return true;
  char *dir = project_dir(path);
  bool ok = is_trusted(dir, trusted);
  if (!ok)
    refuse(path,
           "it sets '%s', which changes where an API key is sent, and %s is not a trusted "
           "project directory (to trust it: hb cfg trust %s)",
           key, dir, dir);
  g_free(dir);
  g_free(key);
  return ok;
}

/* The directory to trust: `dir`, else the project directory of the working directory (the
 * one holding the nearest .heavenbase/config.json, else the working directory itself). */
static char *dir_to_trust(const char *dir, hvb_error *err) {
  char *given = NULL;
  if (dir) {
    given = g_strdup(dir);
  } else {
    char *file = hvb_config_project_write_path();
    char *dot_dir = g_path_get_dirname(file);
    given = g_path_get_dirname(dot_dir);
    g_free(dot_dir);
    free(file);
  }
  char *real = realpath(given, NULL);
  if (!real) {
    hvb__fail(err, errno == ENOENT ? HVB_NOT_FOUND : HVB_IO, "cannot trust %s: %s", given,
              g_strerror(errno));
  } else if (!g_file_test(real, G_FILE_TEST_IS_DIR)) {
    hvb__fail(err, HVB_EINVAL, "cannot trust %s: it is not a directory", given);
    g_clear_pointer(&real, free);
  }
  g_free(given);
  return real;
}

HVB_PUBLIC bool hvb_config_trust(const char *dir, char **recorded, hvb_error *err) {
  if (recorded) *recorded = NULL;
  char *real = dir_to_trust(dir, err);
  if (!real) return false;
  char *user = hvb__config_user_file();
  json_object *tree = NULL;
  bool ok = false;
  if (!user) {
    hvb__fail(err, HVB_NOT_FOUND, "no user configuration file to record the trust in");
  } else if (hvb__config_read_file(user, &tree, err)) {
    json_object *have = hvb__json_path(tree, "heavenbase.trusted_projects");
    json_object *list = json_object_is_type(have, json_type_array) ? hvb__json_copy(have)
                                                                   : json_object_new_array();
    bool known = false;
    for (size_t i = 0, n = json_object_array_length(list); i < n && !known; i++)
      known = !g_strcmp0(json_object_get_string(json_object_array_get_idx(list, i)), real);
    if (!known) json_object_array_add(list, json_object_new_string(real));
    ok = known ? (json_object_put(list), true)
               : hvb_config_file_set(user, "heavenbase.trusted_projects", list, err);
  }
  json_object_put(tree);
  g_free(user);
  if (ok && recorded) *recorded = strdup(real);
  free(real);
  return ok;
}
