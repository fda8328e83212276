/* core/net/engine-loop.h: the engine's poller (engine-loop.c): one epoll set for libcurl's
 * sockets and the watches' fds, one eventfd to wake it, and a min-heap of timers (libcurl's
 * timeout, each work's transfer timer, the watches' timers).
 *
 * One loop exists at a time: the running engine's (its thread's, or the driver's). Engine
 * thread only, except hvb__loop_wake (any thread, under the engine's lock, which also guards
 * opening and closing). */
#ifndef HVB_NET_ENGINE_LOOP_H
#define HVB_NET_ENGINE_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <sys/epoll.h>

/* What an fd in the epoll set is (kept in the event's data with the fd). */
typedef enum { HVB_LOOP_WAKE = 1, HVB_LOOP_CURL = 2, HVB_LOOP_WATCH = 3 } hvb_loop_kind;

/* A timer, embedded in its owner; zero-filled it is disarmed. */
typedef struct hvb_loop_timer {
  gint64 due;  /* monotonic microseconds (g_get_monotonic_time) */
  guint pos;   /* 1 + its index in the heap; 0: not armed */
  guint64 seq; /* the run of timers it was armed in: a timer armed by a fire waits a turn */
  void (*fire)(struct hvb_loop_timer *t); /* called once disarmed: it may arm itself again */
} hvb_loop_timer;

/* Make the epoll set and the eventfd (the previous loop must be closed). False: errno. */
bool hvb__loop_open(void);
/* Close them; the timers are forgotten (their owners are gone). */
void hvb__loop_close(void);
/* fork() child: the parent's epoll set and eventfd are not ours to change; close our
 * copies and make a loop of our own when `reopen` (the forking thread drives the engine),
 * keeping the fd's number so that it stays the one the caller was given. */
void hvb__loop_atfork(bool reopen);
/* The epoll fd (-1: no loop). */
int hvb__loop_fd(void);
/* Any thread: make the next (or current) wait return. */
void hvb__loop_wake(void);

/* Add or change an fd's interest (HVB_WATCH_IN / HVB_WATCH_OUT bits; 0 takes it out of the
 * set); `added`: it is in the set already. False: errno (EBADF, ENOMEM...). */
bool hvb__loop_fd_set(int fd, hvb_loop_kind kind, short events, bool added);
void hvb__loop_fd_remove(int fd);
/* Take `fd` out of the set at the end of the next turn, unless it is set again before: a
 * keep-alive connection leaves libcurl's interest when its transfer ends and comes back with
 * the next one, most often a turn later, which saves two epoll_ctl calls a request. Until
 * then the fd may report stray events (level-triggered), which libcurl ignores for a socket
 * it does not know. */
void hvb__loop_fd_remove_later(int fd);
/* The end of a turn: take out the fds whose removal waited a whole turn. */
void hvb__loop_flush(void);

/* Wait up to timeout_ms (0: just look) for events; *evs gets them (the loop's buffer, valid
 * until the next wait). Returns their number (0 on timeout or a signal). */
int hvb__loop_wait(int timeout_ms, struct epoll_event **evs);
/* Drain the eventfd after it was reported. */
void hvb__loop_wake_drain(void);
static inline hvb_loop_kind hvb__loop_kind_of(const struct epoll_event *ev) {
  return (hvb_loop_kind)(ev->data.u64 >> 32);
}
static inline int hvb__loop_fd_of(const struct epoll_event *ev) {
  return (int)(uint32_t)ev->data.u64;
}

void hvb__loop_timer_arm(hvb_loop_timer *t, gint64 due);
void hvb__loop_timer_disarm(hvb_loop_timer *t); /* not armed: no-op */
/* Fire the timers due at `now` (armed before this run); each is disarmed before its fire. */
void hvb__loop_run_timers(gint64 now);
/* The earliest due time, G_MAXINT64 when no timer is armed. */
gint64 hvb__loop_next_due(void);

#endif
