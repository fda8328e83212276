/* core/cache/fsguard.c: SIGXFSZ held off around the cache's file writes (see fsguard.h). */
#include "cache/fsguard.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static void xfsz_set(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGXFSZ);
}

static bool xfsz_pending(void) {
  sigset_t pending;
  return sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ) == 1;
}

void hvb__fsguard_begin(hvb_fsguard *g) {
  sigset_t set;
  xfsz_set(&set);
  pthread_sigmask(SIG_BLOCK, &set, &g->old);
  g->pending_before = xfsz_pending();
}

bool hvb__fsguard_raised(const hvb_fsguard *g) {
  return !g->pending_before && xfsz_pending();
}

bool hvb__fsguard_end(hvb_fsguard *g) {
  int saved_errno = errno;
  bool raised = false;
  if (hvb__fsguard_raised(g)) {
    sigset_t set;
    xfsz_set(&set);
    const struct timespec none = {0, 0};
    int sig;
    /* Standard signals do not queue: one take clears it; EINTR (another signal) retries. */
    while ((sig = sigtimedwait(&set, NULL, &none)) == SIGXFSZ || (sig < 0 && errno == EINTR))
      if (sig == SIGXFSZ) raised = true;
  }
  pthread_sigmask(SIG_SETMASK, &g->old, NULL);
  errno = saved_errno;
  return raised;
}
