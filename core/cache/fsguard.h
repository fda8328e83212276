/* core/cache/fsguard.h: SIGXFSZ held off around the cache's file writes (fsguard.c).
 *
 * A write past the process's file-size limit (ulimit -f, RLIMIT_FSIZE) raises SIGXFSZ, whose
 * default action kills the process: a cache that grows past the limit must not take the
 * program with it. Signal dispositions are process-wide and belong to the program, so the
 * library never changes them; it blocks SIGXFSZ in the writing thread only, for as long as it
 * writes. A blocked SIGXFSZ makes write() fail with EFBIG instead (SQLite reports an I/O
 * error, and the cache turns itself off). Before the thread's mask is given back, a SIGXFSZ
 * that our writes raised is taken off the pending set (sigtimedwait with no wait), so that
 * it is not delivered, and fatal, the moment the mask is restored. One that was pending
 * before the guard began is not ours and is left alone.
 *
 * Per thread, async-signal-safe calls only; a guard is begun and ended by the same thread.
 */
#ifndef HVB_CACHE_FSGUARD_H
#define HVB_CACHE_FSGUARD_H

#include <signal.h>
#include <stdbool.h>

typedef struct hvb_fsguard {
  sigset_t old;        /* the thread's mask before the guard */
  bool pending_before; /* a SIGXFSZ was pending already (not ours to take) */
} hvb_fsguard;

/* Block SIGXFSZ in this thread. */
void hvb__fsguard_begin(hvb_fsguard *g);

/* True when a write since hvb__fsguard_begin raised SIGXFSZ (it is pending, blocked). */
bool hvb__fsguard_raised(const hvb_fsguard *g);

/* Take our SIGXFSZ off the pending set and restore the thread's mask. True when there was
 * one (a write hit the file-size limit). */
bool hvb__fsguard_end(hvb_fsguard *g);

#endif
