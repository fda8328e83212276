/* core/cache/ledger.c: the usage ledger in SQLite (see ledger.h). */
#include "cache/ledger.h"
#include "text/json.h"
#include "base/common.h"
#include "base/env.h"
#include "base/error.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A row costs about 9,000 instructions to insert and a commit some 180,000: batches keep the
 * ledger's share of a call small (bench/README.md). */
#define BATCH_ROWS 256
#define BATCH_US G_USEC_PER_SEC
#define BUSY_TIMEOUT_MS 5000

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS usage(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, op TEXT, "
    "preset TEXT, route TEXT, model TEXT, provider TEXT, gateway TEXT, tag TEXT, outcome TEXT, "
    "tokens_in INTEGER, tokens_out INTEGER, tokens_cached INTEGER, cost REAL, saved REAL, "
    "latency_ms REAL, cached INTEGER);";
/* No index on ts: keeping one up to date was a third of a row's cost. Budgets read by row id
 * (see spend_update), and a report scans the table, which is fine for a command run by hand. */

/* A row kept until it is written: its strings are copied behind it, in one allocation (a
 * row per call: one malloc, not nine). */
typedef struct kept_row {
  hvb_usage_row row;
  char text[];
} kept_row;

/* Rows go in by one INSERT of this many when as many wait: a statement's step has a fixed
 * cost (its start and halt) as large as a fifth of a row's. */
#define MULTI_ROWS 8
#define ROW_COLUMNS 16

typedef struct ledger {
  char *path;
  sqlite3 *db;
  /* Prepared once per connection: parsing them for every flush was a third of the ledger's
   * cost per row (bench/README.md). */
  sqlite3_stmt *begin, *commit, *insert_one, *insert_many;
  bool broken; /* could not be opened or written: rows are dropped (one warning) */
  GPtrArray *pending; /* kept_row */
  gint64 last_flush;
  /* What budgets read, per scope: the sums up to the last row seen, so that the next read
   * adds only the rows after it (ids grow: writers take turns under SQLite's write lock). */
  GHashTable *memo; /* "scope\x1fvalue" -> spend_memo */
} ledger;

typedef struct spend_memo {
  int64_t since_ms; /* the period the sums are for */
  int64_t last_id;
  hvb_spend s;
} spend_memo;

static GMutex lock;
static GHashTable *ledgers; /* path -> ledger, never freed (backends point at them) */

static void kept_free(void *p) {
  g_free(p);
}

static kept_row *kept_new(const hvb_usage_row *r) {
  hvb_usage_row row = *r;
  const char **fields[] = {&row.op,       &row.preset,  &row.route, &row.model,
                           &row.provider, &row.gateway, &row.tag,   &row.outcome};
  size_t len[G_N_ELEMENTS(fields)], total = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
    if (!*fields[i]) *fields[i] = "";
    total += len[i] = strlen(*fields[i]) + 1;
  }
  kept_row *k = g_malloc(sizeof *k + total);
  char *at = k->text;
  for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
    memcpy(at, *fields[i], len[i]);
    *fields[i] = at;
    at += len[i];
  }
  k->row = row;
  return k;
}

/* The file exists with mode 0600 before SQLite opens it (SQLite would make it 0644). */
static bool make_file(const char *path) {
  char *dir = g_path_get_dirname(path);
  int rc = g_mkdir_with_parents(dir, 0700);
  g_free(dir);
  if (rc != 0) return false;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  close(fd);
  return true;
}

static sqlite3 *db_open(const char *path, bool create, char **why) {
  sqlite3 *db = NULL;
  if (create && !make_file(path)) {
    *why = g_strdup_printf("cannot create %s: %s", path, g_strerror(errno));
    return NULL;
  }
  int flags = (create ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &db, flags, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, schema, NULL, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    *why = g_strdup_printf("%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

/* Bind row `r` to the parameters after `at` (the row's place in a many-row INSERT). */
static void bind_row(sqlite3_stmt *st, int at, const hvb_usage_row *r) {
  sqlite3_bind_int64(st, at + 1, r->time_ms);
  const char *texts[] = {r->op, r->preset, r->route, r->model, r->provider, r->gateway, r->tag,
                         r->outcome};
  for (int i = 0; i < 8; i++) bind_text(st, at + 2 + i, texts[i]);
  sqlite3_bind_int64(st, at + 10, r->tokens_in);
  sqlite3_bind_int64(st, at + 11, r->tokens_out);
  sqlite3_bind_int64(st, at + 12, r->tokens_cached);
  if (r->cost_known) sqlite3_bind_double(st, at + 13, r->cost_usd);
  else sqlite3_bind_null(st, at + 13);
  sqlite3_bind_double(st, at + 14, r->saved_usd);
  sqlite3_bind_double(st, at + 15, r->latency_ms);
  sqlite3_bind_int(st, at + 16, r->cached);
}

/* Run a prepared statement to its end and reset it (it holds no lock afterwards). */
static int run(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void stmts_drop(ledger *l) {
  g_clear_pointer(&l->begin, sqlite3_finalize);
  g_clear_pointer(&l->commit, sqlite3_finalize);
  g_clear_pointer(&l->insert_one, sqlite3_finalize);
  g_clear_pointer(&l->insert_many, sqlite3_finalize);
}

/* The flush's statements on l->db, prepared the first time. */
static int stmts_ready(ledger *l) {
  if (l->insert_many) return SQLITE_OK;
  GString *sql = g_string_new("INSERT INTO usage(ts, op, preset, route, model, provider, gateway, "
                              "tag, outcome, tokens_in, tokens_out, tokens_cached, cost, saved, "
                              "latency_ms, cached) VALUES ");
  gsize head = sql->len;
  for (int i = 0; i < MULTI_ROWS; i++) {
    g_string_append(sql, i ? ", (" : "(");
    for (int c = 0; c < ROW_COLUMNS; c++) g_string_append(sql, c ? ", ?" : "?");
    g_string_append_c(sql, ')');
    if (i == 0) {
      char *one = g_strndup(sql->str, sql->len);
      int rc = sqlite3_prepare_v2(l->db, one, -1, &l->insert_one, NULL);
      g_free(one);
      if (rc != SQLITE_OK) break;
    }
  }
  int rc = l->insert_one && sql->len > head
               ? sqlite3_prepare_v2(l->db, sql->str, -1, &l->insert_many, NULL)
               : SQLITE_ERROR;
  g_string_free(sql, TRUE);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(l->db, "BEGIN IMMEDIATE", -1, &l->begin, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(l->db, "COMMIT", -1, &l->commit, NULL);
  if (rc != SQLITE_OK) stmts_drop(l);
  return rc == SQLITE_OK ? SQLITE_OK : SQLITE_ERROR;
}

/* Insert the pending rows, MULTI_ROWS at a time while as many are left. */
static int insert_pending(ledger *l) {
  int rc = SQLITE_OK;
  for (guint i = 0; rc == SQLITE_OK && i < l->pending->len;) {
    bool many = l->pending->len - i >= MULTI_ROWS;
    sqlite3_stmt *st = many ? l->insert_many : l->insert_one;
    for (int k = 0; k < (many ? MULTI_ROWS : 1); k++, i++) {
      kept_row *row = g_ptr_array_index(l->pending, i);
      bind_row(st, k * ROW_COLUMNS, &row->row);
    }
    rc = run(st);
  }
  return rc;
}

static void broke(ledger *l, const char *why) {
  l->broken = true;
  hvb__warn_once("usage-ledger", "usage ledger: %s: calls are not recorded", why);
}

/* Write the pending rows in one transaction. Under the lock. */
static void flush_locked(ledger *l) {
  l->last_flush = g_get_monotonic_time();
  if (!l->pending->len) return;
  char *why = NULL;
  if (!l->broken && !l->db && !(l->db = db_open(l->path, true, &why))) {
    broke(l, why);
    g_free(why);
  }
  if (!l->broken) {
    int rc = stmts_ready(l);
    if (rc == SQLITE_OK) rc = run(l->begin);
    if (rc == SQLITE_OK) rc = insert_pending(l);
    if (rc == SQLITE_OK) rc = run(l->commit);
    if (rc != SQLITE_OK) {
      char *msg = g_strdup_printf("%s: %s", l->path, sqlite3_errmsg(l->db));
      sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
      broke(l, msg);
      g_free(msg);
    }
  }
  g_ptr_array_set_size(l->pending, 0);
}

static void ledger_record(void *self, const hvb_usage_row *row, bool now) {
  ledger *l = self;
  g_mutex_lock(&lock);
  if (!l->broken) {
    g_ptr_array_add(l->pending, kept_new(row));
    if (now || l->pending->len >= BATCH_ROWS ||
        g_get_monotonic_time() - l->last_flush >= BATCH_US)
      flush_locked(l);
  }
  g_mutex_unlock(&lock);
}

/* The scope's column; NULL for "all" (checked by the budgets' reader: no text reaches SQL). */
static const char *scope_column(const char *scope) {
  if (!scope || !strcmp(scope, "all")) return NULL;
  if (!strcmp(scope, "preset")) return "preset";
  if (!strcmp(scope, "provider")) return "provider";
  return "tag";
}

/* The memo of `q`'s scope, reset when the period moved on. */
static spend_memo *memo_for(ledger *l, const hvb_spend_query *q) {
  char *key = g_strdup_printf("%s\x1f%s", q->scope ? q->scope : "all",
                              q->scope_value ? q->scope_value : "");
  spend_memo *m = g_hash_table_lookup(l->memo, key);
  if (!m) {
    m = g_new0(spend_memo, 1);
    g_hash_table_insert(l->memo, key, m);
  } else
    g_free(key);
  if (m->since_ms != q->since_ms) {
    memset(m, 0, sizeof *m);
    m->since_ms = q->since_ms;
  }
  return m;
}

/* Add the rows after the memo's last one. Under the lock, with l->db open. */
static bool spend_update(ledger *l, const hvb_spend_query *q, spend_memo *m, hvb_error *err) {
  const char *col = scope_column(q->scope);
  char *sql = g_strdup_printf("SELECT TOTAL(cost), TOTAL(tokens_in + tokens_out), "
                              "TOTAL(cost IS NULL AND cached = 0), TOTAL(outcome = 'ok' AND "
                              "cached = 0), MAX(id) FROM usage WHERE id > ? AND ts >= ?%s%s%s",
                              col ? " AND " : "", col ? col : "", col ? " = ?" : "");
  sqlite3_stmt *st = NULL;
  bool ok = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) == SQLITE_OK;
  if (ok) {
    sqlite3_bind_int64(st, 1, m->last_id);
    sqlite3_bind_int64(st, 2, q->since_ms);
    if (col) bind_text(st, 3, q->scope_value);
    ok = sqlite3_step(st) == SQLITE_ROW;
  }
  if (ok && sqlite3_column_type(st, 4) != SQLITE_NULL) {
    m->s.usd += sqlite3_column_double(st, 0);
    m->s.tokens += (long long)sqlite3_column_double(st, 1);
    m->s.unpriced += (long long)sqlite3_column_double(st, 2);
    m->s.calls += (long long)sqlite3_column_double(st, 3);
    m->last_id = sqlite3_column_int64(st, 4);
  }
  if (!ok) hvb__fail(err, HVB_IO, "usage ledger %s: %s", l->path, sqlite3_errmsg(l->db));
  sqlite3_finalize(st);
  g_free(sql);
  return ok;
}

static bool ledger_spent(void *self, const hvb_spend_query *q, hvb_spend *out, hvb_error *err) {
  ledger *l = self;
  memset(out, 0, sizeof *out);
  g_mutex_lock(&lock);
  flush_locked(l);
  char *why = NULL;
  if (!l->db && !l->broken && !(l->db = db_open(l->path, true, &why))) broke(l, why);
  bool ok = l->db != NULL;
  if (!ok)
    hvb__fail(err, HVB_IO, "usage ledger %s cannot be read: %s", l->path,
              why ? why : "it could not be written before");
  g_free(why);
  spend_memo *m = ok ? memo_for(l, q) : NULL;
  if (ok && (ok = spend_update(l, q, m, err))) *out = m->s;
  g_mutex_unlock(&lock);
  return ok;
}

hvb_spend_backend hvb__ledger_backend(const char *path) {
  g_mutex_lock(&lock);
  if (!ledgers) ledgers = g_hash_table_new(g_str_hash, g_str_equal);
  ledger *l = g_hash_table_lookup(ledgers, path);
  if (!l) {
    l = g_new0(ledger, 1);
    l->path = g_strdup(path);
    l->pending = g_ptr_array_new_with_free_func(kept_free);
    l->memo = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    l->last_flush = g_get_monotonic_time();
    g_hash_table_insert(ledgers, l->path, l);
  }
  g_mutex_unlock(&lock);
  return (hvb_spend_backend){.name = "sqlite", .record = ledger_record,
                             .spent = ledger_spent, .self = l};
}

void hvb__ledger_flush_all(void) {
  g_mutex_lock(&lock);
  if (ledgers) {
    GHashTableIter it;
    void *l;
    g_hash_table_iter_init(&it, ledgers);
    while (g_hash_table_iter_next(&it, NULL, &l)) flush_locked(l);
  }
  g_mutex_unlock(&lock);
}

/* Rows still buffered are written when the process exits normally, and the connections
 * closed (a later row, from another destructor, opens its own again). */
HVB_DESTRUCTOR static void ledger_exit(void) {
  g_mutex_lock(&lock);
  if (ledgers) {
    GHashTableIter it;
    void *p;
    g_hash_table_iter_init(&it, ledgers);
    while (g_hash_table_iter_next(&it, NULL, &p)) {
      ledger *l = p;
      flush_locked(l);
      stmts_drop(l);
      g_clear_pointer(&l->db, sqlite3_close);
    }
  }
  g_mutex_unlock(&lock);
}

void hvb__ledger_atfork(hvb_fork_phase phase) {
  if (phase == HVB_FORK_PREPARE) {
    g_mutex_lock(&lock);
    return;
  }
  if (phase == HVB_FORK_CHILD && ledgers) {
    /* The parent writes its buffered rows; its SQLite connection is not ours to use or
     * close (SQLite forbids carrying one across fork): the child opens its own. */
    GHashTableIter it;
    void *p;
    g_hash_table_iter_init(&it, ledgers);
    while (g_hash_table_iter_next(&it, NULL, &p)) {
      ledger *l = p;
      g_ptr_array_set_size(l->pending, 0);
      hvb__fork_keep(l->db); /* reachable, never used: not a leak to the child's checkers */
      l->db = NULL;
      l->begin = l->commit = l->insert_one = l->insert_many = NULL; /* the parent's */
      g_hash_table_remove_all(l->memo);
    }
  }
  g_mutex_unlock(&lock);
}

/* ---- reports (hb usage) ---- */

/* The grouping column of `by` (a fixed list: no text of the caller reaches SQL). */
static const char *group_expr(const char *by) {
  if (!by) return "''";
  if (!strcmp(by, "day")) return "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')";
  if (!strcmp(by, "model")) return "model";
  if (!strcmp(by, "preset")) return "preset";
  if (!strcmp(by, "provider")) return "provider";
  if (!strcmp(by, "tag")) return "tag";
  return NULL;
}

/* "NAME_usd": the sum of the priced calls, or null when calls were counted and none of
 * them had a price (unknown is never $0); "NAME_partial": true when some calls had no price,
 * so that the sum is a lower bound. */
static void add_sum(json_object *g, const char *name, double usd, long long priced,
                    long long unpriced) {
  char key[32];
  g_snprintf(key, sizeof key, "%s_usd", name);
  json_object_object_add(g, key, unpriced && !priced ? NULL : json_object_new_double(usd));
  g_snprintf(key, sizeof key, "%s_partial", name);
  json_object_object_add(g, key, json_object_new_boolean(unpriced && priced));
}

static json_object *group_object(sqlite3_stmt *st) {
  json_object *g = json_object_new_object();
  json_object_object_add(g, "key", json_object_new_string((const char *)sqlite3_column_text(st, 0)));
  static const char *const counts[] = {"calls", "failed", "cached", "tokens_in", "tokens_out",
                                       "tokens_cached"};
  for (int i = 0; i < 6; i++)
    json_object_object_add(g, counts[i], json_object_new_int64(sqlite3_column_int64(st, 1 + i)));
  add_sum(g, "cost", sqlite3_column_double(st, 7), sqlite3_column_int64(st, 10),
          sqlite3_column_int64(st, 8));
  json_object_object_add(g, "unpriced", json_object_new_int64(sqlite3_column_int64(st, 8)));
  add_sum(g, "saved", sqlite3_column_double(st, 9), sqlite3_column_int64(st, 12),
          sqlite3_column_int64(st, 11));
  json_object_object_add(g, "unpriced_cached", json_object_new_int64(sqlite3_column_int64(st, 11)));
  return g;
}

static json_object *report_query(sqlite3 *db, const char *expr, int64_t since_ms,
                                 int64_t until_ms, bool total, hvb_error *err) {
  char *sql = g_strdup_printf(
      "SELECT %s AS k, COUNT(*), TOTAL(outcome <> 'ok'), TOTAL(cached), TOTAL(tokens_in), "
      "TOTAL(tokens_out), TOTAL(tokens_cached), TOTAL(cost), "
      "TOTAL(cost IS NULL AND cached = 0 AND outcome = 'ok'), TOTAL(saved), "
      "TOTAL(cost IS NOT NULL AND cached = 0 AND outcome = 'ok'), "
      "TOTAL(cost IS NULL AND cached = 1), TOTAL(cost IS NOT NULL AND cached = 1) FROM usage "
      "WHERE ts >= ? AND (? = 0 OR ts < ?) %s",
      total ? "'total'" : expr, total ? "" : "GROUP BY k ORDER BY k");
  sqlite3_stmt *st = NULL;
  json_object *out = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, since_ms);
    sqlite3_bind_int64(st, 2, until_ms);
    sqlite3_bind_int64(st, 3, until_ms);
    out = json_object_new_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) json_object_array_add(out, group_object(st));
    if (rc != SQLITE_DONE) g_clear_pointer(&out, json_object_put);
  }
  if (!out) hvb__fail(err, HVB_IO, "usage ledger: %s", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  g_free(sql);
  return out;
}

/* The ledger's file opened for a report or a prune; NULL and *missing when it does not
 * exist yet (nothing was recorded). */
static sqlite3 *open_existing(const char *path, bool *missing, hvb_error *err) {
  hvb__ledger_flush_all(); /* first: the rows this process buffered may make the file */
  *missing = !g_file_test(path, G_FILE_TEST_EXISTS);
  if (*missing) return NULL;
  char *why = NULL;
  sqlite3 *db = db_open(path, false, &why);
  if (!db) hvb__fail(err, HVB_IO, "usage ledger %s cannot be read", why);
  g_free(why);
  return db;
}

json_object *hvb__ledger_report(const char *path, int64_t since_ms, int64_t until_ms,
                                const char *by, hvb_error *err) {
  const char *expr = group_expr(by);
  if (!expr) {
    hvb__fail(err, HVB_EINVAL, "usage report: unknown grouping '%s' (one of day, model, "
              "preset, provider, tag)", by);
    return NULL;
  }
  bool missing = false;
  sqlite3 *db = open_existing(path, &missing, err);
  if (!db && !missing) return NULL;
  json_object *groups = db ? report_query(db, expr, since_ms, until_ms, false, err)
                           : json_object_new_array();
  json_object *total = groups && db ? report_query(db, expr, since_ms, until_ms, true, err)
                                    : NULL;
  sqlite3_close(db);
  if (!groups || (db && !total)) {
    json_object_put(groups);
    return NULL;
  }
  json_object *out = json_object_new_object();
  json_object_object_add(out, "path", json_object_new_string(path));
  json_object_object_add(out, "groups", groups);
  json_object *t = total ? json_object_get(json_object_array_get_idx(total, 0)) : NULL;
  json_object_put(total);
  if (t) json_object_object_del(t, "key");
  json_object_object_add(out, "total", t);
  return out;
}

long long hvb__ledger_prune(const char *path, int64_t before_ms, hvb_error *err) {
  bool missing = false;
  sqlite3 *db = open_existing(path, &missing, err);
  if (!db) return missing ? 0 : -1;
  sqlite3_stmt *st = NULL;
  long long n = -1;
  if (sqlite3_prepare_v2(db, "DELETE FROM usage WHERE ts < ?", -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, before_ms);
    if (sqlite3_step(st) == SQLITE_DONE) n = sqlite3_changes(db);
  }
  if (n < 0) hvb__fail(err, HVB_IO, "usage ledger %s: %s", path, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
  /* The budgets' sums of this process counted the rows that went: read them again. */
  g_mutex_lock(&lock);
  ledger *l = ledgers ? g_hash_table_lookup(ledgers, path) : NULL;
  if (l) g_hash_table_remove_all(l->memo);
  g_mutex_unlock(&lock);
  return n;
}

/* ---- an LLM's usage settings ---- */

char *hvb__ledger_path(const hvb_config *cfg) {
  json_object *v = cfg ? hvb_config_get(cfg, "heavenbase.llm.usage.path") : NULL;
  if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v)) {
    const char *p = json_object_get_string(v);
    if (strncmp(p, "~/", 2) != 0) return g_strdup(p);
    char *home = hvb__home_dir();
    char *out = g_build_filename(home ? home : "/", p + 2, NULL);
    g_free(home);
    return out;
  }
  const char *dir = hvb__getenv("HB_CACHE_DIR");
  if (dir) return g_build_filename(dir, "usage.sqlite", NULL);
  const char *xdg = hvb__getenv("XDG_STATE_HOME");
  if (xdg && g_path_is_absolute(xdg)) return g_build_filename(xdg, "heavenbase", "usage.sqlite", NULL);
  char *home = hvb__home_dir();
  char *out = g_build_filename(home ? home : "/", ".local", "state", "heavenbase", "usage.sqlite",
                               NULL);
  g_free(home);
  return out;
}

hvb_usage_cfg *hvb__usage_cfg_new(const hvb_config *cfg) {
  hvb_usage_cfg *u = g_new0(hvb_usage_cfg, 1);
  u->refs = 1;
  json_object *on = cfg ? hvb_config_get(cfg, "heavenbase.llm.usage.ledger") : NULL;
  u->ledger = !json_object_is_type(on, json_type_boolean) || json_object_get_boolean(on);
  json_object *b = cfg ? hvb_config_get(cfg, "heavenbase.llm.budgets") : NULL;
  if (json_object_is_type(b, json_type_object) && json_object_object_length(b))
    u->budgets = hvb__json_copy(b);
  json_object *m = cfg ? hvb_config_get(cfg, "heavenbase.llm.usage.hold_margin") : NULL;
  double margin = json_object_is_type(m, json_type_double) || json_object_is_type(m, json_type_int)
                      ? json_object_get_double(m) : 30;
  u->hold_margin_ms = margin >= 0 && margin <= 1e7 ? (int64_t)(margin * 1000) : 30000;
  u->path = hvb__ledger_path(cfg);
  u->backend = hvb__ledger_backend(u->path);
  return u;
}

hvb_usage_cfg *hvb__usage_cfg_ref(hvb_usage_cfg *u) {
  if (u) g_atomic_int_inc(&u->refs);
  return u;
}

void hvb__usage_cfg_unref(hvb_usage_cfg *u) {
  if (!u || !g_atomic_int_dec_and_test(&u->refs)) return;
  json_object_put(u->budgets);
  g_free(u->path);
  g_free(u);
}
