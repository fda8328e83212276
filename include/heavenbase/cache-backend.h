/* heavenbase/cache-backend.h: cache backends, the second kind of plugin (ABI 1.1: holds added).
 *
 * The response cache (<heavenbase/cache.h>) keeps its entries in a local SQLite file. A cache
 * backend keeps them somewhere else as well (a Redis server shared by a fleet, say), and may
 * offer what a fleet needs to share besides entries: a lock with an expiry (single flight
 * across hosts), counters with an expiry (rate limits, budget spend) and a small key/value
 * (circuit-breaker state).
 *
 * Backends follow the gateway plugins' rules (<heavenbase/gateway.h>, <heavenbase/registry.h>,
 * docs/gateway-abi.md) with their own names:
 *   - a file hb-cache-<name>.so, searched in: directories added with hvb_cache_backend_path_add;
 *     $HB_CACHE_BACKEND_PATH (colon-separated); ${XDG_DATA_HOME:-~/.local/share}/heavenbase/
 *     caches-1; then $(libdir)/heavenbase/caches-1 (`pkg-config --variable=cachedir
 *     heavenbase`; $HB_CACHE_BACKEND_SYSTEM_DIR replaces it, for tests). Environment
 *     variables are ignored in setuid/setgid processes;
 *   - one exported symbol, hvb_cache_backend_query, returning a static descriptor with magic
 *     HVB_CACHE_BACKEND_MAGIC, abi_major/abi_minor and struct_size; a host table handed to
 *     init (the plugin needs no symbol from the process);
 *   - the same loading stages, states and messages as gateways (hvb_gateway_state and
 *     hvb_gateway_stage of <heavenbase/registry.h>): permissions first (file and directory
 *     owned by the user or root, writable by the owner only), then open, symbol, magic, abi
 *     (major equal, minor not newer), struct, name, init. A refused file never crashes the
 *     host; a loaded one is never unloaded.
 *   - `sqlite` is built in (the local store of <heavenbase/cache.h>) and is the default; a
 *     file cannot replace it.
 *
 * Choosing one: heavenbase.llm.cache.backend = "<name>" (default "sqlite"), with
 *   heavenbase.llm.cache.backend_options  an object handed to the backend's open as it is
 *                                         (its own settings; see the backend's documentation)
 *   heavenbase.llm.cache.tiers            the tiers, in read order, e.g. ["sqlite", "redis"]
 *                                         (default: ["sqlite", <backend>]): reads try each in
 *                                         turn and copy a hit into the tiers before it; writes
 *                                         go to every tier. ["redis"] alone: no local file.
 *   heavenbase.llm.cache.backend_fallback true (default): a backend that cannot be loaded or
 *                                         opened is logged once (a warning naming it and why)
 *                                         and the cache runs on sqlite alone; false: the cache
 *                                         settings are refused (HVB_UNSUPPORTED naming the
 *                                         backend and why), so the LLM is not made.
 *
 * Writing one: define HVB_CACHE_BACKEND_PLUGIN, include this header, and define the
 * descriptor with HVB_CACHE_BACKEND_DEFINE (see plugins/cache-redis/ and
 * tests/plugins/cache-test.c for complete examples). Compile with `pkg-config --cflags
 * heavenbase`, -fvisibility=hidden, and do not link libheavenbase.
 *
 * Rules for backends: never print, exit or abort; report failures through the hvb_error given
 * (host->fail), naming what was wrong and never a secret (passwords come from environment
 * variables named in the options, never from the options themselves). Every operation may be
 * called from several threads and processes at once. An operation that cannot reach its
 * store returns its error quickly (bounded by the backend's own timeouts): the library then
 * serves the call from its other tiers, so a backend must never block a call for long.
 * Keys the library passes are never secrets or prompts (entry keys are SHA-256 hex; counter,
 * lock and key/value names are the library's own), but a backend that stores them remotely
 * may hash them again. Values are opaque bytes: the encoded entries the SQLite store keeps.
 *
 * Versioning: as gateways. The library reads a descriptor field only when it lies inside the
 * plugin's struct_size; a plugin reads a host table member only when it lies inside
 * host->size (HVB_CACHE_BACKEND_HOST_HAS).
 */
#ifndef HEAVENBASE_CACHE_BACKEND_H
#define HEAVENBASE_CACHE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/log.h>
#include <heavenbase/macros.h>
#include <heavenbase/registry.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HVB_CACHE_BACKEND_MAGIC 0x48564243u /* "HVBC" */
#define HVB_CACHE_BACKEND_ABI_MAJOR 1
#define HVB_CACHE_BACKEND_ABI_MINOR 1

/* What a backend offers (descriptor.caps); the library uses only the operations named. */
#define HVB_CACHE_BACKEND_CAP_ENTRIES (1u << 0)  /* get, put, delete_ns (required) */
#define HVB_CACHE_BACKEND_CAP_LOCK (1u << 1)     /* lock, unlock: single flight across hosts */
#define HVB_CACHE_BACKEND_CAP_WAIT (1u << 2)     /* wait: told when an entry is put */
#define HVB_CACHE_BACKEND_CAP_COUNTERS (1u << 3) /* counter_add */
#define HVB_CACHE_BACKEND_CAP_KV (1u << 4)       /* kv_get, kv_set */
#define HVB_CACHE_BACKEND_CAP_HOLDS (1u << 5)    /* hold, release (ABI 1.1): budget holds */

/* ---- the host table ----
 * WARNING: part of the ABI. Members are only ever appended, with a minor bump. Static and
 * immutable: keep the pointer. Every function is thread-safe. */
typedef struct hvb_cache_backend_host {
  uint32_t size; /* sizeof(hvb_cache_backend_host) in the library */
  uint16_t abi_major, abi_minor;
  /* Fill err (may be NULL) with status and a message (redacted like the library's own);
   * returns false. */
  bool (*fail)(hvb_error *err, hvb_status status, const char *fmt, ...) HVB_ATTR_PRINTF(3, 4);
  /* One line to the library's log (redacted). Start it with the backend's name. */
  void (*log)(hvb_log_level level, const char *fmt, ...) HVB_ATTR_PRINTF(2, 3);
  bool (*log_enabled)(hvb_log_level level);
  /* getenv that honours the library's rules (ignored in setuid processes). Borrowed. */
  const char *(*getenv)(const char *name);
} hvb_cache_backend_host;

#define HVB_CACHE_BACKEND_HOST_HAS(host, member)                                            \
  ((host) && offsetof(hvb_cache_backend_host, member) +                                     \
                     sizeof(((const hvb_cache_backend_host *)0)->member) <=                 \
                 (host)->size)

/* ---- the descriptor ----
 * WARNING: part of the ABI. Fields are only ever appended, with a minor bump.
 *
 * `inst` is what open returned. Namespaces are "text", "embedding", "image". TTLs are in
 * milliseconds, 0 = none. Values a backend returns (get's *data, kv_get's *value) are
 * allocated with malloc; the library frees them with free. */
typedef struct hvb_cache_backend_descriptor {
  uint32_t magic;       /* HVB_CACHE_BACKEND_MAGIC */
  uint16_t abi_major;   /* HVB_CACHE_BACKEND_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;
  uint32_t struct_size; /* sizeof(hvb_cache_backend_descriptor) the plugin was built with */
  const char *name;     /* must equal <name> in hb-cache-<name>.so */
  const char *version;
  const char *description;
  const char *license;
  uint32_t caps;        /* HVB_CACHE_BACKEND_CAP_* */

  /* Once, after loading (the host table is also in *host_slot). false: recorded as broken at
   * stage "init". */
  bool (*init)(const hvb_cache_backend_host *host, hvb_error *err);
  void (*fini)(void); /* reserved: plugins are never unloaded */

  /* An instance for `options` (heavenbase.llm.cache.backend_options, borrowed; may be NULL).
   * Must not wait for its server: an unreachable store is an operation's error later, not
   * open's. NULL with HVB_EINVAL naming the option for invalid options. One instance serves
   * every thread; the library closes it when the last cache handle using it goes. */
  void *(*open)(json_object *options, hvb_error *err);
  void (*close)(void *inst);

  /* 1 hit (*data, *len set), 0 miss, -1 error (err set: the library logs and reads a miss). A
   * value that is not one the library stored reads as a miss. */
  int (*get)(void *inst, const char *ns, const char *key, void **data, size_t *len,
             hvb_error *err);
  bool (*put)(void *inst, const char *ns, const char *key, const void *data, size_t len,
              int64_t ttl_ms, hvb_error *err);
  /* Remove every entry of namespace `ns` (NULL: all); *removed (may be NULL) the count. */
  bool (*delete_ns)(void *inst, const char *ns, int64_t *removed, hvb_error *err);
  /* {"entries": n, "bytes": n, ...} as a new object, or NULL with err. */
  json_object *(*stats)(void *inst, hvb_error *err);

  /* Take `name` for ttl_ms unless someone holds it: 1 taken, 0 held by another, -1 error.
   * `token` identifies the holder: unlock removes the lock only while it still holds that
   * token (an expired lock taken over by another is left alone). */
  int (*lock)(void *inst, const char *name, const char *token, int64_t ttl_ms, hvb_error *err);
  bool (*unlock)(void *inst, const char *name, const char *token, hvb_error *err);
  /* Wait at most timeout_ms for a put of entry `key` in namespace `ns`: 1 put seen, 0 timed
   * out, -1 error. May return early (the library looks, and waits again). */
  int (*wait)(void *inst, const char *ns, const char *key, int timeout_ms, hvb_error *err);

  /* Add `delta` to counter `name` atomically; a counter that did not exist starts at 0 and
   * expires ttl_ms after it was made (0: never). *value: the new value. */
  bool (*counter_add)(void *inst, const char *name, int64_t delta, int64_t ttl_ms,
                      int64_t *value, hvb_error *err);
  /* Small values (a breaker's state): 1 found (*value a NUL-terminated string), 0 none, -1
   * error; set with an expiry (0: none). */
  int (*kv_get)(void *inst, const char *name, char **value, hvb_error *err);
  bool (*kv_set)(void *inst, const char *name, const char *value, int64_t ttl_ms,
                 hvb_error *err);

  /* Where the library stores the host table before init (HVB_CACHE_BACKEND_DEFINE sets it). */
  const hvb_cache_backend_host **host_slot;

  /* ---- ABI 1.1 ----
   * Holds: amounts reserved against counter `name` (the counter counter_add keeps under the
   * same name) that expire on their own, so a holder that dies gives its hold back. Both
   * operations are atomic with respect to every other process.
   *
   * hold: first forget the holds of `name` whose lifetime has passed; then *committed = the
   * counter + the live holds. When limit < 0, or committed < limit and committed + amount <=
   * limit, hold `amount` under `token` (unique per hold) for hold_ms and return 1; else
   * return 0 (nothing held). -1 error. The counter and its holds expire ttl_ms after they
   * were made (0: never).
   *
   * release: drop the hold `token` (live or expired) and add `spent` to the counter, once: a
   * second release of the same token, or one of a token never held, does nothing and
   * returns true. false: error (the hold then expires by itself). */
  int (*hold)(void *inst, const char *name, const char *token, int64_t amount, int64_t limit,
              int64_t hold_ms, int64_t ttl_ms, int64_t *committed, hvb_error *err);
  bool (*release)(void *inst, const char *name, const char *token, int64_t spent,
                  int64_t ttl_ms, hvb_error *err);
} hvb_cache_backend_descriptor;

typedef const hvb_cache_backend_descriptor *(*hvb_cache_backend_query_fn)(void);
#define HVB_CACHE_BACKEND_QUERY_SYMBOL "hvb_cache_backend_query"

#ifdef HVB_CACHE_BACKEND_PLUGIN
extern HVB_ATTR_HIDDEN const hvb_cache_backend_host *hvb_cache_backend_host_;
#define HVB_CACHE_BACKEND_HOST_DEFINE_                                                      \
  HVB_ATTR_HIDDEN const hvb_cache_backend_host *hvb_cache_backend_host_;
#define HVB_CACHE_BACKEND_HOST_SLOT_ .host_slot = &hvb_cache_backend_host_,
#else
#define HVB_CACHE_BACKEND_HOST_DEFINE_
#define HVB_CACHE_BACKEND_HOST_SLOT_
#endif

/* Define the descriptor and hvb_cache_backend_query. `name_` is a bare identifier. */
#define HVB_CACHE_BACKEND_DEFINE(name_, version_, description_, license_, caps_, ...)      \
  HVB_CACHE_BACKEND_HOST_DEFINE_                                                          \
  static const hvb_cache_backend_descriptor hvb_cache_backend_descriptor_ = {             \
      .magic = HVB_CACHE_BACKEND_MAGIC,                                                   \
      .abi_major = HVB_CACHE_BACKEND_ABI_MAJOR,                                           \
      .abi_minor = HVB_CACHE_BACKEND_ABI_MINOR,                                           \
      .struct_size = (uint32_t)sizeof(hvb_cache_backend_descriptor),                      \
      .name = #name_,                                                                     \
      .version = version_,                                                                \
      .description = description_,                                                        \
      .license = license_,                                                                \
      .caps = caps_,                                                                      \
      HVB_CACHE_BACKEND_HOST_SLOT_                                                        \
      __VA_ARGS__};                                                                       \
  HVB_ATTR_VISIBLE const hvb_cache_backend_descriptor *hvb_cache_backend_query(void);     \
  HVB_ATTR_VISIBLE const hvb_cache_backend_descriptor *hvb_cache_backend_query(void) {    \
    return &hvb_cache_backend_descriptor_;                                                \
  }

/* ---- the registry of backends (for programs and `hb caches`) ----
 * Records belong to the library and live as long as the process (never free them), except
 * those from hvb_cache_backend_check (hvb_cache_backend_record_free). Thread-safe. */

typedef struct hvb_cache_backend_record hvb_cache_backend_record;

/* Search `dir` first (before the environment's directories). HVB_EINVAL for NULL or "". */
bool hvb_cache_backend_path_add(const char *dir, hvb_error *err);
/* The directories searched, in order: a new JSON array of strings. */
json_object *hvb_cache_backend_search_path(void);
/* Every record: `sqlite` first, then the files in search order (opens every file once). */
size_t hvb_cache_backend_count(void);
const hvb_cache_backend_record *hvb_cache_backend_at(size_t index);
/* The usable backend `name` (opens at most that one file), NULL when none. */
const hvb_cache_backend_record *hvb_cache_backend_lookup(const char *name);
/* Load the file at `path` through the same stages; a new record (caller frees). NULL with
 * HVB_EINVAL only for a NULL or empty path. */
hvb_cache_backend_record *hvb_cache_backend_check(const char *path, hvb_error *err);
void hvb_cache_backend_record_free(hvb_cache_backend_record *record);

/* Getters (NULL-safe: NULL strings, state HVB_GATEWAY_STATE_BROKEN for a NULL record). */
const char *hvb_cache_backend_record_name(const hvb_cache_backend_record *r);
const char *hvb_cache_backend_record_path(const hvb_cache_backend_record *r); /* NULL: built in */
hvb_gateway_state hvb_cache_backend_record_state(const hvb_cache_backend_record *r);
hvb_gateway_stage hvb_cache_backend_record_stage(const hvb_cache_backend_record *r);
const char *hvb_cache_backend_record_reason(const hvb_cache_backend_record *r);
const char *hvb_cache_backend_record_version(const hvb_cache_backend_record *r);
/* {"name", "state", "stage", "reason", "path", "version", "description", "license",
 * "caps": ["entries", "lock", "wait", "counters", "kv", "holds"], "abi": "1.1"}: new object. */
json_object *hvb_cache_backend_record_to_json(const hvb_cache_backend_record *r);

#ifdef __cplusplus
}
#endif

#endif
