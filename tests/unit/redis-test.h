/* tests/unit/redis-test.h: the rclient suites' access to tests/redis/redis.sh (real
 * redis-server processes on loopback, in a scratch directory, stopped at exit). */
#ifndef HVB_REDIS_TEST_H
#define HVB_REDIS_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char rt_dir[256];
static char rt_script[1024];

static void rt_cleanup(void) {
  char cmd[8192];
  if (!rt_dir[0]) return;
  snprintf(cmd, sizeof cmd, "sh '%s' stop '%s/a' >/dev/null 2>&1; sh '%s' stop '%s/b' >/dev/null 2>&1; "
           "sh '%s' stop '%s/c' >/dev/null 2>&1; rm -rf '%s'",
           rt_script, rt_dir, rt_script, rt_dir, rt_script, rt_dir, rt_dir);
  if (system(cmd) != 0) fprintf(stderr, "redis-test: cleanup of %s failed\n", rt_dir);
}

/* Sets up the scratch directory; returns 1 (a failure, not a skip: it is a test dependency) when redis-server is missing, else 0. Only
   the process that calls it stops the servers at exit (Check's forked children do not). */
static pid_t rt_owner;
static void rt_atexit(void) {
  if (getpid() == rt_owner) rt_cleanup();
}
static int rt_init(void) {
  const char *src = getenv("HB_TEST_SRCDIR");
  snprintf(rt_script, sizeof rt_script, "%s/tests/redis/redis.sh", src ? src : ".");
  if (system("command -v redis-server >/dev/null 2>&1") != 0) {
    fprintf(stderr, "redis-server is not installed (Debian: apt-get install redis-server)\n");
    return 1;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(rt_dir, sizeof rt_dir, "%s/hb-redis-XXXXXX", tmp ? tmp : "/tmp");
  if (!mkdtemp(rt_dir)) {
    perror("mkdtemp");
    exit(1);
  }
  rt_owner = getpid();
  atexit(rt_atexit);
  return 0;
}

/* Runs `redis.sh ARGS` (ARGS formatted; "@/" in it is the scratch dir and a slash) and returns its first
   output line (static buffer), or exits the program when it fails. */
static const char *rt_sh(const char *fmt, ...) {
  static char out[1024];
  char args[1024], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  char expanded[2048];
  size_t n = 0;
  for (const char *p = args; *p && n + sizeof rt_dir + 1 < sizeof expanded; p++) {
    if (p[0] == '@' && p[1] == '/') n += (size_t)snprintf(expanded + n, sizeof expanded - n, "%s", rt_dir);
    else expanded[n++] = *p;
  }
  expanded[n] = 0;
  snprintf(cmd, sizeof cmd, "sh '%s' %s", rt_script, expanded);
  FILE *f = popen(cmd, "r");
  out[0] = 0;
  if (!f || !fgets(out, sizeof out, f)) out[0] = 0;
  int st = f ? pclose(f) : -1;
  if (st != 0) {
    fprintf(stderr, "redis-test: `%s` failed (%d)\n", cmd, st);
    exit(1);
  }
  out[strcspn(out, "\n")] = 0;
  return out;
}

static inline int64_t rt_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under valgrind everything is some 20 times slower: bounds widen, counts shrink. */
static inline int rt_slow(void) {
  const char *w = getenv("HB_TEST_WRAPPER");
  return w && *w;
}

#endif
