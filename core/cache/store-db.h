/* core/cache/store-db.h: the SQLite store behind the cache, private to core/cache/.
 *
 * One store per database file and process, shared by every handle on that file, reference
 * counted: the SQLite connection under a lock, its prepared statements, corruption recovery,
 * the hits not yet written, and the table of calls in flight (single flight, flight.c).
 *
 * Thread safety: hvb__store_get and hvb__store_unref may be called from any thread;
 * hvb__store_open needs st->lock held. Lock order: the table of stores, then a store's lock,
 * then its flight_lock (see hvb__cache_atfork).
 */
#ifndef HVB_CACHE_STORE_DB_H
#define HVB_CACHE_STORE_DB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>
#include <sqlite3.h>
#include "cache/fsguard.h"

typedef struct hvb_cache_store hvb_cache_store;

struct hvb_cache_store {
  int refs; /* under the table of stores' lock (store.c) */
  char *dir, *path;

  GMutex lock; /* the connection and everything below it: take it with hvb__store_lock */
  hvb_fsguard guard; /* SIGXFSZ held off while the lock is held (the holder's thread) */
  bool full; /* a write hit a file-size limit or a full disk: off for the process */
  sqlite3 *db; /* NULL while unusable */
  sqlite3_stmt *st_get, *st_hit, *st_put, *st_total, *st_lru, *st_evict;
  int64_t failed_at; /* monotonic ms of the last failed open, 0 when none */
  ino_t damaged_ino;  /* a statement found this file damaged: replace it at the next open */
  pid_t pid;          /* the process that opened db */
  GHashTable *hits;   /* "<ns>:<key>" -> pending_hit*: hits not yet written */
  int64_t hits_flushed; /* monotonic ms of the last write of hits */

  GMutex flight_lock;
  GCond flight_cond;
  GHashTable *flights; /* key -> owning GThread* */
};

/* The store of the database in `dir` (new reference; made on first use, not opened). */
hvb_cache_store *hvb__store_get(const char *dir);
void hvb__store_unref(hvb_cache_store *st); /* NULL is a no-op; the last one closes it */

/* The store's lock, with SIGXFSZ blocked in the calling thread while it is held (every
 * SQLite write is made under it: see fsguard.h), and its release. A write that hit the
 * file-size limit turns the store off for the process (one warning), at the release at the
 * latest. */
void hvb__store_lock(hvb_cache_store *st);
void hvb__store_unlock(hvb_cache_store *st);

/* Open the database when it is not (moving a damaged file aside, at most once per
 * REOPEN_DELAY_MS after a failure; never once the store is full). True when st->db is usable.
 * Called with st->lock held. */
bool hvb__store_open(hvb_cache_store *st);

/* The namespace named `name` ("text", "embedding", "image"), or -1. */
int hvb__cache_ns_from_name(const char *name);

#endif
