/* core/cache/check.c: hvb_cache_check, a look at the cache database that changes nothing.
 *
 * Opening a cache for calls repairs what it finds (a damaged file is moved aside and a new
 * one made, core/cache/store.c), which is right for calls and wrong for a diagnosis: `hb
 * doctor` must report a damaged file, not silently replace it. So this opens the file
 * read-only, never creates it, and runs SQLite's quick_check. */
#include "cache/store.h"
#include "cache/settings.h"
#include "base/common.h"
#include "base/error.h"

#include <heavenbase/cache.h>

#include <glib.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

/* "ok", or what quick_check (or opening) said; new string. */
static char *quick_check(const char *path) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
  char *out = NULL;
  sqlite3_stmt *st = NULL;
  if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(db, 2000);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const unsigned char *text = sqlite3_column_text(st, 0);
    out = g_strdup(text ? (const char *)text : "no answer");
  }
  if (!out) out = g_strdup(db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

static void add_file_facts(json_object *o, const char *path) {
  struct stat sb;
  bool exists = stat(path, &sb) == 0;
  json_object_object_add(o, "exists", json_object_new_boolean(exists));
  if (!exists) return;
  char mode[8];
  g_snprintf(mode, sizeof mode, "%04o", (unsigned)(sb.st_mode & 07777));
  json_object_object_add(o, "mode", json_object_new_string(mode));
  int64_t bytes = (int64_t)sb.st_size;
  char *wal = g_strconcat(path, "-wal", NULL);
  if (stat(wal, &sb) == 0) bytes += (int64_t)sb.st_size;
  g_free(wal);
  json_object_object_add(o, "file_bytes", json_object_new_int64(bytes));
  char *integrity = quick_check(path);
  json_object_object_add(o, "integrity", json_object_new_string(integrity));
  g_free(integrity);
}

HVB_PUBLIC json_object *hvb_cache_check(const hvb_config *cfg, hvb_error *err) {
  hvb_config *own = NULL;
  if (!cfg && !(cfg = own = hvb_config_load(err))) return NULL;
  json_object *settings = hvb__cache_settings_from_config(cfg);
  hvb_config_free(own);
  hvb_cache *c = hvb__cache_new(settings, "heavenbase.llm.cache", err);
  json_object_put(settings);
  if (!c) return NULL;
  json_object *o = json_object_new_object();
  char *path = g_build_filename(c->dir, HVB__CACHE_DB_NAME, NULL);
  json_object_object_add(o, "path", json_object_new_string(path));
  json_object_object_add(o, "dir", json_object_new_string(c->dir));
  json_object_object_add(o, "enabled", json_object_new_boolean(c->enabled));
  json_object_object_add(o, "max_bytes", json_object_new_int64(c->max_bytes));
  struct stat sb;
  if (stat(c->dir, &sb) == 0) {
    char mode[8];
    g_snprintf(mode, sizeof mode, "%04o", (unsigned)(sb.st_mode & 07777));
    json_object_object_add(o, "dir_mode", json_object_new_string(mode));
  }
  add_file_facts(o, path);
  g_free(path);
  hvb__cache_unref(c);
  return o;
}
