/* core/cache/store.c: the SQLite store of the response cache (store-db.h), its entries and
 * its maintenance. Settings and handles are in settings.c, policy and keys in policy.c,
 * single flight in flight.c.
 *
 * Schema (PRAGMA user_version 1):
 *   entries(namespace, key, value BLOB, size, created, last_used, hits), primary key
 *     (namespace, key), index on last_used for eviction; times in milliseconds since the epoch;
 *     size = bytes of key and value.
 *   totals(namespace, entries, bytes, hits): one row per namespace, kept by triggers on
 *     entries, so that statistics and the max_bytes check never scan the table. Hits of an
 *     entry that is later evicted stay counted.
 *
 * Concurrency: one connection per database file and process (the store), used under a mutex;
 * across processes WAL mode and a busy timeout. Every write is one autocommit statement or a
 * BEGIN IMMEDIATE transaction: a deferred transaction that read first and then writes could
 * get SQLITE_BUSY without the busy handler being consulted (WAL snapshot conflict).
 *
 * Expiry is decided at read time from the entry's write time and the reader's ttl_seconds,
 * so changing a TTL applies to entries already stored.
 */
#include "cache/store.h"
#include "cache/store-db.h"
#include "cache/settings.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"
#include "base/fork.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_NAME HVB__CACHE_DB_NAME
#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 10000
/* Hit counts and LRU times are written at most this often (and before every write, statistic
 * and close): a hit is then a read, which neither waits for nor blocks other writers. */
#define HIT_FLUSH_MS 1000
/* After a failed open, try again no sooner than this (no warning storm per call). */
#define REOPEN_DELAY_MS 30000
/* Opening retries BUSY this many times, waiting 10, 20, 30... ms (about 2 s in all). */
#define OPEN_BUSY_RETRIES 20

static const char *const ns_names[HVB_NS_COUNT] = {"text", "embedding", "image"};

const char *hvb__cache_ns_name(hvb_cache_ns ns) {
  return (unsigned)ns < HVB_NS_COUNT ? ns_names[ns] : "?";
}

int hvb__cache_ns_from_name(const char *name) {
  for (int i = 0; i < HVB_NS_COUNT; i++)
    if (name && strcmp(name, ns_names[i]) == 0) return i;
  return -1;
}

/* ============================================================================================
 * Clock
 * ========================================================================================== */

static int64_t (*clock_fn)(void);

void hvb__cache_set_clock(int64_t (*now_ms)(void)) {
  g_atomic_pointer_set(&clock_fn, now_ms);
}

static int64_t now_ms(void) {
  int64_t (*fn)(void) = g_atomic_pointer_get(&clock_fn);
  return fn ? fn() : g_get_real_time() / 1000;
}

/* ============================================================================================
 * Store: one SQLite connection per database file and process
 * ========================================================================================== */


static GMutex stores_lock;
static GHashTable *stores; /* path -> hvb_cache_store* */

/* In a child of fork(), forget the parent's connection (see store_open): it is kept (never
 * used nor freed, hvb__fork_keep) so that it stays reachable rather than lost. Called with
 * st->lock held. */
static void abandon_parents_db(hvb_cache_store *st) {
  if (!st->db || st->pid == getpid()) return;
  hvb__fork_keep(st->db); /* not under stores_lock: that lock comes before st->lock */
  st->db = NULL;
  st->st_get = st->st_hit = st->st_put = st->st_total = st->st_lru = st->st_evict = NULL;
}

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS entries ("
    " namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, size INTEGER NOT NULL,"
    " created INTEGER NOT NULL, last_used INTEGER NOT NULL, hits INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (namespace, key));"
    "CREATE INDEX IF NOT EXISTS entries_lru ON entries(last_used);"
    "CREATE TABLE IF NOT EXISTS totals (namespace TEXT PRIMARY KEY,"
    " entries INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
    " hits INTEGER NOT NULL DEFAULT 0);"
    "INSERT OR IGNORE INTO totals(namespace) VALUES ('text'), ('embedding'), ('image');"
    "CREATE TRIGGER IF NOT EXISTS entries_ai AFTER INSERT ON entries BEGIN"
    " UPDATE totals SET entries = entries + 1, bytes = bytes + new.size"
    " WHERE namespace = new.namespace; END;"
    "CREATE TRIGGER IF NOT EXISTS entries_ad AFTER DELETE ON entries BEGIN"
    " UPDATE totals SET entries = entries - 1, bytes = bytes - old.size"
    " WHERE namespace = old.namespace; END;"
    "CREATE TRIGGER IF NOT EXISTS entries_au AFTER UPDATE OF size ON entries BEGIN"
    " UPDATE totals SET bytes = bytes + new.size - old.size WHERE namespace = new.namespace; END;"
    "CREATE TRIGGER IF NOT EXISTS entries_hit AFTER UPDATE OF hits ON entries"
    " WHEN new.hits > old.hits BEGIN"
    " UPDATE totals SET hits = hits + new.hits - old.hits WHERE namespace = new.namespace; END;"
    "PRAGMA user_version = 1;";

/* Failures that mean "this file is not a usable database": it is moved aside and replaced. */
static bool rc_is_bad_file(int rc) {
  switch (rc & 0xff) {
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
  case SQLITE_CANTOPEN:
  case SQLITE_READONLY:
    return true;
  case SQLITE_IOERR:
    return rc == SQLITE_IOERR_READ || rc == SQLITE_IOERR_SHORT_READ;
  default:
    return false;
  }
}

static void close_db(hvb_cache_store *st) {
  abandon_parents_db(st); /* never close a parent's connection */
  sqlite3_stmt **stmts[] = {&st->st_get, &st->st_hit, &st->st_put, &st->st_total, &st->st_lru,
                            &st->st_evict};
  for (size_t i = 0; i < G_N_ELEMENTS(stmts); i++) {
    sqlite3_finalize(*stmts[i]);
    *stmts[i] = NULL;
  }
  if (st->db) sqlite3_close(st->db);
  st->db = NULL;
}

/* Run `sql` (no bound values); on failure *why (g_free) holds SQLite's message. */
static int exec(sqlite3 *db, const char *sql, char **why) {
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK && why && !*why) *why = g_strdup(msg ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
  return rc;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out, char **why) {
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
  if (rc != SQLITE_OK && why && !*why) *why = g_strdup(sqlite3_errmsg(db));
  return rc;
}

/* The value of a one-row PRAGMA (`sql`) as text (g_free; "" for NULL). */
static int pragma_text(sqlite3 *db, const char *sql, char **out, char **why) {
  sqlite3_stmt *q = NULL;
  int rc = prepare(db, sql, &q, why);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      const unsigned char *t = sqlite3_column_text(q, 0);
      *out = g_strdup(t ? (const char *)t : "");
      rc = SQLITE_OK;
    } else if (why && !*why) {
      *why = g_strdup(sqlite3_errmsg(db));
    }
  }
  sqlite3_finalize(q);
  return rc;
}

/* The file exists with mode 0600 before SQLite opens it: SQLite would create it with 0644
 * (less the umask) and gives its -wal and -shm files the database's mode. */
static bool prepare_file(const char *path, char **why) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    *why = g_strdup(g_strerror(errno));
    return false;
  }
  struct stat sb;
  if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) && sb.st_uid == geteuid())
    (void)fchmod(fd, 0600);
  close(fd);
  return true;
}

/* Open the database and make it ready (WAL, schema, statements). SQLite's result code;
 * *why (g_free) says what failed. */
static int try_open(hvb_cache_store *st, char **why) {
  if (g_mkdir_with_parents(st->dir, 0700) != 0) {
    *why = g_strdup_printf("cannot create the directory: %s", g_strerror(errno));
    return SQLITE_CANTOPEN;
  }
  if (!prepare_file(st->path, why)) return SQLITE_CANTOPEN;
  int rc = sqlite3_open_v2(st->path, &st->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE,
                           NULL);
  if (rc != SQLITE_OK) {
    *why = g_strdup(st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
    goto fail;
  }
  sqlite3_extended_result_codes(st->db, 1);
  sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
  /* Reading journal_mode reads the header: a file that is not a database fails right here.
   * Switching to WAL needs an exclusive lock, which two processes opening a new file at
   * once contend for (SQLite may answer BUSY without waiting): switch only when needed, the
   * caller retries BUSY. WAL mode then persists in the file. */
  char *mode = NULL;
  if ((rc = pragma_text(st->db, "PRAGMA journal_mode", &mode, why)) != SQLITE_OK) goto fail;
  bool wal = g_ascii_strcasecmp(mode, "wal") == 0;
  g_free(mode);
  if (!wal && (rc = exec(st->db, "PRAGMA journal_mode=WAL", why)) != SQLITE_OK) goto fail;
  if ((rc = exec(st->db, "PRAGMA synchronous=NORMAL", why)) != SQLITE_OK) goto fail;
  char *text = NULL;
  if ((rc = pragma_text(st->db, "PRAGMA user_version", &text, why)) != SQLITE_OK) goto fail;
  int version = atoi(text);
  g_free(text);
  if (version == 0) {
    /* Two processes may create the schema at once: IF NOT EXISTS inside an immediate
     * transaction makes the second one a no-op. */
    if ((rc = exec(st->db, "BEGIN IMMEDIATE", why)) != SQLITE_OK) goto fail;
    rc = exec(st->db, schema_sql, why);
    if (rc == SQLITE_OK) rc = exec(st->db, "COMMIT", why);
    if (rc != SQLITE_OK) {
      exec(st->db, "ROLLBACK", NULL);
      goto fail;
    }
  } else if (version != SCHEMA_VERSION) {
    *why = g_strdup_printf("schema version %d is not %d (made by another version of the "
                           "library; clear or move the file)",
                           version, SCHEMA_VERSION);
    rc = SQLITE_MISMATCH; /* not a bad file: leave it alone */
    goto fail;
  }
  struct {
    sqlite3_stmt **stmt;
    const char *sql;
  } stmts[] = {
      {&st->st_get, "SELECT value, created FROM entries WHERE namespace = ?1 AND key = ?2"},
      {&st->st_hit, "UPDATE entries SET hits = hits + ?1, last_used = MAX(last_used, ?2)"
                    " WHERE namespace = ?3 AND key = ?4"},
      {&st->st_put, "INSERT INTO entries (namespace, key, value, size, created, last_used, hits)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0) ON CONFLICT (namespace, key) DO UPDATE"
                    " SET value = excluded.value, size = excluded.size,"
                    " created = excluded.created, last_used = excluded.last_used, hits = 0"},
      {&st->st_total, "SELECT COALESCE(SUM(bytes), 0) FROM totals"},
      {&st->st_lru, "SELECT rowid, size FROM entries ORDER BY last_used, rowid"},
      {&st->st_evict, "DELETE FROM entries WHERE rowid = ?1"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(stmts); i++)
    if ((rc = prepare(st->db, stmts[i].sql, stmts[i].stmt, why)) != SQLITE_OK) goto fail;
  return SQLITE_OK;
fail:
  close_db(st);
  return rc;
}

/* Move the database (and its -wal and -shm files, which belong to it) out of the way as
 * <file>.corrupt-<UTC time>[-N]. */
static bool move_aside(const char *path, char **moved_to) {
  GDateTime *t = g_date_time_new_now_utc();
  char *stamp = g_date_time_format(t, "%Y%m%dT%H%M%SZ");
  g_date_time_unref(t);
  char *target = g_strdup_printf("%s.corrupt-%s", path, stamp);
  for (int n = 1; g_file_test(target, G_FILE_TEST_EXISTS) && n < 1000; n++) {
    g_free(target);
    target = g_strdup_printf("%s.corrupt-%s-%d", path, stamp, n);
  }
  g_free(stamp);
  bool ok = rename(path, target) == 0 || errno == ENOENT;
  for (int i = 0; ok && i < 2; i++) {
    const char *suffix = i == 0 ? "-wal" : "-shm";
    char *from = g_strconcat(path, suffix, NULL), *to = g_strconcat(target, suffix, NULL);
    if (rename(from, to) != 0 && errno != ENOENT) ok = false;
    g_free(from);
    g_free(to);
  }
  *moved_to = target;
  return ok;
}

static ino_t inode_of(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

/* Is the file at st->path bad? Either SQLite said so while opening it just now, or a
 * statement found damage inside this very file earlier (a damaged page deep in a file whose
 * header is fine opens without complaint). */
static bool file_is_bad(hvb_cache_store *st, int rc) {
  if (st->damaged_ino) return inode_of(st->path) == st->damaged_ino;
  return rc != SQLITE_OK && rc_is_bad_file(rc) && g_file_test(st->path, G_FILE_TEST_EXISTS);
}

/* Open the store's database, replacing a bad file. Called with st->lock held. Warnings go
 * to the log; false when the cache stays unusable for now. */
bool hvb__store_open(hvb_cache_store *st) {
  if (st->db && st->pid != getpid()) {
    /* A child of fork(): the parent's connection is not ours to use, nor to close (closing
     * may checkpoint and remove the WAL under the parent). Abandon it, with the parent's
     * claims and pending hits, and open our own. */
    abandon_parents_db(st);
    if (st->hits) g_hash_table_remove_all(st->hits);
    g_mutex_lock(&st->flight_lock);
    g_hash_table_remove_all(st->flights);
    g_mutex_unlock(&st->flight_lock);
  }
  if (st->db) return true;
  if (st->full) return false;
  int64_t mono = g_get_monotonic_time() / 1000;
  if (st->failed_at && mono - st->failed_at < REOPEN_DELAY_MS) return false;
  char *why = NULL;
  st->pid = getpid();
  int rc = st->damaged_ino ? SQLITE_CORRUPT : try_open(st, &why);
  /* BUSY while opening: another process is creating or switching the file right now. */
  for (int attempt = 1; (rc & 0xff) == SQLITE_BUSY && attempt <= OPEN_BUSY_RETRIES; attempt++) {
    g_clear_pointer(&why, g_free);
    g_usleep((gulong)(10000 * attempt));
    rc = try_open(st, &why);
  }
  if (file_is_bad(st, rc)) {
    /* Another process may be replacing the same file: take turns through a lock file, and
     * look again once it is ours (the other one may have replaced it already). */
    char *lock_path = g_strconcat(st->path, ".lock", NULL);
    int lfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd >= 0) (void)flock(lfd, LOCK_EX);
    if (!st->damaged_ino) {
      g_clear_pointer(&why, g_free);
      rc = try_open(st, &why);
    }
    if (file_is_bad(st, rc)) {
      if (!why) why = g_strdup("damaged");
      close_db(st);
      char *moved = NULL;
      bool ok = move_aside(st->path, &moved);
      char *key = g_strconcat("cache-moved:", st->path, NULL);
      hvb__warn_once(key, "cache database %s is unusable (%s); %s %s and starting afresh",
                     st->path, why, ok ? "moved it to" : "could not move it to", moved);
      g_free(key);
      g_free(moved);
      g_clear_pointer(&why, g_free);
      rc = ok ? try_open(st, &why) : SQLITE_CANTOPEN;
      if (!ok) why = g_strdup("the damaged file could not be moved aside");
    } else if (st->damaged_ino) {
      rc = try_open(st, &why); /* someone else replaced it */
    }
    st->damaged_ino = 0;
    if (lfd >= 0) close(lfd); /* closing releases the flock */
    g_free(lock_path);
  }
  if (rc != SQLITE_OK) {
    char *key = g_strconcat("cache-unusable:", st->path, NULL);
    hvb__warn_once(key, "cache database %s cannot be used (%s); calls go to the provider",
                   st->path, why ? why : sqlite3_errstr(rc));
    g_free(key);
    st->failed_at = mono ? mono : 1;
  } else {
    st->failed_at = 0;
  }
  g_free(why);
  return rc == SQLITE_OK;
}

/* A write hit the file-size limit or a full disk: the cache is off for the rest of the
 * process, with one warning. Retrying would only fail again (or, past the limit, raise
 * SIGXFSZ again); the file itself is sound (SQLite rolled the write back), so it is left for
 * the next process. Called with st->lock held. */
static void store_full(hvb_cache_store *st, const char *why) {
  if (!st->full)
    hvb__log(HVB_LOG_WARN, "cache database %s: %s; the cache is off for this process", st->path,
             why);
  st->full = true;
  close_db(st);
}

/* The reason when the last failure of the connection was a full disk or a file-size limit,
 * else NULL. */
static const char *full_reason(hvb_cache_store *st, int rc) {
  if (hvb__fsguard_raised(&st->guard)) return "a write went past the file-size limit (SIGXFSZ)";
  int e = st->db ? sqlite3_system_errno(st->db) : 0;
  if (e == EFBIG) return "a write went past the file-size limit";
  if (e == ENOSPC || (rc & 0xff) == SQLITE_FULL) return "the disk is full";
  return NULL;
}

void hvb__store_lock(hvb_cache_store *st) {
  hvb_fsguard g;
  hvb__fsguard_begin(&g); /* before the lock: the guard lives in the store while it is held */
  g_mutex_lock(&st->lock);
  st->guard = g;
}

void hvb__store_unlock(hvb_cache_store *st) {
  hvb_fsguard g = st->guard;
  /* A write that raised SIGXFSZ but failed quietly (hit counts are written best effort). */
  if (hvb__fsguard_raised(&g)) store_full(st, "a write went past the file-size limit (SIGXFSZ)");
  g_mutex_unlock(&st->lock);
  hvb__fsguard_end(&g);
}

/* A statement failed with `rc`: log it, and when the file turned out to be bad, close it so
 * that the next use moves it aside and makes a new one. Called with st->lock held. */
static void store_trouble(hvb_cache_store *st, int rc, const char *what) {
  const char *full = full_reason(st, rc);
  if (full) {
    store_full(st, full);
    return;
  }
  hvb__log(HVB_LOG_WARN, "cache database %s: %s failed: %s", st->path, what,
           st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
  if (rc_is_bad_file(rc)) {
    close_db(st);
    st->damaged_ino = inode_of(st->path);
    st->failed_at = 0; /* reopen (and recover) at once */
  }
}

static void flush_hits(hvb_cache_store *st);

hvb_cache_store *hvb__store_get(const char *dir) {
  char *path = g_build_filename(dir, DB_NAME, NULL);
  g_mutex_lock(&stores_lock);
  if (!stores) stores = g_hash_table_new(g_str_hash, g_str_equal);
  hvb_cache_store *st = g_hash_table_lookup(stores, path);
  if (st) {
    st->refs++;
    g_free(path);
  } else {
    st = g_new0(hvb_cache_store, 1);
    st->refs = 1;
    st->dir = g_strdup(dir);
    st->path = path;
    g_mutex_init(&st->lock);
    g_mutex_init(&st->flight_lock);
    g_cond_init(&st->flight_cond);
    st->flights = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_insert(stores, st->path, st);
  }
  g_mutex_unlock(&stores_lock);
  return st;
}

void hvb__store_unref(hvb_cache_store *st) {
  if (!st) return;
  g_mutex_lock(&stores_lock);
  bool last = --st->refs == 0;
  if (last) g_hash_table_remove(stores, st->path);
  g_mutex_unlock(&stores_lock);
  if (!last) return;
  hvb__store_lock(st);
  abandon_parents_db(st);
  flush_hits(st);
  close_db(st); /* under the guard too: closing may checkpoint the WAL into the file */
  hvb__store_unlock(st);
  if (st->hits) g_hash_table_destroy(st->hits);
  g_hash_table_destroy(st->flights);
  g_cond_clear(&st->flight_cond);
  g_mutex_clear(&st->flight_lock);
  g_mutex_clear(&st->lock);
  g_free(st->dir);
  g_free(st->path);
  g_free(st);
}

/* ============================================================================================
 * Entries
 * ========================================================================================== */

static void bind_text(sqlite3_stmt *q, int i, const char *s) {
  sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
}

typedef struct pending_hit {
  int64_t count, last_used;
} pending_hit;

/* Write the pending hit counts and LRU times in one transaction. Called with st->lock held.
 * Bookkeeping only: on failure they are dropped (logged at debug level), never a miss. */
static void flush_hits(hvb_cache_store *st) {
  st->hits_flushed = g_get_monotonic_time() / 1000;
  if (!st->db || !st->hits || g_hash_table_size(st->hits) == 0) return;
  int rc = exec(st->db, "BEGIN IMMEDIATE", NULL);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, st->hits);
  while (rc == SQLITE_OK && g_hash_table_iter_next(&it, &k, &v)) {
    const char *name = k;
    const pending_hit *h = v;
    sqlite3_stmt *q = st->st_hit;
    sqlite3_bind_int64(q, 1, h->count);
    sqlite3_bind_int64(q, 2, h->last_used);
    bind_text(q, 3, hvb__cache_ns_name((hvb_cache_ns)(name[0] - '0')));
    bind_text(q, 4, name + 2);
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  if (rc == SQLITE_OK) rc = exec(st->db, "COMMIT", NULL);
  if (rc != SQLITE_OK) {
    if (!sqlite3_get_autocommit(st->db)) exec(st->db, "ROLLBACK", NULL);
    hvb__log(HVB_LOG_DEBUG, "cache: hit counts not recorded: %s", sqlite3_errstr(rc));
  }
  g_hash_table_remove_all(st->hits);
}

static void note_hit(hvb_cache_store *st, hvb_cache_ns ns, const char *key, int64_t now) {
  if (!st->hits) st->hits = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  char *name = g_strdup_printf("%d:%s", (int)ns, key);
  pending_hit *h = g_hash_table_lookup(st->hits, name);
  if (!h) {
    h = g_new0(pending_hit, 1);
    g_hash_table_insert(st->hits, name, h);
  } else {
    g_free(name);
  }
  h->count++;
  h->last_used = MAX(h->last_used, now);
  if (g_get_monotonic_time() / 1000 - st->hits_flushed >= HIT_FLUSH_MS) flush_hits(st);
}

/* Called with st->lock held and the database open. */
static GBytes *store_read(hvb_cache_store *st, hvb_cache_ns ns, const char *key, int64_t ttl_ms) {
  sqlite3_stmt *q = st->st_get;
  bind_text(q, 1, hvb__cache_ns_name(ns));
  bind_text(q, 2, key);
  int rc = sqlite3_step(q);
  GBytes *value = NULL;
  int64_t now = now_ms();
  if (rc == SQLITE_ROW) {
    int64_t created = sqlite3_column_int64(q, 1);
    if (ttl_ms <= 0 || now - created < ttl_ms)
      value = g_bytes_new(sqlite3_column_blob(q, 0), (gsize)sqlite3_column_bytes(q, 0));
    rc = sqlite3_step(q);
  }
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  if (rc != SQLITE_DONE) {
    store_trouble(st, rc, "a lookup");
    g_clear_pointer(&value, g_bytes_unref);
    return NULL;
  }
  if (value) note_hit(st, ns, key, now);
  return value;
}

GBytes *hvb__cache_local_get(hvb_cache *c, hvb_cache_ns ns, const char *key) {
  if (!hvb__cache_enabled(c, ns) || !key) return NULL;
  hvb_cache_store *st = hvb__cache_store_of(c);
  if (!st) return NULL;
  hvb__store_lock(st);
  GBytes *v = st->db ? store_read(st, ns, key, c->ttl_ms[ns]) : NULL;
  hvb__store_unlock(st);
  return v;
}

/* Delete the least recently used entries until the stored bytes are within max_bytes: as
 * few as needed, in one immediate transaction. Called with st->lock held. */
static bool evict(hvb_cache_store *st, int64_t max_bytes, int64_t *removed) {
  if (max_bytes <= 0) return true;
  sqlite3_stmt *q = st->st_total;
  int rc = sqlite3_step(q);
  int64_t excess = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) - max_bytes : 0;
  sqlite3_reset(q);
  if (rc != SQLITE_ROW) {
    store_trouble(st, rc, "the size check");
    return false;
  }
  if (excess <= 0) return true;
  GArray *victims = g_array_new(FALSE, FALSE, sizeof(sqlite3_int64));
  q = st->st_lru;
  while (excess > 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    sqlite3_int64 rowid = sqlite3_column_int64(q, 0);
    g_array_append_val(victims, rowid);
    excess -= sqlite3_column_int64(q, 1);
  }
  sqlite3_reset(q);
  rc = exec(st->db, "BEGIN IMMEDIATE", NULL);
  for (guint i = 0; i < victims->len && rc == SQLITE_OK; i++) {
    q = st->st_evict;
    sqlite3_bind_int64(q, 1, g_array_index(victims, sqlite3_int64, i));
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
      if (removed) *removed += sqlite3_changes(st->db);
      rc = SQLITE_OK;
    }
    sqlite3_reset(q);
  }
  if (rc == SQLITE_OK) rc = exec(st->db, "COMMIT", NULL);
  g_array_free(victims, TRUE);
  if (rc != SQLITE_OK) {
    if (st->db && !sqlite3_get_autocommit(st->db)) exec(st->db, "ROLLBACK", NULL);
    store_trouble(st, rc, "eviction");
    return false;
  }
  return true;
}

void hvb__cache_local_put(hvb_cache *c, hvb_cache_ns ns, const char *key, const void *data,
                          size_t len) {
  if (!hvb__cache_enabled(c, ns) || !key) return;
  hvb_cache_store *st = hvb__cache_store_of(c);
  if (!st) return;
  hvb__store_lock(st);
  for (int attempt = 0; attempt < 2 && (st->db || hvb__store_open(st)); attempt++) {
    flush_hits(st); /* LRU times first: eviction below reads them */
    sqlite3_stmt *q = st->st_put;
    bind_text(q, 1, hvb__cache_ns_name(ns));
    bind_text(q, 2, key);
    sqlite3_bind_blob64(q, 3, data ? data : "", len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)(len + strlen(key)));
    sqlite3_bind_int64(q, 5, now_ms());
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc == SQLITE_DONE) {
      evict(st, c->max_bytes, NULL);
      break;
    }
    store_trouble(st, rc, "storing an entry");
    if (st->db) break; /* not a bad file: no second try */
  }
  hvb__store_unlock(st);
}

/* ============================================================================================
 * Maintenance (the public API)
 * ========================================================================================== */

/* The open store under its lock, or NULL with HVB_IO. Unlock with g_mutex_unlock. */
static hvb_cache_store *locked_store(hvb_cache *c, hvb_error *err) {
  if (!c) {
    hvb__fail(err, HVB_EINVAL, "cache is NULL");
    return NULL;
  }
  hvb_cache_store *st = hvb__cache_store_of(c);
  if (st) {
    hvb__store_lock(st);
    if (st->db || hvb__store_open(st)) {
      flush_hits(st); /* statistics, clear and prune see every hit of this process */
      return st;
    }
    hvb__store_unlock(st);
  }
  hvb__fail(err, HVB_IO, "cannot open the cache database in %s", c->dir);
  return NULL;
}

static bool db_fail(hvb_cache_store *st, int rc, const char *what, hvb_error *err) {
  hvb__fail(err, HVB_IO, "cache database %s: %s failed: %s", st->path, what,
            st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
  store_trouble(st, rc, what);
  return false;
}

static int64_t file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* Entries of `ns` past its TTL as of `now`: the DELETE or COUNT on that condition. */
static int expired_step(hvb_cache_store *st, const char *sql, hvb_cache_ns ns, int64_t ttl_ms,
                        int64_t *count) {
  sqlite3_stmt *q = NULL;
  int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
  if (rc == SQLITE_OK) {
    bind_text(q, 1, hvb__cache_ns_name(ns));
    sqlite3_bind_int64(q, 2, now_ms() - ttl_ms);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      *count = sqlite3_column_int64(q, 0);
      rc = SQLITE_DONE;
    } else if (rc == SQLITE_DONE) {
      *count = sqlite3_changes(st->db);
    }
  }
  sqlite3_finalize(q);
  return rc;
}

HVB_PUBLIC json_object *hvb_cache_stats(hvb_cache *cache, hvb_error *err) {
  hvb_cache_store *st = locked_store(cache, err);
  if (!st) return NULL;
  json_object *nss = json_object_new_object();
  for (int i = 0; i < HVB_NS_COUNT; i++) {
    json_object *o = json_object_new_object();
    static const char *const keys[] = {"entries", "bytes", "hits", "expired"};
    for (size_t k = 0; k < G_N_ELEMENTS(keys); k++)
      json_object_object_add(o, keys[k], json_object_new_int64(0));
    json_object_object_add(nss, ns_names[i], o);
  }
  sqlite3_stmt *q = NULL;
  int rc = sqlite3_prepare_v2(st->db, "SELECT namespace, entries, bytes, hits FROM totals", -1,
                              &q, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    json_object *o = json_object_object_get(nss, (const char *)sqlite3_column_text(q, 0));
    if (!o) continue; /* a namespace of a newer version */
    json_object_object_add(o, "entries", json_object_new_int64(sqlite3_column_int64(q, 1)));
    json_object_object_add(o, "bytes", json_object_new_int64(sqlite3_column_int64(q, 2)));
    json_object_object_add(o, "hits", json_object_new_int64(sqlite3_column_int64(q, 3)));
    rc = SQLITE_OK;
  }
  sqlite3_finalize(q);
  for (int i = 0; i < HVB_NS_COUNT && rc == SQLITE_DONE; i++) {
    if (cache->ttl_ms[i] <= 0) continue;
    int64_t n = 0;
    rc = expired_step(st, "SELECT count(*) FROM entries WHERE namespace = ?1 AND created <= ?2",
                      (hvb_cache_ns)i, cache->ttl_ms[i], &n);
    json_object_object_add(json_object_object_get(nss, ns_names[i]), "expired",
                           json_object_new_int64(n));
  }
  if (rc != SQLITE_DONE) {
    db_fail(st, rc, "reading statistics", err);
    hvb__store_unlock(st);
    json_object_put(nss);
    return NULL;
  }
  json_object *out = json_object_new_object();
  json_object_object_add(out, "path", json_object_new_string(st->path));
  char *wal = g_strconcat(st->path, "-wal", NULL);
  json_object_object_add(out, "file_bytes",
                         json_object_new_int64(file_size(st->path) + file_size(wal)));
  g_free(wal);
  json_object_object_add(out, "namespaces", nss);
  hvb__store_unlock(st);
  return out;
}

HVB_PUBLIC bool hvb_cache_clear(hvb_cache *cache, const char *ns, int64_t *removed,
                                hvb_error *err) {
  if (removed) *removed = 0;
  if (ns && hvb__cache_ns_from_name(ns) < 0)
    return hvb__fail(err, HVB_EINVAL, "unknown cache namespace '%s' (known: text, embedding, "
                     "image)", ns);
  hvb_cache_store *st = locked_store(cache, err);
  if (!st) return false;
  int rc = exec(st->db, "BEGIN IMMEDIATE", NULL);
  int64_t n = 0;
  for (int i = 0; i < HVB_NS_COUNT && rc == SQLITE_OK; i++) {
    if (ns && strcmp(ns, ns_names[i]) != 0) continue;
    static const char *const sql[] = {"DELETE FROM entries WHERE namespace = ?1",
                                      "UPDATE totals SET hits = 0 WHERE namespace = ?1"};
    for (size_t k = 0; k < G_N_ELEMENTS(sql) && rc == SQLITE_OK; k++) {
      sqlite3_stmt *q = NULL;
      rc = sqlite3_prepare_v2(st->db, sql[k], -1, &q, NULL);
      if (rc == SQLITE_OK) {
        bind_text(q, 1, ns_names[i]);
        rc = sqlite3_step(q);
        if (rc == SQLITE_DONE) {
          if (k == 0) n += sqlite3_changes(st->db);
          rc = SQLITE_OK;
        }
      }
      sqlite3_finalize(q);
    }
  }
  if (rc == SQLITE_OK) rc = exec(st->db, "COMMIT", NULL);
  if (rc != SQLITE_OK) {
    if (st->db) exec(st->db, "ROLLBACK", NULL);
    db_fail(st, rc, "clearing", err);
    hvb__store_unlock(st);
    return false;
  }
  hvb__store_unlock(st);
  if (removed) *removed = n;
  return true;
}

HVB_PUBLIC bool hvb_cache_prune(hvb_cache *cache, int64_t *removed, hvb_error *err) {
  if (removed) *removed = 0;
  hvb_cache_store *st = locked_store(cache, err);
  if (!st) return false;
  int64_t total = 0;
  int rc = SQLITE_DONE;
  for (int i = 0; i < HVB_NS_COUNT && rc == SQLITE_DONE; i++) {
    if (cache->ttl_ms[i] <= 0) continue;
    int64_t n = 0;
    rc = expired_step(st, "DELETE FROM entries WHERE namespace = ?1 AND created <= ?2",
                      (hvb_cache_ns)i, cache->ttl_ms[i], &n);
    total += n;
  }
  if (rc != SQLITE_DONE) {
    db_fail(st, rc, "pruning", err);
    hvb__store_unlock(st);
    return false;
  }
  bool ok = evict(st, cache->max_bytes, &total);
  if (!ok) hvb__fail(err, HVB_IO, "cache database %s: eviction failed", st->path);
  hvb__store_unlock(st);
  if (removed) *removed = total;
  return ok;
}

/* fork() (core/base/fork.c). Lock order: stores_lock, then each store's lock, then its
 * flight_lock (store_open takes flight_lock under lock; nothing takes stores_lock under a
 * store's lock). A store's lock is held during SQLite statements, so prepare may wait for
 * one to finish in another thread; the child then holds no lock of the cache.
 *
 * SQLite: a connection must not be used on both sides of a fork. The child never uses the
 * parent's: store_open sees that st->pid is not the child's and opens the child's own
 * connection (abandoning the parent's, with its pending hit counts). Here the child only
 * forgets the single-flight claims of threads it does not have, which nobody would ever
 * release: a child waiting for one would wait forever. */
void hvb__cache_atfork(hvb_fork_phase phase) {
  if (phase == HVB_FORK_PREPARE) {
    g_mutex_lock(&stores_lock);
    GHashTableIter it;
    gpointer v;
    if (stores) {
      g_hash_table_iter_init(&it, stores);
      while (g_hash_table_iter_next(&it, NULL, &v)) {
        hvb_cache_store *st = v;
        g_mutex_lock(&st->lock);
        g_mutex_lock(&st->flight_lock);
      }
    }
    return;
  }
  GHashTableIter it;
  gpointer v;
  if (stores) {
    g_hash_table_iter_init(&it, stores);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
      hvb_cache_store *st = v;
      if (phase == HVB_FORK_CHILD) {
        GHashTableIter fi;
        gpointer owner;
        g_hash_table_iter_init(&fi, st->flights);
        while (g_hash_table_iter_next(&fi, NULL, &owner))
          if (owner != g_thread_self()) g_hash_table_iter_remove(&fi);
        /* Waiters on it were other threads: start from the state of a new condition. */
        memset(&st->flight_cond, 0, sizeof st->flight_cond);
        g_cond_init(&st->flight_cond);
      }
      g_mutex_unlock(&st->flight_lock);
      g_mutex_unlock(&st->lock);
    }
  }
  g_mutex_unlock(&stores_lock);
}
