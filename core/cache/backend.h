/* core/cache/backend.h: cache backends as the core sees them (<heavenbase/cache-backend.h>).
 *
 * backends.c is the loader's cache backend kind (core/base/plugin.c, for hb-cache-<name>.so);
 * backend-sqlite.c is the built-in `sqlite` backend (the local store wrapped in the
 * descriptor); remote.c opens instances, shared by every handle with the same backend and
 * options, and watches their health (one warning per outage).
 *
 * Thread safety: everything here may be called from any thread.
 */
#ifndef HVB_CACHE_BACKEND_INTERNAL_H
#define HVB_CACHE_BACKEND_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>
#include <heavenbase/cache-backend.h>
#include <heavenbase/error.h>
#include "base/plugin.h"

/* Immutable once published (records and plugin code are never freed while the process runs),
 * so they are read without the registry's lock. */
struct hvb_cache_backend_record {
  HVB_PLUGIN_RECORD_HEAD; /* name, path (NULL: built in), state, stage, reason, abi, usable */
  /* Full-size copy of the descriptor: fields outside the plugin's struct_size are NULL/0. */
  hvb_cache_backend_descriptor ops;
};

/* The usable backend `name`, NULL with *why (g_free; may be NULL) saying why not. */
const hvb_cache_backend_record *hvb__cache_backend_find(const char *name, char **why);

/* The built-in `sqlite` descriptor (backend-sqlite.c). */
extern const hvb_cache_backend_descriptor hvb__cache_backend_sqlite;
const hvb_cache_backend_host *hvb__cache_backend_host(void);

/* Forget every record and API path (unit tests only). */
void hvb__cache_backend_reset_for_tests(void);

/* ---- instances (remote.c) ---- */

typedef struct hvb_remote hvb_remote;

/* The shared instance of backend `rec` for `options` (borrowed, may be NULL): a new reference.
 * NULL with err (the backend's open refused the options). */
hvb_remote *hvb__remote_open(const hvb_cache_backend_record *rec, json_object *options,
                             hvb_error *err);
hvb_remote *hvb__remote_ref(hvb_remote *r);
void hvb__remote_unref(hvb_remote *r); /* NULL is a no-op */
const hvb_cache_backend_descriptor *hvb__remote_ops(const hvb_remote *r);
void *hvb__remote_inst(const hvb_remote *r);
const char *hvb__remote_name(const hvb_remote *r);
/* Does the instance offer `cap` (HVB_CACHE_BACKEND_CAP_*) and the operations behind it? */
bool hvb__remote_has(const hvb_remote *r, uint32_t cap);

/* Record the outcome of an operation: a failure logs one warning per outage (the first
 * failure after a success, naming the backend and the error), a success after an outage logs
 * that it is back. While down, hvb__remote_usable says false until a backoff delay (doubling,
 * 100 ms .. 5 s) has passed, so a dead server costs a call nothing but the check. */
void hvb__remote_note(hvb_remote *r, bool ok, const hvb_error *err);
bool hvb__remote_usable(hvb_remote *r);

/* For tests: the number of outages warned about since the process began. */
unsigned hvb__remote_outages(void);

#endif
