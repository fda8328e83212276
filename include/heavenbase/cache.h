/* heavenbase/cache.h: the SQLite response cache.
 *
 * Where: one SQLite database, cache.sqlite, in the `llm-cache` workspace directory:
 *   heavenbase.llm.cache.path (config, or the "path" of a cache settings object), else
 *   $HB_CACHE_DIR/llm-cache, else ${XDG_CACHE_HOME:-~/.cache}/heavenbase/llm-cache.
 * The directory is created with mode 0700 and the database (with its -wal and -shm files)
 * with mode 0600. The database runs in WAL mode with a busy timeout, so several threads and
 * processes may read and write it at once.
 *
 * Namespaces: "text" (chat results), "embedding" (one vector per input text), "image".
 *
 * Settings: the object at heavenbase.llm.cache in the configuration, merged (objects key by key)
 * with the "cache" constructor option of an LLM and then with the "cache" call option. Each of
 * those may also be true ({"enabled": true}) or false ({"enabled": false}).
 *   "enabled"      boolean, default true: false turns every read and write off
 *   "policy"       "deterministic" (the only policy; see below)
 *   "path"         the workspace directory (a leading "~/" is the home directory)
 *   "max_bytes"    integer >= 0: beyond this many bytes of stored keys and values the least
 *                  recently used entries are evicted; 0 = no limit (default 1 GiB)
 *   "namespaces"   {"text": {"enabled": true, "ttl_seconds": 0}, "embedding": {...},
 *                  "image": {...}}: a namespace may be turned off, and its entries expire
 *                  ttl_seconds after they were written (absent or 0: never)
 *
 * The "deterministic" policy: a call reads or writes the cache only when its answer is
 * expected to be the same every time.
 *   text       "temperature" is 0, or "temperature" is unset and a "seed" is set; and
 *              "top_p" is unset or 1, and "top_k" is unset. A chat that runs executable tools
 *              never uses the cache.
 *   image      a "seed" is set.
 *   embedding  always.
 * Any other call bypasses the cache entirely (no read, no write).
 *
 * Keys: SHA-256 over the canonical JSON of the namespace, the spec's hash_key (model,
 * provider, gateway, base URL, resolved arguments; never a secret) and the canonical request
 * (messages, tools, tool_choice, response_format, every sampling argument, n; without
 * "stream", "stream_options", timeouts and API keys). So plain and streamed calls share
 * entries, and an entry never holds an API key.
 *
 * Values: the normalized result (text, think, tool calls, usage, finish reason, the deltas as
 * they were delivered, and the raw provider payload when it is under 64 KiB) for text; the
 * vector as little-endian float32 for embeddings. Errors (a reply of the wrong shape is one,
 * HVB_PARSE), aborted streams, truncated streams and chat replies with neither text nor tool
 * calls are never stored.
 *
 * The cache never fails a call: when the database cannot be opened, read or written, the
 * library logs a warning (hvb_log) and the call goes to the provider. A database file that is
 * corrupt or unreadable is moved aside as cache.sqlite.corrupt-<UTC timestamp> (with its -wal
 * and -shm files) and a new one is made. A write that meets a full disk or the process's
 * file-size limit (ulimit -f) turns the cache off for the rest of the process, with one
 * warning; SIGXFSZ is blocked in the writing thread during cache writes (never ignored or
 * handled process-wide), so the limit cannot kill the process. Concurrent identical cacheable
 * calls in one process
 * send one request: the later calls wait for the first one's entry.
 *
 * This header is for inspecting and maintaining the cache (`hb cache`); chat and embeddings
 * use it on their own (llm.h, embed.h).
 *
 * Thread safety: an hvb_cache may be used by several threads at once; handles on the same
 * database in one process share one connection, under a lock. A child process made by fork()
 * opens its own connection on first use (the parent's is left alone).
 */
#ifndef HEAVENBASE_CACHE_H
#define HEAVENBASE_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/config.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvb_cache hvb_cache;

/* Open (creating when needed) the cache database that `cfg` (borrowed; NULL loads the
 * configuration afresh) names, with `settings` (borrowed, may be NULL: true, false or a
 * settings object as above) merged over heavenbase.llm.cache. Returns a new handle (free with
 * hvb_cache_close), or NULL with err set: HVB_CONFIG for a bad configured value (named),
 * HVB_EINVAL for bad `settings` (named), HVB_IO when the directory or the database cannot be
 * created or opened (the path is named). Unlike calls, opening reports these failures: this
 * is the maintenance API. */
hvb_cache *hvb_cache_open(const hvb_config *cfg, json_object *settings, hvb_error *err);

void hvb_cache_close(hvb_cache *cache); /* NULL is a no-op */

/* The database file, borrowed from the handle. */
const char *hvb_cache_path(const hvb_cache *cache);

/* Statistics as a new JSON object (caller owns the reference):
 *   {"path": "...", "file_bytes": N (database plus WAL on disk),
 *    "namespaces": {"text": {"entries": N, "bytes": N, "hits": N, "expired": N}, ...}}
 * with every namespace present; "bytes" counts stored keys and values, "hits" the reads that
 * found an entry since the namespace was last cleared, "expired" the entries past their
 * namespace's ttl_seconds (removed by hvb_cache_prune). NULL with HVB_IO on a database error. */
json_object *hvb_cache_stats(hvb_cache *cache, hvb_error *err);

/* Remove every entry of namespace `ns` ("text", "embedding" or "image"; NULL: all) and reset
 * its hit count. *removed (may be NULL) receives the number of entries removed. HVB_EINVAL
 * for an unknown namespace (the valid ones are listed), HVB_IO on a database error. */
bool hvb_cache_clear(hvb_cache *cache, const char *ns, int64_t *removed, hvb_error *err);

/* Remove the entries that have expired under the handle's ttl_seconds settings, and the
 * least recently used ones beyond max_bytes. *removed as for hvb_cache_clear. */
bool hvb_cache_prune(hvb_cache *cache, int64_t *removed, hvb_error *err);

/* Look at the cache database that `cfg` (borrowed; NULL loads the configuration afresh)
 * names, changing nothing: the file is opened read-only, never created, and a damaged one is
 * reported, not moved aside as opening it for calls would. A new JSON object (caller owns the
 * reference): {"path", "dir", "enabled", "max_bytes", "dir_mode" (octal text, when the
 * directory exists), "exists", and when it exists "mode", "file_bytes" (database plus WAL)
 * and "integrity" ("ok", or what SQLite's quick_check or opening said)}. NULL with err only
 * for a configuration that cannot be read or a bad cache setting (HVB_CONFIG/HVB_EINVAL,
 * named). Thread-safe. */
json_object *hvb_cache_check(const hvb_config *cfg, hvb_error *err);

#ifdef __cplusplus
}
#endif

#endif
