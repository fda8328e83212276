/* core/internal.h: helpers shared by the modules of libheavenbase. Not installed.
 *
 * Conventions inside core/: GLib allocators (g_malloc never returns NULL; an allocation
 * failure aborts in GLib, which is the one abort we accept), json-c for every JSON value,
 * `hvb__` for library-internal symbols (hidden by -fvisibility=hidden and the version script).
 */
#ifndef HVB_INTERNAL_H
#define HVB_INTERNAL_H

#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/log.h>

#define HVB_PUBLIC __attribute__((visibility("default")))

#if defined(__GNUC__)
#define HVB_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HVB_PRINTF(a, b)
#endif

/* ---- errors (core/error.c) ---- */

/* Fill `err` (may be NULL) with `status` and a formatted message; returns false so that a
 * failing function can `return hvb__fail(err, ...)`. The message is redacted (log.c). */
bool hvb__fail(hvb_error *err, hvb_status status, const char *fmt, ...) HVB_PRINTF(3, 4);

/* As hvb__fail, with an HTTP status and a provider error type (NULL: none). */
bool hvb__fail_http(hvb_error *err, hvb_status status, int http_status, const char *type,
                    const char *fmt, ...) HVB_PRINTF(5, 6);

/* Prefix err->message with "prefix: " (for adding context as an error travels up). */
void hvb__error_prefix(hvb_error *err, const char *fmt, ...) HVB_PRINTF(2, 3);

/* ---- logging and secrets (core/log.c) ---- */

void hvb__log(hvb_log_level level, const char *fmt, ...) HVB_PRINTF(2, 3);
bool hvb__log_enabled(hvb_log_level level);

/* Remember `secret` (copied; ignored when shorter than 8 bytes) so that every later log
 * message and error message has it replaced by "[REDACTED]". Thread-safe. */
void hvb__secret_register(const char *secret);

/* Replace registered secrets and "Bearer <token>"/"x-api-key: <v>" values in `text` in place
 * (the result is never longer than the input). */
void hvb__redact(char *text);

/* ---- JSON helpers (core/json.c) ---- */

/* Value at dotted `path` inside `root` (borrowed), NULL when a segment is missing or crosses
 * a non-object. NULL/empty path gives root. */
json_object *hvb__json_path(json_object *root, const char *path);

/* Merge `src` into `dst` recursively: objects merge key by key, any other value replaces
 * (deep-copied, so later edits of dst never touch src). Both must be objects. */
void hvb__json_merge(json_object *dst, json_object *src);

/* Deep copy (new reference; NULL for NULL). */
json_object *hvb__json_copy(json_object *obj);

/* Canonical JSON text: object keys sorted bytewise, no whitespace, integers (and integral
 * doubles) as integers, other doubles in the shortest form that round-trips, independent of
 * the C locale, strings with minimal JSON escapes (\u00XX for other control characters).
 * New string (g_free). */
char *hvb__json_canonical(json_object *obj);

/* Parse `text` of `len` bytes as JSON (len may be -1 for NUL-terminated); the whole text
 * must be one value (trailing non-space is an error). NULL with HVB_PARSE naming `what` and
 * the tokener's error on failure; the literal `null` is an error too ("got null"). */
json_object *hvb__json_parse(const char *text, long len, const char *what, hvb_error *err);

/* Flags for hvb__json_parse_ex. */
enum {
  HVB_JSON_STRICT = 1u << 0,  /* RFC 8259 only: no single quotes, trailing commas, case-folded
                                 literals, NaN or Infinity (json-c accepts them otherwise) */
  HVB_JSON_POSITION = 1u << 1 /* the error message gives the line and column of the fault,
                                 for text people edit by hand */
};

/* hvb__json_parse with flags (0: the same as hvb__json_parse). */
json_object *hvb__json_parse_ex(const char *text, long len, const char *what, unsigned flags,
                                hvb_error *err);

/* String member of an object or NULL (borrowed). */
const char *hvb__json_str(json_object *obj, const char *key);

/* "a, b, c": the keys of `obj`, sorted; new string (g_free). */
char *hvb__json_keys_list(json_object *obj);

/* Project `obj` by a comma-separated `include` list of field names (spaces around names
 * ignored, repeats dropped; NULL or "" means `dflt`): `value(obj, field)` gives each field's
 * value (a new reference, NULL for JSON null). One field gives its value, several an object
 * keyed by field. *ok (may be NULL) tells success; on failure NULL with HVB_EINVAL naming the
 * unknown field and listing `valid` (NULL-terminated). */
json_object *hvb__project(const char *include, const char *const *valid, const char *dflt,
                          json_object *(*value)(const void *obj, const char *field),
                          const void *obj, bool *ok, hvb_error *err);

/* ---- hashing (core/hash.c) ---- */

/* SHA-256 of hvb__json_canonical(obj), 64 lowercase hex digits, new string (g_free). */
char *hvb__hash_json(json_object *obj);

/* ---- bundled data (core/config.c, over core/resources.c made by glib-compile-resources) ---- */

/* Parse the bundled JSON resource `name` ("config.json", "catalog.json"), new reference. */
json_object *hvb__resource_json(const char *name, hvb_error *err);

/* ---- suggestions (core/suggest.c) ---- */

/* The key of `candidates` (a JSON object) closest to `name` by edit distance (ASCII case
 * ignored), or NULL when none is close enough (distance > max(2, len/3)). Borrowed. */
const char *hvb__suggest(const char *name, json_object *candidates);

/* ---- the C locale around json-c (core/json.c) ----
 *
 * json-c parses under a per-call "C" locale it makes with duplocale/newlocale/freelocale.
 * glibc takes its process-wide setlocale lock for those, unless the thread's locale already
 * is the static C locale object; a lock that another thread holds at fork() stays held in
 * the child forever, so a child could never parse JSON again. The library therefore parses
 * with the calling thread switched to that object (uselocale: thread-local, no lock) and
 * back: hvb__c_locale_enter returns the previous locale for hvb__c_locale_leave. */
locale_t hvb__c_locale_enter(void);
void hvb__c_locale_leave(locale_t previous);

/* ---- fork() (core/fork.c) ----
 *
 * One set of pthread_atfork handlers, registered once when the library is loaded, calls the
 * modules below in a fixed order, so that the locks are always taken in the same order
 * (prepare: registry, engine, transport table and pools, cache, embed, log; parent and
 * child: the reverse). Each hook runs inside fork(): prepare takes the module's global locks so that no
 * other thread holds them while the address space is copied; parent releases them; child
 * releases them too (the forking thread is their owner in the child) and resets the state
 * that belonged to threads the child does not have. */
typedef enum hvb_fork_phase { HVB_FORK_PREPARE, HVB_FORK_PARENT, HVB_FORK_CHILD } hvb_fork_phase;

void hvb__registry_atfork(hvb_fork_phase phase);
void hvb__engine_atfork(hvb_fork_phase phase);
void hvb__transport_atfork(hvb_fork_phase phase);
void hvb__cache_atfork(hvb_fork_phase phase);
void hvb__embed_atfork(hvb_fork_phase phase);
void hvb__log_atfork(hvb_fork_phase phase);

/* How many fork()s separate this process from the one that loaded the library: 0 in it, +1
 * in each child. Objects that hold resources shared with the parent (sockets, libcurl
 * handles) remember the generation they were made in and are not used in another. */
unsigned hvb__fork_generation(void);

/* Keep `p` reachable for the life of the process without ever using or freeing it: for
 * objects a child inherited that it must neither use nor release (releasing a libcurl
 * handle could close a connection the parent still uses). Only in a child's fork handler or
 * under a lock the handlers take. */
void hvb__fork_keep(void *p);

#endif
