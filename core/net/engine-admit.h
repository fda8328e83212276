/* core/net/engine-admit.h: admission of the engine's transfers, per origin.
 *
 * HTTP/1.1 carries one request per connection, and the engine allows at most
 * HVB_ENGINE_MAX_HOST_CONNECTIONS connections per host. Transfers beyond that used to wait
 * inside libcurl (its "pending" state), where every freed connection woke waiting transfers
 * that then ran libcurl's whole connection setup again, most of them only to find no
 * connection and wait again: with twice as many calls in flight as connections, each call
 * cost about a third more CPU. Here the engine keeps the extra transfers itself, in one FIFO
 * per origin (scheme, host and port, as the URL spells them), and starts one each time a
 * transfer to that origin ends, so that libcurl always has a connection for what it is given.
 *
 * An origin whose connections turned out to be HTTP/2 (libcurl multiplexes many requests on
 * one) is not limited here: libcurl's own limit and multiplexing apply, as before.
 *
 * Engine thread only (engine.c calls these inside its turns).
 */
#ifndef HVB_NET_ENGINE_ADMIT_H
#define HVB_NET_ENGINE_ADMIT_H

#include <stdbool.h>
#include <glib.h>

typedef struct hvb_admit_origin hvb_admit_origin;

/* A work's place: embedded in the work, zero-filled. */
typedef struct hvb_admit_slot {
  hvb_admit_origin *origin; /* set while counted or queued */
  GList link;               /* in its origin's queue; data is the owner while queued */
} hvb_admit_slot;

/* May the transfer of `owner` to `url` start now? true: it is counted (hvb__admit_leave when
 * it ends); false: `s` waits at the tail of its origin's queue until hvb__admit_next gives
 * `owner` back, or hvb__admit_leave takes it out. */
bool hvb__admit_enter(hvb_admit_slot *s, const char *url, void *owner);

/* Whether `s` waits in a queue. */
static inline bool hvb__admit_waiting(const hvb_admit_slot *s) {
  return s->link.data != NULL;
}

/* The transfer of `s` ended, or its queued owner is over: its place is free. `multiplexed`:
 * its connection was HTTP/2 or later, so its origin is not limited from now on. A slot that
 * is neither counted nor queued is left as it is. */
void hvb__admit_leave(hvb_admit_slot *s, bool multiplexed);

/* An owner that waited and may start now (counted already), or NULL. */
void *hvb__admit_next(void);

/* The engine's end (no work left): forget the origins. */
void hvb__admit_close(void);
/* fork() child: the parent's origins belong to calls that are over here. */
void hvb__admit_forget(void);

#endif
