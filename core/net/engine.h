/* core/net/engine.h: the async engine, a driver of units of work over libcurl's multi.
 *
 * The engine knows transfers (core/net/transport.h) and nothing above them. A unit of work
 * (hvb_work) is an object with an ops table: the engine starts it on its I/O thread, runs its
 * transfer in one multi handle, hands the transfer's end to `settle`, lets it hand out queued
 * output at safe points (`deliver`), and `finish`es it once over or cancelled. What a unit
 * does (a chat call, a JSON request, a tool loop, a batch of embeddings) is its kind's
 * business: the kinds live above, in core/api/async.c. The engine also holds the unit's
 * outcome (an opaque pointer and an error, as a future does) so that waiting, cancelling and
 * reading the outcome are the same for every kind.
 *
 * Polling: libcurl's socket interface over one epoll set (engine-loop.c), so a turn's work
 * is the sockets with activity and the timers that are due, not every transfer in flight.
 *
 * Threads: one library-owned I/O thread, started by the first submission and gone when no
 * work is left; or, in caller-driven mode, the driver's turns (hvb__engine_step). "On the
 * engine thread" means inside a turn (hvb__engine_in_turn). Ops and the work's callbacks run
 * there only, never inside libcurl's callbacks, so an op may remove any transfer (cancel,
 * free) without confusing libcurl.
 *
 * Lifetime: a work has references (hvb__work_init's count: the handle's, the engine's...);
 * the engine drops its own once the work is finished; the last hvb__work_unref calls
 * ops->release.
 *
 * fork(): in the child every work not done is over with HVB_TRANSPORT "started before
 * fork()" and no callbacks (hvb__engine_atfork; the dispatcher is core/api/atfork.c).
 */
#ifndef HVB_NET_ENGINE_H
#define HVB_NET_ENGINE_H

#include <stdbool.h>
#include <glib.h>
#include <heavenbase/error.h>
#include "base/fork.h"
#include "net/transport.h"
#include "net/engine-loop.h"
#include "net/engine-admit.h"

/* At most this many connections per host in the engine's multi handle (HTTP/1.1 needs one per
 * request in flight; the public HVB_ASYNC_MAX_HOST_CONNECTIONS is this value). */
#define HVB_ENGINE_MAX_HOST_CONNECTIONS 128

typedef struct hvb_work hvb_work;

/* What the engine asks of a unit of work. Every op runs on the engine thread. */
typedef struct hvb_work_ops {
  /* The work's turn came (submitted, or resumed by hvb__engine_resume): the transfer to run
   * (detached: the engine attaches it), or NULL when the work is over already or needs none;
   * then the engine finishes it. NULL op: same as returning NULL. */
  hvb_transfer *(*start)(hvb_work *w);
  /* The transfer running (the one start gave, until settle). */
  hvb_transfer *(*transfer)(hvb_work *w);
  /* The transfer stopped (HVB_STEP_DONE, or HVB_STEP_FAILED with `failure`): fold its end
   * in and free it; the engine finishes the work right after. */
  void (*settle)(hvb_work *w, hvb_step st, const hvb_error *failure);
  /* Hand out queued output (deltas); called after each perform and before finish. A
   * cancelled work (hvb__work_cancel_requested) hands out nothing. May be NULL. */
  void (*deliver)(hvb_work *w);
  /* After settle: a further transfer the work goes on with (detached; a routed call moving
   * to its next target), or NULL when the work is over. May be NULL. */
  hvb_transfer *(*next)(hvb_work *w);
  /* The work is over (`cancelled`: by hvb__work_cancel; else it ended): set the outcome
   * (hvb__work_set_outcome) and run the owner's completion. Called exactly once. */
  void (*finish)(hvb_work *w, bool cancelled);
  /* The last reference went: free the work (the engine touches it no more). */
  void (*release)(hvb_work *w);
} hvb_work_ops;

/* A unit of work. Kinds embed it as their first member; every field is the engine's. */
struct hvb_work {
  const hvb_work_ops *ops;
  gint refs;
  int tag;                    /* the kind's label for the outcome's type (the engine ignores it) */
  void *outcome;              /* set by hvb__work_set_outcome; guarded by the engine's lock */
  void (*outcome_free)(void *);
  hvb_error error;
  GList link;                 /* in the active list (engine thread) */
  GList touch_link;           /* engine thread: in the list of works whose transfer had data */
  hvb_loop_timer tick;        /* engine thread: when its transfer's timers are due */
  hvb_admit_slot admit;       /* engine thread: its transfer's place among its origin's */
  GList all_link;             /* in the list of every work (under lock); data NULL: not in it */
  bool attached, finished;    /* engine thread: in the multi; finish ran (or is running) */
  bool queued, resumed;       /* under lock: in the incoming list; with a resume's reference */
  bool cancel_req, over, done; /* under lock: cancel asked; outcome set; finish returned */
};

/* Prepare `w` (zero-filled by its kind) with `refs` references. */
void hvb__work_init(hvb_work *w, const hvb_work_ops *ops, int refs);
void hvb__work_ref(hvb_work *w);
void hvb__work_unref(hvb_work *w); /* NULL is a no-op */

/* Hand a new work to the engine (its start runs at the next turn), starting the engine if
 * none runs. Any thread. The engine's reference must be among the work's. */
void hvb__engine_submit(hvb_work *w);
/* Count a new work as running (it keeps the engine up) without starting it: its producer
 * runs elsewhere and hands it back with hvb__engine_resume or hvb__engine_complete. */
void hvb__engine_hold(hvb_work *w);
/* Any thread: run the work's start again at the next turn (an extra reference is taken and
 * dropped by that turn). */
void hvb__engine_resume(hvb_work *w);
/* Engine thread: finish the work now, unless it waits in the incoming list (its turn does
 * it) or was finished already. */
void hvb__engine_complete(hvb_work *w);

/* Run fn(data) once on the engine thread, at its next turn (starting the engine if none
 * runs): work finished on another thread continues where callbacks may run. */
void hvb__engine_post(void (*fn)(void *), void *data);

/* From finish: the outcome (owned, freed with free_fn when the work goes unless taken; may
 * be NULL) and the error (NULL or HVB_OK: none). Marks the work over for waiters. */
void hvb__work_set_outcome(hvb_work *w, void *outcome, void (*free_fn)(void *),
                           const hvb_error *err);
/* The outcome once over (borrowed; with `take`, handed over: the work forgets it); NULL
 * before. Any thread. */
void *hvb__work_outcome(hvb_work *w, bool take);
bool hvb__work_is_over(const hvb_work *w);
/* HVB_OK before the outcome, else its status; the error (borrowed) or NULL. */
hvb_status hvb__work_status(const hvb_work *w);
const hvb_error *hvb__work_error(const hvb_work *w);
/* Whether a cancel was asked (or the work is over): stop producing. */
bool hvb__work_cancel_requested(const hvb_work *w);

/* Wait until the work's finish returned (timeout_ms < 0: without limit); on the driving
 * thread this drives the engine. Inside a turn it does not wait. True when done. */
bool hvb__work_wait(hvb_work *w, long timeout_ms);
/* Cancel: outside a turn, waits until the finish (with cancelled) returned; inside a turn
 * (a callback), the finish follows at the next turn. A work that is over stays as it is. */
void hvb__work_cancel(hvb_work *w);

/* Whether the calling thread is inside a turn of the engine (where callbacks run). */
bool hvb__engine_in_turn(void);
/* Whether the calling thread is the engine's (a callback) or drives it: it must not wait for
 * the engine. */
bool hvb__engine_is_current(void);

/* Caller-driven mode (the contract is hvb_engine_drive_begin in heavenbase/async.h). */
bool hvb__engine_drive_begin(hvb_error *err);
int hvb__engine_step(int timeout_ms);
bool hvb__engine_drive_end(void);
/* The caller's own loop (hvb_engine_fd, hvb_engine_timeout, hvb_engine_dispatch). */
int hvb__engine_fd(void);
int hvb__engine_timeout(void);
int hvb__engine_dispatch(int fd, int events);
/* A driven engine for a GLib source: reserve it (any thread; `claim`: the caller is the
 * driver, else the first hvb__engine_drive_claim's thread is), claim it (true when the calling
 * thread drives), and its loop's fd whoever drives (-1: none). */
bool hvb__engine_drive_reserve(bool claim);
bool hvb__engine_drive_claim(void);
int hvb__engine_loop_fd(void);

/* The engine's fork() handler (registered by core/api/atfork.c). */
void hvb__engine_atfork(hvb_fork_phase phase);

/* ---- fd watches and timers (core/net/engine-watch.c) ------------------------------------
 *
 * I/O that is not a libcurl transfer (an MCP server's pipes) runs on the engine too: a watch
 * asks for fn(data, revents) on the engine thread when `fd` is ready for `events`
 * (HVB_WATCH_IN: readable or hung up; HVB_WATCH_OUT: writable); a timer for fn(data) once,
 * at or after `due` (g_get_monotonic_time microseconds). Level-triggered: a watch whose fd
 * stays ready is called each turn, so its owner reads until EAGAIN or narrows `events`.
 *
 * Engine thread only (inside a turn: an op, a callback, another watch's fn): add, change and
 * remove; a callback may remove any watch or timer, its own too. A watch or timer does not
 * keep the engine running: its owner is part of a work that is live (a tool call of a running
 * loop), and removes it before that work ends. The interface is the fds and deadlines, not
 * how they are polled (the engine's epoll set today), so that the loop can change. One watch
 * per fd. */

#define HVB_WATCH_IN 1
#define HVB_WATCH_OUT 4

typedef struct hvb_engine_watch hvb_engine_watch;
typedef struct hvb_engine_timer hvb_engine_timer;
typedef void (*hvb_engine_watch_fn)(void *data, short revents);

hvb_engine_watch *hvb__engine_watch_add(int fd, short events, hvb_engine_watch_fn fn,
                                        void *data);
void hvb__engine_watch_set(hvb_engine_watch *w, short events);
void hvb__engine_watch_remove(hvb_engine_watch *w); /* NULL is a no-op */
hvb_engine_timer *hvb__engine_timer_add(gint64 due, void (*fn)(void *data), void *data);
/* NULL is a no-op; a timer that fired is freed after its fn: its owner forgets it there. */
void hvb__engine_timer_remove(hvb_engine_timer *t);

#endif
