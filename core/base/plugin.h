/* core/base/plugin.h: the plugin loader every plugin kind shares (core/base/plugin.c).
 *
 * Gateways (hb-gateway-<name>.so, core/gateway/registry.c) and cache backends
 * (hb-cache-<name>.so, core/cache/backends.c) are found, judged and loaded by the same rules:
 * the search path (API directories, $<KIND>_PATH, the XDG data directory, the system
 * directory; no environment in setuid processes), a file judged by its name before it is
 * opened (a second file of a known name is a duplicate and never opened), permissions checked
 * before dlopen (which runs constructors), the stages open, symbol, magic, abi, struct, name,
 * init, and records that are published once and never change. A kind is the data that
 * differs (hvb_plugin_kind): file prefix, directory, variables, symbol, magic and ABI, and the
 * callbacks that read and copy its descriptor. The loader lives in base/ because it needs
 * nothing above it; each kind's file keeps its public API as thin wrappers.
 *
 * Thread safety: every function taking a loader may be called from any thread (the loader's
 * lock guards its lists, the scan and plugin init). Records are read without the lock.
 */
#ifndef HVB_BASE_PLUGIN_H
#define HVB_BASE_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memcpy, in HVB_PLUGIN_DESCRIPTOR_CALLBACKS */
#include <glib.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/registry.h> /* the states and stages every kind reports */
#include "base/common.h"
#include "base/fork.h"

/* The fields every kind's record has. */
#define HVB_PLUGIN_RECORD_FIELDS                                                             \
  char *name;                                                                                \
  char *path; /* NULL for a built-in */                                                      \
  hvb_gateway_state state;                                                                   \
  hvb_gateway_stage stage;                                                                   \
  char *reason;                  /* "" when usable */                                        \
  uint16_t abi_major, abi_minor; /* as the file declared them (0 before the magic stage) */  \
  uint32_t struct_size;                                                                      \
  bool usable; /* state builtin or loaded */                                                 \
  bool owned   /* made by a check: the caller frees it */

typedef struct hvb_plugin_record {
  HVB_PLUGIN_RECORD_FIELDS;
} hvb_plugin_record;

/* A kind's record begins with this: the common fields, which its code reads by name (r->name)
 * and the loader reads as r->plugin (the same bytes: a union of two structs with one common
 * initial sequence). After it, the kind's full-size copy of its descriptor (`ops`). */
#define HVB_PLUGIN_RECORD_HEAD                                                               \
  union {                                                                                    \
    hvb_plugin_record plugin;                                                                \
    struct {                                                                                 \
      HVB_PLUGIN_RECORD_FIELDS;                                                              \
    };                                                                                       \
  }

/* The fields every descriptor begins with, whatever its kind and ABI. */
typedef struct hvb_plugin_header {
  uint32_t magic;
  uint16_t abi_major, abi_minor;
  uint32_t struct_size;
  const char *name, *version, *description, *license;
  uint32_t caps;
} hvb_plugin_header;

typedef struct hvb_plugin_cap {
  uint32_t bit;
  const char *name; /* in the record's JSON "caps" */
} hvb_plugin_cap;

typedef struct hvb_plugin_kind {
  const char *noun;         /* "gateway": in every message */
  const char *file_prefix;  /* "hb-gateway-" (the suffix is ".so") */
  const char *subdir;       /* "heavenbase/gateways-1", below the data and library dirs */
  const char *path_env;     /* "HB_GATEWAY_PATH" */
  const char *system_env;   /* "HB_GATEWAY_SYSTEM_DIR" (test isolation) */
  const char *query_symbol; /* the one exported function returning the descriptor */
  uint32_t magic;
  uint16_t abi_major, abi_minor; /* the library's */
  size_t header_size;            /* the descriptor bytes every ABI version has */
  /* The abi stage's wording: "<abi_word> major 2, ..." and "built for <abi_word> 1.3, ...
   * (this one has <have_word>1.1)". */
  const char *abi_word, *have_word;
  bool nameless_message; /* a descriptor without a name: its own message (else "'(none)'") */
  /* A file that fails to bind (RTLD_NOW) is opened again RTLD_LAZY to read its descriptor:
   * one of a newer minor is then refused at "abi", not at "open" with a linker error. */
  bool lazy_retry;
  bool log_misnamed;  /* a check of a file with the wrong name logs it too */
  bool abi_needs_major; /* the JSON "abi" is null when abi_major is 0 (else when both are) */
  const hvb_plugin_cap *caps;
  size_t n_caps;
  size_t record_size; /* the kind's record, HVB_PLUGIN_RECORD_HEAD first */
  size_t ops_offset, ops_size; /* where the record's descriptor copy is */
  const void *core;   /* the built-in that no file replaces: always first */
  /* Built-ins besides the core one (NULL: none): false past the end, else descriptor i in *d
   * (may come out NULL; `d` NULL: only count). A file of the same name wins over them. */
  bool (*builtin)(size_t i, const void **d);
  /* Call the query function `sym` (the dlsym of query_symbol) as the kind's own type. */
  const void *(*query)(void *sym);
  void (*header)(const void *d, hvb_plugin_header *h);
  /* Copy the descriptor's fields that lie inside its struct_size into the record's ops. */
  void (*copy)(hvb_plugin_record *r, const void *d);
  /* Hand over the host table and run the plugin's init; false with *err set. */
  bool (*init)(hvb_plugin_record *r, hvb_error *err);
  /* After init: may refuse the record (NULL: every started plugin is ready). */
  void (*ready)(const struct hvb_plugin_kind *k, hvb_plugin_record *r);
} hvb_plugin_kind;

/* One kind's loader: `static hvb_plugin_loader x = {.kind = &k};` (the rest zero). */
typedef struct hvb_plugin_loader {
  const hvb_plugin_kind *kind;
  GMutex lock;
  GPtrArray *records;   /* core built-in first, then as examined */
  GPtrArray *listing;   /* what _at shows: core, files in search order, other built-ins */
  GPtrArray *builtins;  /* records of kind->builtin(i), NULL until examined */
  GPtrArray *api_dirs;  /* char*, in the order added */
  GHashTable *seen;     /* path -> record: each file is examined once */
  GHashTable *started;  /* descriptors whose init succeeded (survives reset) */
  bool scanned;
  guint logged;         /* records[0..logged) have been logged */
} hvb_plugin_loader;

/* Refuse `r`: state, stage and a reason; its ops are cleared. */
void hvb__plugin_refuse(const hvb_plugin_kind *k, hvb_plugin_record *r, hvb_gateway_state state,
                        hvb_gateway_stage stage, const char *fmt, ...) HVB_PRINTF(5, 6);

/* True when the real and effective ids differ: the environment is then ignored. */
bool hvb__plugin_setid(unsigned long ruid, unsigned long euid, unsigned long rgid,
                       unsigned long egid);

/* The directories searched, in order (g_strfreev): `api` (may be NULL), then, unless
 * `secure`, $path_env and ${XDG_DATA_HOME:-$HOME/.local/share}/subdir, then $system_env (not
 * when `secure`) or HVB_LIBDIR/subdir; each made absolute and tidy. */
char **hvb__plugin_dirs(const hvb_plugin_kind *k, const char *const *api, bool secure);

/* The usable plugin `name`, NULL with *why (g_free; may be NULL) saying why not. */
const hvb_plugin_record *hvb__plugin_find(hvb_plugin_loader *l, const char *name, char **why);

/* The public API's bodies (see <heavenbase/registry.h>). */
bool hvb__plugin_path_add(hvb_plugin_loader *l, const char *dir, hvb_error *err);
json_object *hvb__plugin_search_path(hvb_plugin_loader *l);
size_t hvb__plugin_count(hvb_plugin_loader *l);
const hvb_plugin_record *hvb__plugin_at(hvb_plugin_loader *l, size_t index);
hvb_plugin_record *hvb__plugin_check(hvb_plugin_loader *l, const char *path, hvb_error *err);
void hvb__plugin_record_free(hvb_plugin_record *r); /* only an owned one; NULL is a no-op */
json_object *hvb__plugin_record_json(const hvb_plugin_kind *k, const hvb_plugin_record *r);

/* Forget every record and API path (unit tests only; plugins stay mapped). */
void hvb__plugin_reset(hvb_plugin_loader *l);

/* fork(): hold the lock across it. */
void hvb__plugin_atfork(hvb_plugin_loader *l, hvb_fork_phase phase);

/* Is field `f` of descriptor type `type` wholly inside its first `size` bytes (a plugin's
 * struct_size)? */
#define HVB_PLUGIN_FIELD_INSIDE(type, f, size)                                               \
  (offsetof(type, f) + sizeof(((type *)0)->f) <= (size))

/* A kind's `query` and `header` callbacks (plugin_query, plugin_header) for its descriptor
 * type and query function type: every kind's descriptor begins with the same fields. */
#define HVB_PLUGIN_DESCRIPTOR_CALLBACKS(desc_type, query_type)                               \
  static const void *plugin_query(void *sym) {                                               \
    /* POSIX guarantees that a dlsym result converts to a function pointer. */               \
    query_type fn;                                                                           \
    memcpy(&fn, &sym, sizeof fn);                                                            \
    return fn();                                                                             \
  }                                                                                          \
  static void plugin_header(const void *desc, hvb_plugin_header *h) {                        \
    const desc_type *d = desc;                                                               \
    *h = (hvb_plugin_header){d->magic,   d->abi_major,   d->abi_minor, d->struct_size,       \
                             d->name,    d->version,     d->description, d->license,         \
                             d->caps};                                                       \
  }

/* The members of a kind's hvb_plugin_kind that follow from its types: the record's layout,
 * the descriptor's fixed header (magic .. caps, which every ABI version has) and the
 * callbacks of HVB_PLUGIN_DESCRIPTOR_CALLBACKS. */
#define HVB_PLUGIN_KIND_LAYOUT(record_type, desc_type)                                       \
  .record_size = sizeof(record_type), .ops_offset = offsetof(record_type, ops),              \
  .ops_size = sizeof(desc_type), .header_size = offsetof(desc_type, caps) + sizeof(uint32_t), \
  .query = plugin_query, .header = plugin_header

/* The NULL-safe getters every kind's public API has, for records of type `type`. */
#define HVB_PLUGIN_GETTER(prefix, type, field, rtype, value, none)                          \
  HVB_PUBLIC rtype prefix##_##field(const type *r) {                                         \
    return r ? (value) : (none);                                                             \
  }
#define HVB_PLUGIN_GETTERS(prefix, type)                                                     \
  HVB_PLUGIN_GETTER(prefix, type, name, const char *, r->name, NULL)                         \
  HVB_PLUGIN_GETTER(prefix, type, path, const char *, r->path, NULL)                         \
  HVB_PLUGIN_GETTER(prefix, type, state, hvb_gateway_state, r->state,                        \
                    HVB_GATEWAY_STATE_BROKEN)                                                \
  HVB_PLUGIN_GETTER(prefix, type, stage, hvb_gateway_stage, r->stage, HVB_GATEWAY_STAGE_NONE) \
  HVB_PLUGIN_GETTER(prefix, type, reason, const char *, r->reason, NULL)                     \
  HVB_PLUGIN_GETTER(prefix, type, version, const char *, r->ops.version, NULL)

/* The public API every kind has, as wrappers around `loader` (a hvb_plugin_loader) and its
 * kind: <prefix>_path_add, _search_path, _count, _at, _lookup, _check, _record_free,
 * _record_to_json and the getters of HVB_PLUGIN_GETTERS, for records of type `type`. */
#define HVB_PLUGIN_PUBLIC_API(prefix, type, loader)                                          \
  HVB_PUBLIC bool prefix##_path_add(const char *dir, hvb_error *err) {                       \
    return hvb__plugin_path_add(&loader, dir, err);                                          \
  }                                                                                          \
  HVB_PUBLIC json_object *prefix##_search_path(void) {                                       \
    return hvb__plugin_search_path(&loader);                                                 \
  }                                                                                          \
  HVB_PUBLIC size_t prefix##_count(void) {                                                   \
    return hvb__plugin_count(&loader);                                                       \
  }                                                                                          \
  HVB_PUBLIC const type *prefix##_at(size_t index) {                                         \
    return (const type *)hvb__plugin_at(&loader, index);                                     \
  }                                                                                          \
  HVB_PUBLIC const type *prefix##_lookup(const char *name) {                                 \
    return (const type *)hvb__plugin_find(&loader, name, NULL);                              \
  }                                                                                          \
  HVB_PUBLIC type *prefix##_check(const char *path, hvb_error *err) {                        \
    return (type *)hvb__plugin_check(&loader, path, err);                                    \
  }                                                                                          \
  HVB_PUBLIC void prefix##_record_free(type *r) {                                            \
    hvb__plugin_record_free(r ? &r->plugin : NULL);                                          \
  }                                                                                          \
  HVB_PUBLIC json_object *prefix##_record_to_json(const type *r) {                           \
    return hvb__plugin_record_json(loader.kind, r ? &r->plugin : NULL);                      \
  }                                                                                          \
  HVB_PLUGIN_GETTERS(prefix##_record, type)

#endif
